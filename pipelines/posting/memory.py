"""Handing freed heap back to the operating system between the windows of a long posting run.

A run holds little for long, but its windows allocate and free large blocks (a read-back's XML
pieces, parsed records, a batch's import body) among small objects that live on. Once glibc's
dynamic mmap threshold has risen past a block's size, such blocks come from the heap, and their
freed pages stay resident under what was allocated after them: the resident size ratchets up
(measured before replies were streamed: 297 -> 368 MB over 15 voucher-check windows at 30,000
orders; after, ~0.7 KB an order through a 50,000-order posting pass). `malloc_trim` releases them.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the OS (glibc only; elsewhere nothing happens). A few ms."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _load_libc()

"""Read one item ahead on a worker thread: while the caller works on page N, page N+1 is being requested.

A paged read alternates between waiting for the server and working on what came (staging a page in
DuckDB, mapping it). `Prefetch` iterates the source on a thread of its own, exactly one item ahead:
the next item is asked for only once the caller has taken the previous one, so at most one item waits
beside the one the caller holds (memory stays bounded by two pages), and items come out in the
source's order. An error the source raises comes out of `next()` after every item before it was
handed over, and nothing after it is read; the traceback is the source's own.

The source is iterated (and, when it is a generator, closed) on the worker thread only, so a client the
source uses must not be used by the caller meanwhile. Use it as a context manager, or call `close()`:
closing stops the worker after the request it is in, closes the source and waits for the thread, so the
source's client can be closed right after. Context variables are those of the thread that started it.

    with Prefetch(client.iter_order_pages_raw(start, end)) as pages:
        for page in pages:
            stage(page)
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


class Prefetch(Generic[T], Iterator[T]):
    """An iterator over `source` that is always working one item ahead of its caller, on its own thread."""

    def __init__(self, source: Iterable[T], *, name: str = "prefetch") -> None:
        self._source = source
        self._slot: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()  # the handshake keeps it at <= 1
        self._taken = threading.Semaphore(0)  # released when the caller takes an item: the worker may go on
        self._stop = threading.Event()
        self._context = contextvars.copy_context()
        self._thread = threading.Thread(target=self._context.run, args=(self._run,), name=name, daemon=True)
        self._state = "new"  # new -> running -> finished (source ended, failed or closed)

    def __enter__(self) -> Prefetch[T]:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Prefetch[T]:
        return self

    def __next__(self) -> T:
        self._start()
        if self._state == "finished":
            raise StopIteration
        kind, value = self._slot.get()
        if kind == _ITEM:
            self._taken.release()
            return value  # type: ignore[return-value]
        self._state = "finished"
        self._thread.join()
        if kind == _END:
            raise StopIteration
        raise value  # type: ignore[misc]  # the source's own error, with its traceback

    def close(self) -> None:
        """Stop reading ahead: the worker finishes the request it is in (if any), closes the source and ends."""
        if self._state == "running":
            self._stop.set()
            self._taken.release()
            self._thread.join()
        self._state = "finished"

    def _start(self) -> None:
        if self._state == "new":
            self._state = "running"
            self._thread.start()

    def _run(self) -> None:
        items = None
        try:
            items = iter(self._source)
            while not self._stop.is_set():
                try:
                    item = next(items)
                except StopIteration:
                    self._slot.put((_END, None))
                    return
                self._slot.put((_ITEM, item))
                self._taken.acquire()  # one ahead: the next is asked for once this one is taken (or on close)
        except BaseException as exc:  # handed to the caller, who raises it where it reads
            self._slot.put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - the source is being abandoned; its error was reported or moot
                    pass

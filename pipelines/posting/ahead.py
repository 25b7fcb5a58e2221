"""Map a run's records in a helper process while this one claims, sends and settles them.

A sync is one process bound to one core by Python's lock while its simulators or the real systems
leave the other cores idle: in a 10,000-order run of ShipStation -> TallyPrime, decoding, parsing and
mapping each order (~150 us) was about half of the posting step's own CPU. `prepared_ahead` runs a
pure function over blocks of records in one helper process (started with `spawn`: no fork of a
process that holds threads and open files), a few blocks ahead, and hands the results back in the
order the blocks came. What crosses the boundary must be cheap to pickle: text in (a staged
record's JSON), text and plain values out (`RenderedVoucher`, not the models: pickling a voucher
model cost as much as mapping it).

Nothing is claimed or sent until a result is back here, so the helper dying loses nothing: the
blocks it held are mapped again here, as are the rest of the run's. A run too small to pay for a
process (`start_after` blocks or fewer) never starts one; a larger one maps here until the helper
is ready (its start, ~0.3 s of imports, overlaps the run's first blocks), then hands it every
later block. The helper's CPU and memory are its own: `bench.run` reports them apart. Where no
process can be started (resource limits, a daemonic parent) the run maps in its own process.

The helper does not import the parent's main module (`spawn` would, as `__mp_main__`: a script that
runs a sync at its top level would run it again there); it imports what the mapping function's module
imports (~0.3 s), while the run maps its first blocks itself.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Generic, TypeVar

B = TypeVar("B")
C = TypeVar("C")
R = TypeVar("R")

START_AFTER = 2  # blocks mapped here before a helper is started: smaller runs never start one
# Blocks handed to the helper ahead of the one whose results are wanted: enough for it to keep mapping
# while this process waits on a read-back (~1 s for a window of 5,000 vouchers), its results held here
# meanwhile (~6 KB an order: 250-order blocks, ~12 MB).
DEPTH = 8

_WORK: tuple[Callable[..., list], object] | None = None  # the helper's function and context (`_setup`)


def _setup(fn: Callable[[C, B], list[R]], context: C) -> None:
    global _WORK
    _WORK = (fn, context)


def _ready() -> bool:
    return True


def _run(block: B) -> list[R]:
    assert _WORK is not None, "the helper was not set up"
    fn, context = _WORK
    return fn(context, block)


class _Helper(Generic[C, B, R]):
    """One helper process, started on demand; `None` results mean: map it here."""

    def __init__(self, fn: Callable[[C, B], list[R]], context: C) -> None:
        self.fn, self.context = fn, context
        self.pool: ProcessPoolExecutor | None = None
        self.warm: Future[bool] | None = None
        self.broken = False

    def start(self) -> None:
        try:
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_setup, initargs=(self.fn, self.context))
            with _main_hidden():  # the process starts with its first task
                self.warm = self.pool.submit(_ready)
        except Exception:  # noqa: BLE001 - no process to be had here (limits, a daemonic process): map in this one
            self.broken = True

    def ready(self) -> bool:
        if self.broken or self.warm is None or not self.warm.done():
            return False
        if self.warm.exception() is not None:
            self.broken = True
        return not self.broken

    def submit(self, block: B) -> Future[list[R]] | None:
        if self.pool is None or self.broken:
            return None
        try:
            return self.pool.submit(_run, block)
        except Exception:  # noqa: BLE001 - broken, or shut down: this block and the rest are mapped here
            self.broken = True
            return None

    def result(self, block: B, future: Future[list[R]] | None) -> list[R]:
        """The block's results from the helper, or mapped here if it never took it or died."""
        if future is not None and not self.broken:
            try:
                return future.result()
            except BrokenProcessPool:
                self.broken = True
        return self.fn(self.context, block)

    def close(self, *, finished: bool) -> None:
        if self.pool is not None:  # a finished run waits for the helper's exit, so its CPU is counted
            self.pool.shutdown(wait=finished and not self.broken, cancel_futures=True)


@contextmanager
def _main_hidden() -> Iterator[None]:
    """`spawn` runs the parent's main module again in the child (as `__mp_main__`) when it is a script or
    a module other than a package's `__main__`: a script that runs a sync at its top level, unguarded,
    would run it a second time in the helper, which needs nothing of it. Hidden while the helper starts."""
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    try:
        for name in saved:
            setattr(main, name, None)
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def prepared_ahead(blocks: Iterable[B], fn: Callable[[C, B], list[R]], context: C, *, helper: bool = True,
                   start_after: int = START_AFTER, depth: int = DEPTH, expected: int | None = None) -> Iterator[R]:
    """`fn(context, block)` for each block, flattened, in order; with `helper`, in a helper process once the
    run has more than `start_after` blocks and the helper is up. `fn` must be a module-level function and
    `context` picklable (sent once, when the helper starts); `fn` must not depend on this process's state.
    `expected`, how many blocks there will be when known: a run known to be large starts its helper at once
    (its start overlaps more of the run), one known to be small never does."""
    if expected is not None:
        helper, start_after = helper and expected > start_after, 0
    work: _Helper[C, B, R] = _Helper(fn, context)
    waiting: deque[tuple[B, Future[list[R]] | None]] = deque()
    finished = False
    try:
        for index, block in enumerate(blocks):
            if helper and index == start_after:
                work.start()
            if waiting or work.ready():  # once the helper has a block, every later one goes to it, in order
                waiting.append((block, work.submit(block)))
                while len(waiting) >= depth:
                    yield from work.result(*waiting.popleft())
            else:
                yield from fn(context, block)
        while waiting:
            yield from work.result(*waiting.popleft())
        finished = True
    finally:
        work.close(finished=finished)

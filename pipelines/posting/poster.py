"""The one exactly-once poster: the sync-ledger protocol, driven against any `Target`.

Per batch: prepare every record (pure mapping, done by the flow's subclass), let the target refuse
what it can never accept (e.g. an unbalanced voucher: that record fails, not the step), claim the
batch in the ledger with deterministic keys, resolve claims a dead run left `pending` (look the key
up in the target before anything is re-sent), create what is new, then alter and cancel one by one
by the target's id, and record every outcome. A write whose outcome is unknown stays `pending`
without an owner, so the next run looks it up first; a write that certainly never arrived is
released and marked transient, to be retried. A create the target confirmed but whose id it
learns later (`deferred`) stays `pending` until `settle` (every `settle_every` records and at the
end of `post`); if the run stops before that, those claims are left unresolved for a lookup. A
deferred item keeps only what settling needs (its key, candidate and date; its `source` too while
`retain_source`, for `on_posted`), so a window of thousands costs little memory.
Batches grow while the target answers cleanly and fast and shrink after a refusal (`BatchSizer`).
"""

from __future__ import annotations

import json
import time
from collections import ChainMap, Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from typing import Any, TypeVar

from pipelines.posting.memory import give_back_freed_memory
from pipelines.posting.target import Created, Outcome, Target
from state.ledger import Candidate, Claim, SyncLedger, current_owner

T = TypeVar("T")


@dataclass
class PostingReport:
    read: int = 0
    created: int = 0
    altered: int = 0
    cancelled: int = 0
    skipped: int = 0
    busy: int = 0
    resolved: int = 0
    failed: int = 0
    unbalanced: int = 0
    waiting: int = 0
    unknown: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    keys: tuple[str, str] = ("order_number", "order_id")

    def skip(self, reason: str | None) -> None:
        self.skipped += 1
        self.skip_reasons[reason or "unchanged"] += 1

    def fail(self, number: str, source_id: str, error: str) -> None:
        self.failed += 1
        self.failures.append({self.keys[0]: number, self.keys[1]: source_id, "error": error})


@dataclass
class PostItem:
    """One source record ready to post: `payload` is what the target is sent; None asks for a cancel.
    `raw` is the record kept for replay, or its JSON text as it was staged (`replay_text`)."""

    label: str
    number: str
    date: date | None
    raw: dict | str
    payload: Any
    candidate: Candidate
    source: Any = None

    @property
    def key(self) -> str:
        return self.candidate.external_key


def replay_text(raw: dict | str) -> str:
    """A record as the ledger keeps it for replay: JSON text (a record read as text is kept as it was read)."""
    return raw if isinstance(raw, str) else json.dumps(raw, default=str)


@dataclass
class BatchSizer:
    """How many records go in the next write: doubles while the target answers cleanly within
    `fast_seconds`, halves after a refusal or an unknown outcome, always within [floor, ceiling]."""

    size: int = 25
    floor: int = 5
    ceiling: int = 50
    fast_seconds: float = 2.0

    def __post_init__(self) -> None:
        self.size = max(self.floor, min(self.size, self.ceiling))

    @property
    def ahead(self) -> int:
        """The size of the batch after one in flight if that one answers cleanly and fast: a batch cut
        while another is in flight is cut this big, and sent in parts if the size shrank meanwhile."""
        return min(self.ceiling, self.size * 2)

    def record(self, clean: bool, seconds: float) -> None:
        if not clean:
            self.size = max(self.floor, self.size // 2)
        elif seconds <= self.fast_seconds:
            self.size = min(self.ceiling, self.size * 2)


@dataclass
class _Batch:
    """A claimed batch: the items to create, then the (item, target id, action) to alter or cancel."""

    creates: list[PostItem]
    changes: list[tuple[PostItem, str, str]]
    settle_first: bool = False  # read back the window the target deferred before writing this batch
    looked_up: set[str] = field(default_factory=set)  # source ids whose claim resolved an earlier unknown write

    def source_ids(self) -> list[str]:
        return [i.candidate.source_id for i in self.creates] + [i.candidate.source_id for i, _, _ in self.changes]


@dataclass
class _Sent:
    """One target call the sender made: its outcome, or the exception it raised (and the batch's calls that
    were therefore never made)."""

    action: str
    items: list[PostItem]
    target_id: str
    result: Any = None
    seconds: float = 0.0
    error: BaseException | None = None
    never_sent: list[str] = field(default_factory=list)


class _Sender:
    """Runs a poster's target calls on one thread, one call at a time (TallyPrime takes one request at a
    time; every target's client is used from this thread only while a run posts), or inline when off."""

    def __init__(self, enabled: bool) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="poster-send") if enabled else None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - raised by `result()`, as from the thread
            done.set_exception(exc)
        return done

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Call on the sender and wait: a lookup or a read-back never runs beside a write."""
        return fn(*args) if self._pool is None else self._pool.submit(fn, *args).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class Poster:
    """Posts one flow's records to one target; subclasses turn source records into `PostItem`s."""

    flow = "posting"
    report_keys: tuple[str, str] = ("number", "source_id")
    retain_source = True  # whether `on_posted` reads `PostItem.source` of a create settled later
    # Whether the target's calls may run on a sender thread while the next batch is prepared here: only for
    # a poster whose `prepare` never calls the target's system itself (a Zoho invoice's prepare looks its
    # contact and items up in Zoho: overlapping would put two calls in flight and move where a cap falls).
    overlap = False

    def __init__(self, target: Target, ledger: SyncLedger, run_id: str, *, batch_size: int = 25,
                 batch_ceiling: int | None = None, settle_every: int = 5000, overlap: bool | None = None) -> None:
        self.target, self.ledger = target, ledger
        self.owner = current_owner(run_id)
        self.sizer = BatchSizer(size=batch_size, floor=min(5, batch_size),
                                ceiling=batch_ceiling if batch_ceiling is not None else batch_size)
        self.settle_every = settle_every
        self.report = PostingReport(keys=self.report_keys)
        self._deferred: dict[str, PostItem] = {}
        if overlap is not None:
            self.overlap = overlap
        self._sender = _Sender(False)
        self._inflight: tuple[_Batch, Future[list[_Sent]]] | None = None
        self._unsent: _Batch | None = None  # claimed, not yet handed to the sender

    @property
    def batch_size(self) -> int:
        return self.sizer.size

    def prepare(self, record: Any) -> PostItem | None:
        """Map one source record; a record that cannot be posted is recorded here and gives None."""
        raise NotImplementedError

    def post(self, records: Iterable[Any], *, expected: int | None = None) -> PostingReport:
        """Post every record, a batch at a time, and settle what the target deferred.

        With `overlap`, the target's calls run on one sender thread (still one call at a time): while a
        batch is in flight, the next is read, prepared and claimed here, and the batch's outcomes are
        recorded here once it is back, before the next is sent. A batch claimed but never sent when the
        run stops is released: it certainly never reached the target.

        `expected`, how many records there are (when known), lets the run's last window be short: what
        waits is read back once `tail` records are left, so the read-back after the last write (which
        nothing overlaps) reads a quarter of a window, not up to a whole one."""
        iterator = iter(records)
        self._sender = _Sender(self.overlap)
        consumed, tail = 0, self.settle_every // 4
        try:
            while True:
                if self._inflight is not None and self._inflight[1].done():
                    self._finish_inflight()  # back already (always, without overlap): cut the next at the size now
                if not (chunk := list(islice(iterator, self.sizer.ahead if self._inflight else self.sizer.size))):
                    break
                consumed += len(chunk)
                batch = self._claim_batch(chunk)
                self._finish_inflight()
                # a window to settle is read back on the sender just before this batch is written, while
                # the next one is prepared here
                at_tail = expected is not None and expected - consumed <= tail < len(self._deferred)
                batch.settle_first = at_tail or len(self._deferred) >= self.settle_every
                if at_tail:
                    tail = -1  # once only
                self._send(batch)
            self._finish_inflight()
            self.settle()
        except BaseException:
            self._stop()
            raise
        finally:
            self._sender.close()
            self._sender = _Sender(False)
        return self.report

    def settle(self) -> None:
        """Learn the ids of every deferred create (one read-back for TallyPrime) and record them."""
        if self._deferred:
            self._record_created(self._sender.call(self.target.settle), dict(self._deferred))
            give_back_freed_memory()  # the window's read-back and batches are freed: keep the resident size flat

    def _stop(self) -> None:
        """The run stops: record what the batch in flight did, give back what was claimed and never sent,
        and leave creates confirmed but not settled for the next run's lookup."""
        try:
            self._finish_inflight()
        except BaseException:  # its own bookkeeping is done; the error that stopped the run is the one raised
            pass
        if self._unsent is not None:
            self._give_back(self._unsent, self._unsent.source_ids())
            self._unsent = None
        self._abandon_deferred()

    def _abandon_deferred(self) -> None:
        """The run stops with creates confirmed but not settled: leave them for the next run's lookup."""
        if self._deferred:
            self.ledger.leave_unresolved(self.flow, self.target.name, [i.candidate.source_id
                                                                       for i in self._deferred.values()],
                                         "written; the run stopped before reading it back")
            self._deferred.clear()

    # --- hooks ----------------------------------------------------------------------------------
    def on_claimed(self, items: dict[str, PostItem], claims: list[Claim]) -> None:
        """Hook: called once a batch is claimed, before anything is sent."""

    def on_posted(self, items: list[PostItem], action: str) -> None:
        """Hook: these items' records were created, altered or cancelled in the target."""

    def on_read_back(self, items: list[PostItem], records: Mapping[str, Any]) -> None:
        """Hook: these created items were read back from the target; `records` by key (`Created.records`)."""

    # --- one batch ------------------------------------------------------------------------------
    def _claim_batch(self, chunk: Sequence[Any]) -> _Batch:
        """Prepare and claim a chunk (here, while the batch before it may be in flight); returns what to send."""
        items = [item for record in chunk if (item := self.prepare(record)) is not None and self._acceptable(item)]
        claims = self.ledger.claim(self.flow, self.target.name, [i.candidate for i in items], self.owner)
        by_id = {i.candidate.source_id: i for i in items}
        todo: dict[str, list[tuple[PostItem, Claim]]] = {"create": [], "alter": [], "cancel": [], "resolve": []}
        for claim in claims:
            if claim.action == "skip":
                self.report.skip(claim.reason)
            elif claim.action == "busy":
                self.report.busy += 1
            else:
                todo[claim.action].append((by_id[claim.source_id], claim))
        batch = _Batch([i for i, _ in todo["create"]],
                       [(i, c.target_id or "", c.action) for c in ("alter", "cancel") for i, c in todo[c]])
        self._unsent = batch
        if todo["resolve"]:
            self._finish_inflight()  # a lookup is a target call too: after the batch in flight, never beside it
            for (item, claim), action in self._resolve(todo.pop("resolve")):
                batch.looked_up.add(item.candidate.source_id)
                if action == "create":
                    batch.creates.append(item)
                else:
                    batch.changes.append((item, claim.target_id or "", action))
        self.on_claimed(by_id, claims)
        return batch

    def _send(self, batch: _Batch) -> None:
        """Hand the batch to the sender; its outcomes are recorded by `_finish_inflight`. A batch cut bigger
        than the size is now (the one before it was refused or slow) sends its creates in parts."""
        while len(batch.creates) > self.sizer.size:
            part = _Batch(batch.creates[:self.sizer.size], [], batch.settle_first, batch.looked_up)
            batch = _Batch(batch.creates[self.sizer.size:], batch.changes, looked_up=batch.looked_up)
            self._unsent = batch
            self._inflight = (part, self._sender.submit(self._send_batch, part))
            self._finish_inflight()
        if batch.creates or batch.changes or batch.settle_first:
            self._inflight = (batch, self._sender.submit(self._send_batch, batch))
        self._unsent = None

    def _send_batch(self, batch: _Batch) -> list[_Sent]:
        """On the sender: the window's read-back if asked, the batch's create, then its alters and cancels one
        by one, stopping at the first call that raises. Nothing here touches the ledger: the outcomes go back
        to `_finish_inflight`."""
        sent: list[_Sent] = []
        calls: list[tuple[str, list[PostItem], Any, tuple[Any, ...], str]] = []
        if batch.settle_first:
            calls.append(("settle", [], self.target.settle, (), ""))
        if batch.creates:
            calls.append(("create", batch.creates, self.target.create, (batch.creates,), ""))
        for item, target_id, action in batch.changes:
            call = self.target.cancel if action == "cancel" else self.target.alter
            calls.append((action, [item], call, (item, target_id), target_id))
        for n, (action, items, fn, args, target_id) in enumerate(calls):
            started = time.monotonic()
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed back to the run's thread, which raises it
                never_sent = [i.candidate.source_id for later in calls[n + 1:] for i in later[1]]
                sent.append(_Sent(action, items, target_id, error=exc, never_sent=never_sent))
                return sent
            sent.append(_Sent(action, items, target_id, result, time.monotonic() - started))
        return sent

    def _finish_inflight(self) -> None:
        """Wait for the batch in flight and record every outcome; a call that raised is accounted for (its
        claims left unresolved or released, the batch's calls after it released: never sent) and raised."""
        if self._inflight is None:
            return
        batch, future = self._inflight
        self._inflight = None
        sent = future.result()
        for done in sent:
            if done.error is not None:
                self._give_back(batch, done.never_sent)
                self._account(done.items, done.error)
                raise done.error
            if done.action == "settle":  # recorded against what was deferred when it was sent, as it read
                self._record_created(done.result, dict(self._deferred))
                give_back_freed_memory()
            elif done.action == "create":
                self._created(done.items, done.result, done.seconds)
            else:
                self._changed(done.items[0], done.target_id, done.action, done.result)

    def _acceptable(self, item: PostItem) -> bool:
        error = self.target.check(item) if item.payload is not None else None
        if error is None:
            return True
        self.report.unbalanced += 1
        self.fail_unclaimed(item.candidate.source_id, item.key, item.number, item.raw, f"{item.label}: {error}",
                            detail=item.candidate.detail, group_key=item.candidate.group_key)
        return False

    def fail_unclaimed(self, source_id: str, key: str, number: str, raw: dict | str, error: str,
                       detail: dict | None = None, group_key: str | None = None) -> None:
        """A record that failed before any claim (it could not be mapped): kept with its payload for replay."""
        cand = Candidate(source_id, key, "", detail=detail or {self.report_keys[0]: number}, group_key=group_key)
        self.ledger.record_failed_unclaimed(self.flow, self.target.name, cand, error, replay_text(raw))
        self.report.fail(number, source_id, error)

    # --- claims a dead run left pending ---------------------------------------------------------
    def _resolve(self, pending: list[tuple[PostItem, Claim]]) -> list[tuple[tuple[PostItem, Claim], str]]:
        """A create left pending may have reached the target: look its key up before sending again."""
        creates = [(i, c) for i, c in pending if c.prior_action == "create" or c.target_id is None]
        found = self._sender.call(self.target.find, creates) if creates else {}
        out: list[tuple[tuple[PostItem, Claim], str]] = []
        for item, claim in pending:
            self.report.resolved += 1
            target_id = claim.target_id or found.get(item.key)
            if target_id is None:
                if item.payload is not None:
                    out.append(((item, claim), "create"))
                else:
                    self._skip_never_posted(item)
                continue
            action = "cancel" if item.candidate.desired == "cancel" else "alter"
            out.append(((item, Claim(claim.source_id, action, target_id)), action))
        return out

    def _skip_never_posted(self, item: PostItem) -> None:
        reason = "cancelled before it was ever posted"
        self.ledger.record_skipped(self.flow, self.target.name, [(item.candidate.source_id, reason)])
        self.report.skip(reason)

    # --- outcomes -------------------------------------------------------------------------------
    def _created(self, items: list[PostItem], result: Created, seconds: float) -> None:
        self.sizer.record(not result.refused and not result.unknown, seconds)
        batch = {i.key: i for i in items}
        # a create that was not clean settles what waited too; ChainMap spares copying a window of thousands
        by_key: Mapping[str, PostItem] = ChainMap(batch, dict(self._deferred) if result.landed or result.unknown
                                                  else self._deferred)
        self._deferred.update((key, self._slim(batch[key])) for key in result.deferred)
        self._record_created(result, by_key)

    def _slim(self, item: PostItem) -> PostItem:
        """What a deferred create keeps until it is settled: it can only land or stay unknown now,
        so neither its payload nor its raw record (kept for replay of a refusal) is needed."""
        return replace(item, raw={}, payload=None, source=item.source if self.retain_source else None)

    def _record_created(self, result: Created, by_key: Mapping[str, PostItem]) -> None:
        for key in (*result.landed, *result.refused, *result.unknown):
            self._deferred.pop(key, None)
        landed = [by_key[k] for k in result.landed]
        self.ledger.record_posted(self.flow, self.target.name, [
            (i.candidate.source_id, result.landed[i.key], i.candidate.payload_hash, False) for i in landed])
        self.report.created += len(landed)
        self.on_posted(landed, "create")
        if result.records:
            self.on_read_back(landed, result.records)
        for key, error in result.refused.items():
            self.record_failure(by_key[key], error)
        if result.unknown:
            self.report.unknown += len(result.unknown)
            self.ledger.leave_unresolved(self.flow, self.target.name,
                                         [by_key[k].candidate.source_id for k in result.unknown],
                                         next(iter(result.unknown.values())))

    def _changed(self, item: PostItem, target_id: str, action: str, outcome: Outcome) -> None:
        if outcome.error is not None:
            self.record_failure(item, outcome.error)
            return
        cancelled = action == "cancel"
        self.ledger.record_posted(self.flow, self.target.name, [(item.candidate.source_id, target_id,
                                                                  item.candidate.payload_hash, cancelled)])
        if cancelled:
            self.report.cancelled += 1
        else:
            self.report.altered += 1
        self.on_posted([item], action)

    def _give_back(self, batch: _Batch, source_ids: list[str]) -> None:
        """Claims the run stopped before sending. One that resolved an earlier write whose outcome is unknown
        stays pending, unowned, to be looked up again (what this run's lookup found is not in the ledger, and
        the write it resolves may have landed); the others certainly never reached the target: released."""
        reason = "not posted: the run stopped before sending it"
        unknown = [sid for sid in source_ids if sid in batch.looked_up]
        if unknown:
            self.ledger.leave_unresolved(self.flow, self.target.name, unknown, reason + " (an earlier write of it"
                                         " may have landed: looked up before anything is sent)")
        if released := [sid for sid in source_ids if sid not in batch.looked_up]:
            self.ledger.release(self.flow, self.target.name, released, reason)

    def _account(self, items: list[PostItem], exc: BaseException) -> None:
        """A call that raised: a write that may have landed stays pending for a lookup; one that certainly
        never arrived gives its claims back (transient)."""
        ids = [i.candidate.source_id for i in items]
        if isinstance(exc, self.target.outcome_unknown):  # may have landed: the next run looks them up first
            self.ledger.leave_unresolved(self.flow, self.target.name, ids, f"outcome unknown: {exc}")
        elif isinstance(exc, self.target.not_delivered):
            self.ledger.release(self.flow, self.target.name, ids, f"not posted: {exc}")

    def record_failure(self, item: PostItem, error: str) -> None:
        """The target refused this record: failed with its reason, payload kept for replay."""
        self.ledger.record_failed(self.flow, self.target.name, [(item.candidate.source_id, error,
                                                                  replay_text(item.raw))])
        self.report.fail(item.number, item.candidate.source_id, f"{item.label}: {error}")

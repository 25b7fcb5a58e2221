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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from typing import Any

from pipelines.posting.memory import give_back_freed_memory
from pipelines.posting.target import Created, Outcome, Target
from state.ledger import Candidate, Claim, SyncLedger, current_owner


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
    """One source record ready to post: `payload` is what the target is sent; None asks for a cancel."""

    label: str
    number: str
    date: date | None
    raw: dict
    payload: Any
    candidate: Candidate
    source: Any = None

    @property
    def key(self) -> str:
        return self.candidate.external_key


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

    def record(self, clean: bool, seconds: float) -> None:
        if not clean:
            self.size = max(self.floor, self.size // 2)
        elif seconds <= self.fast_seconds:
            self.size = min(self.ceiling, self.size * 2)


class Poster:
    """Posts one flow's records to one target; subclasses turn source records into `PostItem`s."""

    flow = "posting"
    report_keys: tuple[str, str] = ("number", "source_id")
    retain_source = True  # whether `on_posted` reads `PostItem.source` of a create settled later

    def __init__(self, target: Target, ledger: SyncLedger, run_id: str, *, batch_size: int = 25,
                 batch_ceiling: int | None = None, settle_every: int = 5000) -> None:
        self.target, self.ledger = target, ledger
        self.owner = current_owner(run_id)
        self.sizer = BatchSizer(size=batch_size, floor=min(5, batch_size),
                                ceiling=batch_ceiling if batch_ceiling is not None else batch_size)
        self.settle_every = settle_every
        self.report = PostingReport(keys=self.report_keys)
        self._deferred: dict[str, PostItem] = {}

    @property
    def batch_size(self) -> int:
        return self.sizer.size

    def prepare(self, record: Any) -> PostItem | None:
        """Map one source record; a record that cannot be posted is recorded here and gives None."""
        raise NotImplementedError

    def post(self, records: Iterable[Any]) -> PostingReport:
        """Post every record, a batch at a time, and settle what the target deferred."""
        iterator = iter(records)
        try:
            while chunk := list(islice(iterator, self.sizer.size)):
                self._post_batch(chunk)
                if len(self._deferred) >= self.settle_every:
                    self.settle()
            self.settle()
        except BaseException:
            self._abandon_deferred()
            raise
        return self.report

    def settle(self) -> None:
        """Learn the ids of every deferred create (one read-back for TallyPrime) and record them."""
        if self._deferred:
            self._record_created(self.target.settle(), dict(self._deferred))
            give_back_freed_memory()  # the window's read-back and batches are freed: keep the resident size flat

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
    def _post_batch(self, chunk: Sequence[Any]) -> None:
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
        for pair, action in self._resolve(todo.pop("resolve")):
            todo[action].append(pair)
        self.on_claimed(by_id, claims)
        self._create([i for i, _ in todo["create"]])
        for item, claim in todo["alter"]:
            self._change(item, claim.target_id or "", "alter")
        for item, claim in todo["cancel"]:
            self._change(item, claim.target_id or "", "cancel")

    def _acceptable(self, item: PostItem) -> bool:
        error = self.target.check(item) if item.payload is not None else None
        if error is None:
            return True
        self.report.unbalanced += 1
        self.fail_unclaimed(item.candidate.source_id, item.key, item.number, item.raw, f"{item.label}: {error}",
                            detail=item.candidate.detail, group_key=item.candidate.group_key)
        return False

    def fail_unclaimed(self, source_id: str, key: str, number: str, raw: dict, error: str,
                       detail: dict | None = None, group_key: str | None = None) -> None:
        """A record that failed before any claim (it could not be mapped): kept with its payload for replay."""
        cand = Candidate(source_id, key, "", detail=detail or {self.report_keys[0]: number}, group_key=group_key)
        self.ledger.record_failed_unclaimed(self.flow, self.target.name, cand, error, json.dumps(raw, default=str))
        self.report.fail(number, source_id, error)

    # --- claims a dead run left pending ---------------------------------------------------------
    def _resolve(self, pending: list[tuple[PostItem, Claim]]) -> list[tuple[tuple[PostItem, Claim], str]]:
        """A create left pending may have reached the target: look its key up before sending again."""
        creates = [(i, c) for i, c in pending if c.prior_action == "create" or c.target_id is None]
        found = self.target.find(creates) if creates else {}
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

    # --- sending --------------------------------------------------------------------------------
    def _create(self, items: list[PostItem]) -> None:
        if not items:
            return
        started = time.monotonic()
        result: Created = self._call(items, self.target.create, items)
        self.sizer.record(not result.refused and not result.unknown, time.monotonic() - started)
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

    def _change(self, item: PostItem, target_id: str, action: str) -> None:
        call = self.target.cancel if action == "cancel" else self.target.alter
        outcome: Outcome = self._call([item], call, item, target_id)
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

    def _call(self, items: list[PostItem], fn: Any, *args: Any) -> Any:
        """Call the target; a write that certainly never arrived gives its claims back (transient)."""
        try:
            return fn(*args)
        except self.target.outcome_unknown as exc:  # may have landed: the next run looks them up first
            self.ledger.leave_unresolved(self.flow, self.target.name, [i.candidate.source_id for i in items],
                                         f"outcome unknown: {exc}")
            raise
        except self.target.not_delivered as exc:
            self.ledger.release(self.flow, self.target.name, [i.candidate.source_id for i in items],
                                f"not posted: {exc}")
            raise

    def record_failure(self, item: PostItem, error: str) -> None:
        """The target refused this record: failed with its reason, payload kept for replay."""
        self.ledger.record_failed(self.flow, self.target.name, [(item.candidate.source_id, error,
                                                                  json.dumps(item.raw, default=str))])
        self.report.fail(item.number, item.candidate.source_id, f"{item.label}: {error}")

"""The one exactly-once poster: the sync-ledger protocol, driven against any `Target`.

Per batch: prepare every record (pure mapping, done by the flow's subclass), let the target refuse
what it can never accept (e.g. an unbalanced voucher: that record fails, not the step), claim the
batch in the ledger with deterministic keys, resolve claims a dead run left `pending` (look the key
up in the target before anything is re-sent), create what is new, then alter and cancel one by one
by the target's id, and record every outcome. A write whose outcome is unknown stays `pending`
without an owner, so the next run looks it up first; a write that certainly never arrived is
released and marked transient, to be retried.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

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


class Poster:
    """Posts one flow's records to one target; subclasses turn source records into `PostItem`s."""

    flow = "posting"
    report_keys: tuple[str, str] = ("number", "source_id")

    def __init__(self, target: Target, ledger: SyncLedger, run_id: str, *, batch_size: int = 25) -> None:
        self.target, self.ledger = target, ledger
        self.owner = current_owner(run_id)
        self.batch_size = batch_size
        self.report = PostingReport(keys=self.report_keys)

    def prepare(self, record: Any) -> PostItem | None:
        """Map one source record; a record that cannot be posted is recorded here and gives None."""
        raise NotImplementedError

    def post(self, records: Iterable[Any]) -> PostingReport:
        """Post every record, `batch_size` at a time."""
        iterator = iter(records)
        while chunk := list(islice(iterator, self.batch_size)):
            self._post_batch(chunk)
        return self.report

    # --- hooks ----------------------------------------------------------------------------------
    def on_claimed(self, items: dict[str, PostItem], claims: list[Claim]) -> None:
        """Hook: called once a batch is claimed, before anything is sent."""

    def on_posted(self, items: list[PostItem], action: str) -> None:
        """Hook: these items' records were created, altered or cancelled in the target."""

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
        result: Created = self._call(items, self.target.create, items)
        by_key = {i.key: i for i in items}
        landed = [by_key[k] for k in result.landed]
        self.ledger.record_posted(self.flow, self.target.name, [
            (i.candidate.source_id, result.landed[i.key], i.candidate.payload_hash, False) for i in landed])
        self.report.created += len(landed)
        self.on_posted(landed, "create")
        for key, error in result.refused.items():
            self.record_failure(by_key[key], error)
        if result.unknown:
            self.report.unknown += len(result.unknown)
            for key, reason in result.unknown.items():
                self.ledger.leave_unresolved(self.flow, self.target.name, [by_key[key].candidate.source_id], reason)

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
        except self.target.outcome_unknown:
            raise  # claims stay pending: the next run looks them up before re-sending
        except self.target.not_delivered as exc:
            self.ledger.release(self.flow, self.target.name, [i.candidate.source_id for i in items],
                                f"not posted: {exc}")
            raise

    def record_failure(self, item: PostItem, error: str) -> None:
        """The target refused this record: failed with its reason, payload kept for replay."""
        self.ledger.record_failed(self.flow, self.target.name, [(item.candidate.source_id, error,
                                                                  json.dumps(item.raw, default=str))])
        self.report.fail(item.number, item.candidate.source_id, f"{item.label}: {error}")

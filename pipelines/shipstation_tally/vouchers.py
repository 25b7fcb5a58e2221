"""Posting vouchers to TallyPrime exactly once, through the sync ledger (shared by every voucher flow).

Per batch: prepare every record (pure mapping), claim the batch in the ledger, resolve claims left
`pending` by a dead run (look the key up in Tally first), send creates as one import, read them back
by their narration marker to learn each MasterId, then alter and cancel one by one by MasterId.
TallyPrime processes a batch object by object with no rollback and does not say which object failed,
so a batch with failures is settled by the read-back, and each missing voucher is re-sent alone to
get its own error (it is certainly absent, so that cannot post it twice).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from connectors.tally.client import TallyClient
from connectors.tally.errors import CompanyNotLoaded, TallyOutcomeUnknown, TallyRejected, TallyUnavailable
from connectors.tally.models import ImportResult, Voucher, VoucherRecord
from state.audit_hook import AuditHook
from state.ledger import Candidate, Claim, SyncLedger, current_owner

TARGET = "tally"
MARKER_RE = re.compile(r"\[ext:([^\]]+)\]")


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
    """One source record ready to post: `voucher` None means the source wants its voucher cancelled."""

    label: str
    number: str
    date: date
    raw: dict
    voucher: Voucher | None
    candidate: Candidate
    source: Any = None


class VoucherPoster:
    """Posts one voucher type for one flow; subclasses turn source records into `PostItem`s."""

    flow = "tally.vouchers"
    report_keys: tuple[str, str] = ("number", "source_id")

    def __init__(self, tally: TallyClient, ledger: SyncLedger, voucher_type: str, run_id: str, *,
                 batch_size: int = 25, audit: AuditHook | None = None) -> None:
        self.tally, self.ledger, self.voucher_type = tally, ledger, voucher_type
        self.owner = current_owner(run_id)
        self.batch_size = batch_size
        self.audit = audit or AuditHook(None)
        self.report = PostingReport(keys=self.report_keys)
        self._alter_floor: int | None = None

    def prepare(self, record: Any) -> PostItem | None:
        """Map one source record; a record that cannot be posted is recorded here and gives None."""
        raise NotImplementedError

    def post(self, records: Iterable[Any]) -> PostingReport:
        """Post every record, `batch_size` at a time."""
        iterator = iter(records)
        while chunk := list(islice(iterator, self.batch_size)):
            self._post_batch(chunk)
        return self.report

    # --- one batch --------------------------------------------------------------------------
    def _post_batch(self, chunk: Sequence[Any]) -> None:
        items = [item for record in chunk if (item := self.prepare(record)) is not None]
        claims = self.ledger.claim(self.flow, TARGET, [i.candidate for i in items], self.owner)
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
            self._alter_or_cancel(item, claim.target_id, "Alter")
        for item, claim in todo["cancel"]:
            self._alter_or_cancel(item, claim.target_id, "Cancel")

    def on_claimed(self, items: dict[str, PostItem], claims: list[Claim]) -> None:
        """Hook: called once a batch is claimed, before anything is sent."""

    def fail_unclaimed(self, source_id: str, key: str, number: str, raw: dict, error: str,
                       detail: dict | None = None, group_key: str | None = None) -> None:
        cand = Candidate(source_id, key, "", detail=detail or {self.report_keys[0]: number}, group_key=group_key)
        self.ledger.record_failed_unclaimed(self.flow, TARGET, cand, error, json.dumps(raw, default=str))
        self.report.fail(number, source_id, error)

    # --- resolving claims a dead run left pending ----------------------------------------------
    def _resolve(self, pending: list[tuple[PostItem, Claim]]) -> list[tuple[tuple[PostItem, Claim], str]]:
        """A create left pending may have reached Tally: look for its marker before sending again."""
        out: list[tuple[tuple[PostItem, Claim], str]] = []
        creates = [(i, c) for i, c in pending if c.prior_action == "create" or c.target_id is None]
        found = self._find([i.candidate for i, _ in creates]) if creates else {}
        for item, claim in pending:
            self.report.resolved += 1
            record = found.get(item.candidate.external_key)
            if claim.target_id is None and record is None:
                out.append(((item, claim), "create" if item.voucher else "cancel_none"))
                continue
            target_id = claim.target_id or str(record.master_id)
            action = "cancel" if item.candidate.desired == "cancel" else "alter"
            out.append(((item, Claim(claim.source_id, action, target_id)), action))
        return [(pair, action) for pair, action in out if self._settle_cancel_none(pair, action)]

    def _settle_cancel_none(self, pair: tuple[PostItem, Claim], action: str) -> bool:
        if action != "cancel_none":
            return True
        reason = "cancelled before it was ever posted"
        self.ledger.record_skipped(self.flow, TARGET, [(pair[0].candidate.source_id, reason)])
        self.report.skip(reason)
        return False

    def _find(self, candidates: Sequence[Candidate]) -> dict[str, VoucherRecord]:
        dates = [c.detail["date"] for c in candidates if c.detail and c.detail.get("date")]
        records = self.tally.list_vouchers(self.voucher_type, min(dates, default=None), max(dates, default=None))
        return index_by_marker(records, {c.external_key for c in candidates})

    def _find_created(self, items: list[PostItem]) -> dict[str, VoucherRecord]:
        """Read back only what changed since the last read-back (AlterID cursor, reference §6)."""
        keys = {i.candidate.external_key for i in items}
        dates = [i.voucher.date for i in items if i.voucher is not None]
        records = self.tally.list_vouchers(self.voucher_type, min(dates), max(dates),
                                           alter_id_after=self._alter_floor)
        self._alter_floor = max([self._alter_floor or 0, *(r.alter_id or 0 for r in records)])
        return index_by_marker(records, keys)

    # --- sending --------------------------------------------------------------------------------
    def _create(self, items: list[PostItem]) -> None:
        if not items:
            return
        if self._alter_floor is None:
            self._alter_floor = self.tally.company().alt_vch_id or 0
        result = self._send([i.voucher for i in items], [i.candidate.source_id for i in items])
        if result is None:
            return
        landed = self._find_created(items) if result.created else {}
        posted, missing = [], []
        for item in items:
            record = landed.get(item.candidate.external_key)
            if record is not None:
                posted.append((item.candidate.source_id, str(record.master_id), item.candidate.payload_hash, False))
            else:
                missing.append(item)
        self.ledger.record_posted(self.flow, TARGET, posted)
        self.report.created += len(posted)
        self.on_posted([i for i in items if i not in missing], "create")
        if len(missing) == 1 and len(items) == 1:
            self.record_failure(missing[0], import_errors(result))
        else:
            for item in missing:  # certainly absent: re-send alone to learn its own error
                self._create([item])

    def _alter_or_cancel(self, item: PostItem, target_id: str | None, action: str) -> None:
        voucher = self._identity_voucher(item, int(target_id or 0), action)
        result = self._send([voucher], [item.candidate.source_id])
        if result is None:
            return
        done = result.altered if action == "Alter" else (result.cancelled or result.altered)
        if done >= 1 and not result.errors and not result.exceptions and not result.line_errors:
            cancelled = action == "Cancel"
            self.ledger.record_posted(self.flow, TARGET, [(item.candidate.source_id, str(target_id),
                                                           item.candidate.payload_hash, cancelled)])
            if cancelled:
                self.report.cancelled += 1
            else:
                self.report.altered += 1
            self.on_posted([item], action.lower())
        else:
            self.record_failure(item, import_errors(result))

    def on_posted(self, items: list[PostItem], action: str) -> None:
        """Hook: these items' vouchers were created, altered or cancelled in Tally."""

    def _identity_voucher(self, item: PostItem, master_id: int, action: str) -> Voucher:
        if item.voucher is not None:
            return item.voucher.model_copy(update={"action": action, "master_id": master_id})
        return Voucher(voucher_type=self.voucher_type, action=action, master_id=master_id, date=item.date,
                       voucher_number=item.number, ledger_entries=[], inventory_entries=[])

    def _send(self, vouchers: list[Voucher], source_ids: list[str]) -> ImportResult | None:
        self.audit.source_ids = source_ids
        try:
            return self.tally.import_vouchers(vouchers)
        except TallyOutcomeUnknown:
            raise  # claims stay pending: the next run looks them up before re-sending
        except (TallyUnavailable, CompanyNotLoaded) as exc:
            self.ledger.release(self.flow, TARGET, source_ids, f"not posted: {exc}")
            raise
        except TallyRejected as exc:
            if exc.result is None:
                self.ledger.release(self.flow, TARGET, source_ids, f"not posted: {exc}")
                raise
            return exc.result  # partly or wholly refused: the read-back settles each voucher

    def record_failure(self, item: PostItem, error: str) -> None:
        self.ledger.record_failed(self.flow, TARGET, [(item.candidate.source_id, error,
                                                       json.dumps(item.raw, default=str))])
        self.report.fail(item.number, item.candidate.source_id, f"{item.label}: {error}")


def import_errors(result: ImportResult) -> str:
    if result.line_errors:
        return "; ".join(result.line_errors)
    return f"Tally reported {result.errors} error(s) and {result.exceptions} exception(s) with no text"


def index_by_marker(records: Iterable[VoucherRecord], keys: set[str]) -> dict[str, VoucherRecord]:
    index: dict[str, VoucherRecord] = {}
    for record in records:
        for key in MARKER_RE.findall(record.narration or ""):
            if key in keys and not record.is_cancelled:
                index.setdefault(key, record)
    return index

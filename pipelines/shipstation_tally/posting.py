"""Posting ShipStation orders to TallyPrime exactly once, through the sync ledger.

Per batch: map every order (pure), claim the batch in the ledger, resolve claims left `pending` by
a dead run (look the key up in Tally first), send creates as one import, read them back by their
narration marker to learn each MasterId, then alter and cancel one by one by MasterId. TallyPrime
processes a batch object by object with no rollback and does not say which object failed, so a
batch with failures is settled by the read-back, and each missing voucher is re-sent alone to get
its own error (it is certainly absent, so that cannot post it twice).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from connectors.common.errors import RecordError
from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.tally.client import TallyClient
from connectors.tally.errors import CompanyNotLoaded, TallyOutcomeUnknown, TallyRejected, TallyUnavailable
from connectors.tally.models import ImportResult, Voucher, VoucherRecord
from ml_connector.audit_hook import AuditHook
from ml_connector.ledger import Candidate, Claim, SyncLedger, current_owner
from pipelines.shipstation_tally.mapping import (
    MappingError,
    OrderVoucherConfig,
    SkuResolver,
    customer_ledger_name,
    describe,
    external_key,
    order_to_voucher,
    payload_hash,
)

FLOW = "shipstation_tally.orders"
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
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)

    def skip(self, reason: str | None) -> None:
        self.skipped += 1
        self.skip_reasons[reason or "unchanged"] += 1

    def fail(self, order_number: str, order_id: str, error: str) -> None:
        self.failed += 1
        self.failures.append({"order_number": order_number, "order_id": order_id, "error": error})


@dataclass
class _Item:
    order: Order
    raw: dict
    voucher: Voucher | None
    candidate: Candidate


class OrderVoucherPoster:
    """Posts order vouchers for staged orders; every outcome lands in the ledger."""

    def __init__(self, tally: TallyClient, ledger: SyncLedger, cfg: OrderVoucherConfig, skus: SkuResolver,
                 known_ledgers: set[str], run_id: str, *, batch_size: int = 25,
                 audit: AuditHook | None = None) -> None:
        self.tally, self.ledger, self.cfg, self.skus = tally, ledger, cfg, skus
        self.known_ledgers = known_ledgers
        self.owner = current_owner(run_id)
        self.batch_size = batch_size
        self.audit = audit or AuditHook(None)
        self.report = PostingReport()
        self._alter_floor: int | None = None

    def post(self, records: Iterable[tuple[Order | None, dict]]) -> PostingReport:
        """Post every (parsed order, raw record); an unparseable record is `(None, raw)` plus its error."""
        iterator = iter(records)
        while chunk := list(islice(iterator, self.batch_size)):
            self._post_batch(chunk)
        return self.report

    # --- one batch --------------------------------------------------------------------------
    def _post_batch(self, chunk: Sequence[tuple[Order | None, dict]]) -> None:
        items = [item for order, raw in chunk if (item := self._prepare(order, raw)) is not None]
        claims = self.ledger.claim(FLOW, TARGET, [i.candidate for i in items], self.owner)
        by_id = {i.candidate.source_id: i for i in items}
        todo: dict[str, list[tuple[_Item, Claim]]] = {"create": [], "alter": [], "cancel": [], "resolve": []}
        for claim in claims:
            if claim.action == "skip":
                self.report.skip(claim.reason)
            elif claim.action == "busy":
                self.report.busy += 1
            else:
                todo[claim.action].append((by_id[claim.source_id], claim))
        for item, action in self._resolve(todo.pop("resolve")):
            todo[action].append(item)
        self._create([i for i, _ in todo["create"]])
        for item, claim in todo["alter"]:
            self._alter_or_cancel(item, claim.target_id, "Alter")
        for item, claim in todo["cancel"]:
            self._alter_or_cancel(item, claim.target_id, "Cancel")

    def _prepare(self, order: Order | None, raw: dict) -> _Item | None:
        self.report.read += 1
        source_id = str(raw.get("orderId", ""))
        number = str(raw.get("orderNumber", ""))
        if order is None:
            error = raw.get("_parse_error", "record could not be parsed")
            self._fail_unclaimed(source_id, number, raw, error)
            return None
        try:
            voucher, desired, digest = self._map(order)
        except MappingError as exc:
            self._fail_unclaimed(source_id, number, raw, str(exc))
            return None
        detail = {"order_number": order.order_number, "date": local_date(order.order_date, self.cfg.timezone)}
        cand = Candidate(source_id, external_key(order), digest, desired,
                         order.modify_date.isoformat() if order.modify_date else None, detail)
        return _Item(order, raw, voucher, cand)

    def _map(self, order: Order) -> tuple[Voucher | None, str, str]:
        if order.order_status == "cancelled":
            return None, "cancel", "cancelled"
        party = customer_ledger_name(order)
        if party not in self.known_ledgers:
            raise MappingError(describe(order), "billTo.name", f"party ledger {party!r} does not exist in Tally")
        voucher = order_to_voucher(order, party, self.skus, self.cfg)
        if voucher.balance() != 0:
            self.report.unbalanced += 1
            raise MappingError(describe(order), "voucher", f"voucher does not net to zero ({voucher.balance()})")
        return voucher, "upsert", payload_hash(voucher)

    def _fail_unclaimed(self, source_id: str, number: str, raw: dict, error: str) -> None:
        cand = Candidate(source_id, f"ss-order-{source_id}", "", detail={"order_number": number})
        self.ledger.record_failed_unclaimed(FLOW, TARGET, cand, error, json.dumps(raw, default=str))
        self.report.fail(number, source_id, error)

    # --- resolving claims a dead run left pending ----------------------------------------------
    def _resolve(self, pending: list[tuple[_Item, Claim]]) -> list[tuple[tuple[_Item, Claim], str]]:
        """A create left pending may have reached Tally: look for its marker before sending again."""
        out: list[tuple[tuple[_Item, Claim], str]] = []
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

    def _settle_cancel_none(self, pair: tuple[_Item, Claim], action: str) -> bool:
        if action != "cancel_none":
            return True
        item = pair[0]
        reason = "cancelled before it was ever posted"
        self.ledger.record_skipped(FLOW, TARGET, [(item.candidate.source_id, reason)])
        self.report.skip(reason)
        return False

    def _find(self, candidates: Sequence[Candidate]) -> dict[str, VoucherRecord]:
        dates = [c.detail["date"] for c in candidates if c.detail and c.detail.get("date")]
        records = self.tally.list_vouchers(self.cfg.voucher_type, min(dates, default=None),
                                           max(dates, default=None))
        return _index_by_marker(records, {c.external_key for c in candidates})

    def _find_created(self, items: list[_Item]) -> dict[str, VoucherRecord]:
        """Read back only what changed since the last read-back (AlterID cursor, reference §6)."""
        keys = {i.candidate.external_key for i in items}
        dates = [i.voucher.date for i in items if i.voucher is not None]
        records = self.tally.list_vouchers(self.cfg.voucher_type, min(dates), max(dates),
                                           alter_id_after=self._alter_floor)
        self._alter_floor = max([self._alter_floor or 0, *(r.alter_id or 0 for r in records)])
        return _index_by_marker(records, keys)

    # --- sending --------------------------------------------------------------------------------
    def _create(self, items: list[_Item]) -> None:
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
        self.ledger.record_posted(FLOW, TARGET, posted)
        self.report.created += len(posted)
        if len(missing) == 1 and len(items) == 1:
            self._record_failure(missing[0], _errors(result))
        else:
            for item in missing:  # certainly absent: re-send alone to learn its own error
                self._create([item])

    def _alter_or_cancel(self, item: _Item, target_id: str | None, action: str) -> None:
        voucher = self._identity_voucher(item, int(target_id or 0), action)
        result = self._send([voucher], [item.candidate.source_id])
        if result is None:
            return
        done = result.altered if action == "Alter" else (result.cancelled or result.altered)
        if done >= 1 and not result.errors and not result.exceptions and not result.line_errors:
            cancelled = action == "Cancel"
            self.ledger.record_posted(FLOW, TARGET, [(item.candidate.source_id, str(target_id),
                                                      item.candidate.payload_hash, cancelled)])
            if cancelled:
                self.report.cancelled += 1
            else:
                self.report.altered += 1
        else:
            self._record_failure(item, _errors(result))

    def _identity_voucher(self, item: _Item, master_id: int, action: str) -> Voucher:
        if item.voucher is not None:
            return item.voucher.model_copy(update={"action": action, "master_id": master_id})
        order = item.order
        return Voucher(voucher_type=self.cfg.voucher_type, action=action, master_id=master_id,
                       date=local_date(order.order_date, self.cfg.timezone), voucher_number=order.order_number,
                       ledger_entries=[], inventory_entries=[])

    def _send(self, vouchers: list[Voucher], source_ids: list[str]) -> ImportResult | None:
        self.audit.source_ids = source_ids
        try:
            return self.tally.import_vouchers(vouchers)
        except TallyOutcomeUnknown:
            raise  # claims stay pending: the next run looks them up before re-sending
        except (TallyUnavailable, CompanyNotLoaded) as exc:
            self.ledger.release(FLOW, TARGET, source_ids, f"not posted: {exc}")
            raise
        except TallyRejected as exc:
            if exc.result is None:
                self.ledger.release(FLOW, TARGET, source_ids, f"not posted: {exc}")
                raise
            return exc.result  # partly or wholly refused: the read-back settles each voucher

    def _record_failure(self, item: _Item, error: str) -> None:
        self.ledger.record_failed(FLOW, TARGET, [(item.candidate.source_id, error,
                                                  json.dumps(item.raw, default=str))])
        self.report.fail(item.order.order_number, item.candidate.source_id, f"{describe(item.order)}: {error}")


def parse_staged(raws: Iterable[dict]) -> Iterator[tuple[Order | None, dict]]:
    """Parse staged raw orders; a record that does not parse comes back as `(None, raw)` naming the field."""
    for raw in raws:
        try:
            yield Order.from_raw(raw), raw
        except RecordError as exc:
            yield None, {**raw, "_parse_error": str(exc)}


def _errors(result: ImportResult) -> str:
    if result.line_errors:
        return "; ".join(result.line_errors)
    return f"Tally reported {result.errors} error(s) and {result.exceptions} exception(s) with no text"


def _index_by_marker(records: Iterable[VoucherRecord], keys: set[str]) -> dict[str, VoucherRecord]:
    index: dict[str, VoucherRecord] = {}
    for record in records:
        for key in MARKER_RE.findall(record.narration or ""):
            if key in keys and not record.is_cancelled:
                index.setdefault(key, record)
    return index

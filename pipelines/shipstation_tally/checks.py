"""Asset checks and materialisation metadata for the order-voucher hand-off.

The voucher check reads what Tally holds, not what we meant to send: after the run, the run's posted
vouchers are read back by date, at most `WINDOW` per export (reference §9: keep exports at or under
5,000 vouchers), and matched to the ledger by MasterId (else by the narration marker); each voucher's
party amount is compared with its staged order's total and its lines summed to zero. Only what that
needs is fetched and parsed (`list_voucher_amounts`: identity, party, each line's ledger and amount).
A voucher an accountant altered, cancelled or deleted in Tally fails the check.

Most vouchers are compared before the check runs: the poster's settle reads each window of new
vouchers back with their amounts (`TallyTarget(read_amounts=True)`), and `SettledCheck` compares
them there and then; the check exports only what was not read so (alterations, vouchers posted by
an earlier run, crash resolutions). So a run of N new orders makes N/5,000 exports, not twice that,
and none walks the company again for the check.

Memory does not grow with the run beyond a few machine words per order: one pass over the ledger
(`scan_ledger`, a part at a time) finds the unaccounted orders and notes each posted one as one
packed integer (its voucher's date and its place among the staged ids); the windows are those
integers sorted, and each window's orders are read from the ledger again only when it is checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import dagster as dg

from connectors.tally.client import TallyClient
from connectors.tally.errors import TallyError
from connectors.tally.models import VoucherAmounts
from pipelines.metadata import failure_table
from pipelines.posting import PostItem
from pipelines.posting.memory import give_back_freed_memory
from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from pipelines.shipstation_tally.posting import FLOW, TARGET, OrderTotals, PostingReport
from pipelines.sides.tally.markers import MARKER_RE
from state.ledger import Entry, SyncLedger, owner_alive

ORDER_VOUCHERS = dg.AssetKey(["tally", "order_vouchers"])
EVERY_ORDER_ACCOUNTED = "every_order_has_voucher_or_reason"
VOUCHERS_MATCH = "vouchers_match_their_orders"
NO_UNMAPPED_SKU = "no_unmapped_sku"

ORDER_VOUCHER_CHECKS = [
    dg.AssetCheckSpec(EVERY_ORDER_ACCOUNTED, asset=ORDER_VOUCHERS,
                      description="Every staged order has a voucher in Tally or a recorded reason why not."),
    dg.AssetCheckSpec(VOUCHERS_MATCH, asset=ORDER_VOUCHERS,
                      description="Every posted voucher, read back from Tally after the run, is there, is not "
                                  "cancelled, nets to zero, and its party amount equals its order's total."),
    dg.AssetCheckSpec(NO_UNMAPPED_SKU, asset=ORDER_VOUCHERS,
                      description="No order was held back by a SKU with no Tally stock item."),
]

MISMATCH_COLUMNS = ["order_number", "order_id", "master_id", "expected", "found", "problem"]
# Posted vouchers per read-back export: reference §9's ceiling. The reply is parsed as it arrives and only its
# compressed audit copy is kept (`TallyClient` streams voucher exports), so a window costs memory for its
# records, not for its ~15 KB a voucher of XML; 2,000 before the replies were streamed cost 2.5x the exports.
WINDOW = 5000


@dataclass(frozen=True, slots=True)
class PostedOrder:
    """A staged order whose voucher the ledger says is live in Tally."""

    order_id: str
    order_number: str
    master_id: str
    key: str
    day: date | None
    total: Decimal | None


@dataclass(frozen=True)
class ReadBack:
    """What the voucher check needs to read the run's vouchers back from Tally."""

    tally: TallyClient
    cfg: OrderVoucherConfig
    totals: Mapping[str, Decimal | None]  # orderId -> orderTotal of the run's orders (`OrderTotals`)


class SettledCheck:
    """The vouchers a settle read back with their amounts, compared with their orders then (`order_voucher_checks`
    leaves them out of its own read-back): what was seen, as compact ids, and what did not match."""

    def __init__(self, inward: bool) -> None:
        self.inward = inward
        self.seen: set[int | str] = set()
        self.mismatches: list[dict[str, str]] = []

    def add(self, items: Sequence[PostItem], records: Mapping[str, VoucherAmounts],
            totals: Mapping[str, Decimal | None]) -> None:
        posted, found = [], {}
        for item in items:
            record = records.get(item.key)
            if not isinstance(record, VoucherAmounts):
                continue  # read back without amounts: left to the check's own read-back
            sid = item.candidate.source_id
            posted.append(PostedOrder(sid, item.number, str(record.master_id), item.key, record.date, totals.get(sid)))
            found[sid] = record
            self.seen.add(OrderTotals.key(sid))
        self.mismatches += voucher_mismatches(posted, found, inward=self.inward)

    def __contains__(self, source_id: str) -> bool:
        return OrderTotals.key(source_id) in self.seen


_PLACE_BITS = 32  # a posted order's place among the staged ids, below its voucher date's ordinal


@dataclass
class LedgerScan:
    """What one pass over the run's ledger entries found: unaccounted orders, and the posted ones as
    packed integers (`date ordinal << 32 | place in the staged ids`, ordinal 0 for no date)."""

    staged: list[str]
    unaccounted: list[str] = field(default_factory=list)
    posted: list[int] = field(default_factory=list)


def report_metadata(report: PostingReport) -> dict[str, object]:
    return {
        "orders_read": report.read, "created": report.created, "altered": report.altered,
        "cancelled": report.cancelled, "skipped": report.skipped, "failed": report.failed,
        "skipped_because": dict(report.skip_reasons),
        "in_flight_elsewhere": report.busy, "resolved_after_crash": report.resolved,
        "failures": failure_table(report.failures, ["order_number", "order_id", "error"]),
    }


def order_voucher_checks(report: PostingReport, ledger: SyncLedger, staged_ids: Sequence[int],
                         readback: ReadBack, settled: SettledCheck | None = None) -> list[dg.AssetCheckResult]:
    """Evaluate the three hand-off checks from the ledger, the run's report and Tally itself (`settled`:
    the vouchers already compared when the poster settled them)."""
    scan = scan_ledger(ledger, staged_ids)
    unaccounted = scan.unaccounted
    unmapped = [f for f in report.failures if "has no stock item" in f["error"]]
    return [
        dg.AssetCheckResult(check_name=EVERY_ORDER_ACCOUNTED, passed=not unaccounted,
                            metadata={"staged": len(staged_ids), "unaccounted": len(unaccounted),
                                      "examples": ", ".join(unaccounted[:20])}),
        voucher_match_result(ledger, readback, scan, settled or SettledCheck(readback.cfg.is_inward)),
        dg.AssetCheckResult(check_name=NO_UNMAPPED_SKU, passed=not unmapped,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"orders_held_by_sku": len(unmapped),
                                      "failures": failure_table(unmapped, ["order_number", "error"])}),
    ]


def voucher_match_result(ledger: SyncLedger, readback: ReadBack, scan: LedgerScan,
                         settled: SettledCheck) -> dg.AssetCheckResult:
    """Compare each of the run's posted vouchers with its order: those the settle read back were compared
    then; the rest are read back from Tally now."""
    posted = len(scan.posted)
    unread = [p for p in scan.posted if scan.staged[p & _PLACE_MASK] not in settled]
    mismatches = list(settled.mismatches)
    seen = posted - len(unread)
    try:
        for packed in windows(unread):  # a few thousand vouchers per export: memory stays flat
            window = posted_orders(ledger, [scan.staged[p & _PLACE_MASK] for p in packed], readback.totals)
            found = read_back(readback.tally, readback.cfg.voucher_type, window)
            seen += len(found)
            mismatches += voucher_mismatches(window, found, inward=readback.cfg.is_inward)
            del found
            give_back_freed_memory()  # a window's blocks are freed: keep the resident size flat
    except TallyError as exc:  # the posting is done and recorded: say the check could not run, not crash it
        return dg.AssetCheckResult(check_name=VOUCHERS_MATCH, passed=False,
                                   metadata={"posted": posted, "read_back_error": str(exc)})
    return dg.AssetCheckResult(check_name=VOUCHERS_MATCH, passed=not mismatches, metadata={
        "posted": posted, "read_back": seen, "mismatched": len(mismatches),
        "mismatches": failure_table(mismatches, MISMATCH_COLUMNS)})


_PLACE_MASK = (1 << _PLACE_BITS) - 1
_UNDATED = date.max.toordinal() + 1  # undated vouchers sort last, as their own window's tail


def windows(posted: Sequence[int], size: int = WINDOW) -> Iterator[list[int]]:
    """Packed posted orders (`LedgerScan.posted`) by date, `size` at a time: each window is one export
    over its own dates."""
    ordered = sorted(posted)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def scan_ledger(ledger: SyncLedger, staged_ids: Sequence[int | str]) -> LedgerScan:
    """One pass over the staged orders' ledger entries, a part at a time: which have no outcome, and
    which are live in Tally (posted, not cancelled), noted by voucher date and place."""
    scan = LedgerScan([str(order_id) for order_id in staged_ids])
    for first in range(0, len(scan.staged), PART):
        part = scan.staged[first:first + PART]
        entries = ledger.outcomes(FLOW, TARGET, part)
        for place, sid in enumerate(part, first):
            entry = entries.get(sid)
            if not is_accounted(entry, ledger.lease_seconds):
                scan.unaccounted.append(sid)
            elif entry.state == "posted" and not entry.cancelled and entry.target_id:
                day = _day(entry.detail.get("date"))
                scan.posted.append(((day.toordinal() if day else _UNDATED) << _PLACE_BITS) | place)
    return scan


def posted_orders(ledger: SyncLedger, ids: Sequence[str], totals: Mapping[str, Decimal | None]) -> list[PostedOrder]:
    """These orders as their ledger entries say they are live in Tally (posted, not cancelled)."""
    out = []
    for sid, entry in ledger.outcomes(FLOW, TARGET, ids).items():
        if entry.state != "posted" or entry.cancelled or not entry.target_id:
            continue
        out.append(PostedOrder(sid, str(entry.detail.get("order_number", "")), entry.target_id, entry.external_key,
                               _day(entry.detail.get("date")), totals.get(sid)))
    return out


def _day(value: object) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def read_back(tally: TallyClient, voucher_type: str, posted: Sequence[PostedOrder]) -> dict[str, VoucherAmounts]:
    """One export spanning the posted vouchers' dates; each found by MasterId, else by its marker."""
    if not posted:
        return {}
    days = [p.day for p in posted if p.day is not None]
    records = tally.list_voucher_amounts(voucher_type, min(days, default=None), max(days, default=None))
    by_mid = {str(r.master_id): r for r in records}
    by_key: dict[str, VoucherAmounts] = {}
    for record in records:
        for key in MARKER_RE.findall(record.narration or ""):
            by_key.setdefault(key, record)
    return {p.order_id: rec for p in posted if (rec := by_mid.get(p.master_id) or by_key.get(p.key)) is not None}


def voucher_mismatches(posted: Sequence[PostedOrder], found: Mapping[str, VoucherAmounts], *,
                       inward: bool) -> list[dict[str, str]]:
    """One row per posted order whose voucher in Tally is missing, cancelled, unbalanced or off its total."""
    rows = []
    for order in posted:
        problem, seen = _problem(order, found.get(order.order_id), inward)
        if problem:
            rows.append({"order_number": order.order_number, "order_id": order.order_id,
                         "master_id": order.master_id, "expected": str(order.total), "found": seen,
                         "problem": problem})
    return rows


def _problem(order: PostedOrder, record: VoucherAmounts | None, inward: bool) -> tuple[str, str]:
    if record is None:
        return "not in Tally (deleted, or its date moved out of the run's range)", ""
    if record.is_cancelled:
        return "cancelled in Tally", ""
    party = party_total(record, inward)
    seen = "" if party is None else str(party)
    balance = voucher_balance(record)
    if balance != 0:
        return f"does not net to zero ({balance})", seen
    if party is None:
        return "has no party ledger line", seen
    if order.total is not None and party != order.total:
        return "party amount differs from the order total", seen
    if str(record.master_id) != order.master_id:
        return f"found by its marker under MasterId {record.master_id}, not the ledger's", seen
    return "", seen


def party_total(record: VoucherAmounts, inward: bool) -> Decimal | None:
    """The order total a voucher carries: its party line, debited (outward) or credited (inward)."""
    lines = [amount for _, amount, is_party in record.ledger_lines if is_party]
    lines = lines or [amount for name, amount, _ in record.ledger_lines if name == record.party_ledger]
    if not lines:
        return None
    amount = sum(lines, Decimal(0))
    return amount if inward else -amount


def voucher_balance(record: VoucherAmounts) -> Decimal:
    return sum((amount for _, amount, _ in record.ledger_lines), Decimal(0)) + record.inventory_amount


PART = 2000  # ledger entries read per pass step: memory stays flat


def is_accounted(entry: Entry | None, lease_seconds: float) -> bool:
    """Whether a ledger entry says what became of its record: posted, skipped, waiting, or failed with why."""
    if entry is None:
        return False
    if entry.state == "pending":
        return owner_alive(entry.owner, entry.claimed_at, lease_seconds)  # still in flight in a live run
    return entry.state != "failed" or bool(entry.last_error)

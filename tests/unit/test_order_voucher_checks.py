"""The voucher check's pure parts: an order's total to the cent, and what a voucher read back with its
amounts only says about its order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from connectors.tally.models import VoucherAmounts
from pipelines.shipstation_tally import checks
from pipelines.shipstation_tally.checks import PostedOrder
from pipelines.shipstation_tally.posting import FLOW, TARGET, OrderTotals, staged_total
from state.ledger import Candidate, SyncLedger

DAY = date(2026, 4, 2)


def voucher(lines, stock="0", *, party="Asha", master_id=7, cancelled=False) -> VoucherAmounts:
    return VoucherAmounts(master_id=master_id, alter_id=1, voucher_type="Sales Order", date=DAY, party_ledger=party,
                          is_cancelled=cancelled, inventory_amount=Decimal(stock),
                          ledger_lines=tuple((name, Decimal(amount), is_party) for name, amount, is_party in lines))


def order(total="354.00", master_id="7") -> PostedOrder:
    return PostedOrder("1", "SO-1", master_id, "ss-order-1", DAY, Decimal(total))


def problems(record, posted=None, inward=False):
    posted = posted or order()
    return checks.voucher_mismatches([posted], {} if record is None else {posted.order_id: record}, inward=inward)


def test_an_order_total_counts_to_the_cent_and_junk_reads_as_absent() -> None:
    assert [staged_total(v) for v in (10.5, "7", 0.125, None, "junk", "1E+2")] == [
        Decimal("10.50"), Decimal("7.00"), Decimal("0.13"), None, None, Decimal("100.00")]


def test_a_total_that_is_not_a_finite_number_reads_as_absent_and_the_run_keeps_it() -> None:
    """A hostile orderTotal ("NaN", "Infinity", 1e400) is no total: noting it must not stop the run."""
    totals = OrderTotals()
    for sid, value in (("1", "NaN"), ("2", "-Infinity"), ("3", "sNaN"), ("4", "1E+400000000")):
        assert staged_total(value) is None
        totals.note(sid, staged_total(value))
    assert dict(totals) == {"1": None, "2": None, "3": None, "4": None}


def test_a_voucher_matching_its_order_passes_and_each_departure_is_named() -> None:
    good = [("Asha", "-354.00", True), ("Sales", "350.00", False), ("Shipping", "4.00", False)]
    assert problems(voucher(good)) == []
    stocked = [("Asha", "-354.00", True), ("Shipping", "4.00", False)]  # the items carry the other 350
    assert problems(voucher(stocked, stock="350.00")) == []
    assert "does not net to zero (-350.00)" in problems(voucher(stocked))[0]["problem"]
    assert "not in Tally" in problems(None)[0]["problem"]
    assert problems(voucher(good, cancelled=True))[0]["problem"] == "cancelled in Tally"
    [row] = problems(voucher(good), order(total="300.00"))
    assert row["problem"] == "party amount differs from the order total" and row["found"] == "354.00"
    assert "does not net to zero (1.00)" in problems(voucher(good[:2] + [("Shipping", "5.00", False)]))[0]["problem"]
    assert "under MasterId 7" in problems(voucher(good), order(master_id="9"))[0]["problem"]


def test_the_party_is_the_flagged_line_else_the_party_ledger_and_inward_flips_the_sign() -> None:
    unflagged = [("Asha", "-354.00", False), ("Sales", "354.00", False)]
    assert checks.party_total(voucher(unflagged), inward=False) == Decimal("354.00")
    assert checks.party_total(voucher(unflagged), inward=True) == Decimal("-354.00")
    assert checks.party_total(voucher(unflagged, party="Someone else"), inward=False) is None
    assert problems(voucher(unflagged, party="Someone else"))[0]["problem"] == "has no party ledger line"


def test_order_totals_keep_every_cent_and_tell_absent_from_unknown() -> None:
    totals = OrderTotals()
    for sid, value in (("12", "354"), ("0012", "-1.5"), ("no-id:ab", None), ("99", "0.125")):
        totals.note(sid, staged_total(value))
    assert dict(totals) == {"12": Decimal("354.00"), "0012": Decimal("-1.50"), "no-id:ab": None,
                            "99": Decimal("0.13")}
    assert totals.get("13") is None and "13" not in totals and len(totals) == 4


def ledger_with(tmp_path, count: int) -> SyncLedger:
    """`count` orders: every 7th cancelled, every 11th failed with a reason, every 13th never claimed,
    the rest posted on one of 40 days."""
    ledger = SyncLedger(tmp_path / "ledger.sqlite")
    cands = [Candidate(str(i), f"ss-order-{i}", "h", detail={"order_number": f"SO-{i}",
                                                             "date": (DAY - timedelta(days=i % 40)).isoformat()})
             for i in range(count) if i % 13]
    ledger.claim(FLOW, TARGET, cands, "test")
    ledger.record_posted(FLOW, TARGET, [(c.source_id, f"M{c.source_id}", "h", int(c.source_id) % 7 == 0)
                                        for c in cands if int(c.source_id) % 11])
    ledger.record_failed(FLOW, TARGET, [(c.source_id, "refused", "{}") for c in cands if int(c.source_id) % 11 == 0])
    return ledger


def test_one_ledger_pass_finds_the_unaccounted_and_windows_the_live_vouchers_by_date(tmp_path) -> None:
    ledger = ledger_with(tmp_path, 12_000)
    scan = checks.scan_ledger(ledger, list(range(12_000)))
    assert scan.unaccounted == [str(i) for i in range(12_000) if i % 13 == 0]
    live = {str(i) for i in range(12_000) if i % 13 and i % 11 and i % 7}
    windows = [checks.posted_orders(ledger, [scan.staged[p & checks._PLACE_MASK] for p in packed], {"1": None})
               for packed in checks.windows(scan.posted, size=2000)]
    assert [len(w) for w in windows] == [2000] * (len(live) // 2000) + [len(live) % 2000]
    assert {p.order_id for w in windows for p in w} == live
    spans = [(min(p.day for p in w), max(p.day for p in w)) for w in windows]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # each export its own dates
    first = next(p for w in windows for p in w if p.order_id == "1")
    assert first == PostedOrder("1", "SO-1", "M1", "ss-order-1", DAY - timedelta(days=1), None)

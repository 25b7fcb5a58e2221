"""The voucher check's pure parts: an order's total to the cent, and what a voucher read back with its
amounts only says about its order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from connectors.tally.models import VoucherAmounts
from pipelines.shipstation_tally import checks
from pipelines.shipstation_tally.checks import PostedOrder
from pipelines.shipstation_tally.posting import staged_total

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


def test_windows_are_by_date_and_at_most_2000() -> None:
    posted = [PostedOrder(str(i), f"SO-{i}", str(i), f"k-{i}", DAY - timedelta(days=i % 40), None)
              for i in range(12_000)]
    sizes = [len(w) for w in checks.windows(posted)]
    assert sizes == [2000] * 6
    days = [max(p.day for p in w) for w in checks.windows(posted)]
    assert days == sorted(days)

"""Settlement coding and vouchers (pure): both layouts post exactly the payout; nothing uncoded is guessed."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.walmart.reports import ReconReport, SettlementLine, SettlementSummary
from pipelines.sides.errors import MappingError
from pipelines.walmart_tally import settlement as st
from pipelines.walmart_tally.settlement import SettlementLedgers, code_settlement, settlement_vouchers
from pipelines.walmart_tally.settlement_assets import spelled
from tests.unit.test_walmart_fakes import legacy_csv, v1_csv, zipped

LEDGERS = SettlementLedgers()
V1 = [("Sale", "Product Price", "19.99", "P1", "1", "A"), ("Sale", "Product tax", "1.60", "P1", "1", "A"),
      ("Sale", "Product tax withheld", "-1.60", "P1", "1", "A"), ("Sale", "Shipping Price", "4.99", "P1", "1", "A"),
      ("Sale", "Commission on Product", "-3.00", "P1", "1", "A"),
      ("Sale", "Product Price", "7.25", "P2", "1", "B"), ("Sale", "Commission on Product", "-0.58", "P2", "1", "B"),
      ("Refund", "Product Price", "-7.25", "P2", "1", "B"), ("Refund", "Commission on Product", "0.58", "P2", "1", "B"),
      ("Adjustment", "Fee/Reimbursement", "-5.40", "", "", "")]
PARTIES = {"P1": "Ana", "P2": "Walmart Marketplace"}


def bank_total(result: st.SettlementVouchers) -> Decimal:
    """What the vouchers put into the bank ledger (debits are negative in Tally's sign)."""
    vouchers = [v for _, v in result.receipts] + ([result.journal[1]] if result.journal else [])
    return -sum((e.amount for v in vouchers for e in v.ledger_entries if e.ledger_name == LEDGERS.bank), Decimal(0))


def book_of(content: bytes) -> tuple[st.SettlementBook, SettlementSummary]:
    report = ReconReport(io.BytesIO(zipped(content)))
    return code_settlement(report.lines(), LEDGERS), report.summary


def test_v1_settlement_posts_the_payout_with_bills_and_fees_apart() -> None:
    book, summary = book_of(v1_csv(V1))
    result = settlement_vouchers("06102024", book, summary, PARTIES, LEDGERS)
    assert bank_total(result) == summary.total_payable == Decimal("16.58") == result.posted_total
    (key, receipt), = result.receipts
    assert key == "wm-settle-06102024-r1" and receipt.date == date(2024, 6, 10)
    bills = {b.name: b.amount for e in receipt.ledger_entries for b in e.bill_allocations}
    assert bills == {"P1": Decimal("26.58")}  # P2 sold and refunded in one period: nothing left to settle
    journal = {e.ledger_name: e.amount for e in result.journal[1].ledger_entries}
    assert journal == {"Walmart Commission": Decimal("-3.00"), "Walmart Adjustments": Decimal("-5.40"),
                       "Output Tax": Decimal("-1.60"), "Walmart Payouts": Decimal("10.00")}


def test_legacy_layout_posts_the_same_payout() -> None:
    rows = [{"Walmart.com PO #": "P1", "Transaction Type": "SALE", "Gross Sales Revenue": "19.99",
             "Gross Shipping Revenue": "4.99", "Total NET Tax Collected": "1.60", "Tax Withheld": "-1.60",
             "Commission from Sale": "-3.00", "Payable to Partner from Sale": "21.98"},
            {"Transaction Type": "ADJMNT", "Adjustment Description": "Label", "Payable to Partner from Sale": "-5.40"}]
    book, summary = book_of(legacy_csv(rows))
    result = settlement_vouchers("06102024", book, summary, PARTIES, LEDGERS)
    assert bank_total(result) == summary.total_payable == Decimal("16.58")


def test_an_uncoded_type_holds_the_settlement_back_naming_it(tmp_path: Path) -> None:
    book, summary = book_of(v1_csv([*V1, ("Service Fee", "WFS Storage", "-2.00", "", "", ""),
                                     ("Sale", "Mystery Amount", "-0.10", "P1", "1", "A")]))
    with pytest.raises(MappingError) as held:
        settlement_vouchers("06102024", book, summary, PARTIES, LEDGERS)
    assert "Sale/Mystery Amount (1 line(s), -0.10)" in str(held.value)
    assert "Service Fee" not in str(held.value)  # coded by default to the fee ledger
    codes = tmp_path / "codes.csv"
    codes.write_text("transaction_type,amount_type,ledger\nSale,Mystery Amount,=fee\n")
    ledgers = SettlementLedgers(codes=st.read_settlement_codes(codes))
    report = ReconReport(io.BytesIO(v1_csv([*V1, ("Sale", "Mystery Amount", "-0.10", "P1", "1", "A")])))
    result = settlement_vouchers("06102024", code_settlement(report.lines(), ledgers), report.summary, PARTIES,
                                 ledgers)
    assert {e.ledger_name: e.amount for e in result.journal[1].ledger_entries}["Walmart Fees"] == Decimal("-0.10")


def test_a_csv_code_may_name_a_ledger_and_overrides_the_default(tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"
    codes.write_text("Adjustment,*,Walmart Label Fees\n")
    ledgers = SettlementLedgers(codes=st.read_settlement_codes(codes))
    assert ledgers.code("adjustment", "Fee/Reimbursement") == "Walmart Label Fees"
    assert ledgers.code("Sale", "Product Price") == "=party"
    codes.write_text("Sale,Product Price,=nonsense\n")
    with pytest.raises(ValueError, match="unknown role"):
        st.read_settlement_codes(codes)


def test_lines_that_do_not_add_up_to_the_deposit_hold_it_back() -> None:
    book, summary = book_of(v1_csv(V1, total="16.59"))
    with pytest.raises(MappingError, match="add up to 16.58 but the deposit is 16.59"):
        settlement_vouchers("06102024", book, summary, PARTIES, LEDGERS)


def test_a_sale_without_a_posted_sales_voucher_holds_it_back() -> None:
    book, summary = book_of(v1_csv(V1))
    with pytest.raises(MappingError, match="no Sales voucher posted for PO.s. P1"):
        settlement_vouchers("06102024", book, summary, {}, LEDGERS)


def test_many_bills_are_spread_over_receipts_that_still_add_up() -> None:
    lines = [SettlementLine(row=i, transaction_type="Sale", amount_type="Product Price", amount=Decimal("1.01"),
                            purchase_order_id=f"P{i:04d}") for i in range(st.RECEIPT_BILLS * 2 + 5)]
    book = code_settlement(lines, LEDGERS)
    summary = SettlementSummary(layout="v1", total_payable=Decimal("1.01") * len(lines))
    result = settlement_vouchers("20240610", book, summary, {f"P{i:04d}": "X" for i in range(len(lines))}, LEDGERS)
    assert len(result.receipts) == 3 and result.journal is None
    assert bank_total(result) == summary.total_payable and result.receipts[0][1].date == date(2024, 6, 10)


def test_report_dates_in_both_spellings() -> None:
    assert st.report_day("07012018") == date(2018, 7, 1) == st.report_day("20180701")


def test_a_date_asked_for_is_sent_as_walmart_spells_it() -> None:
    assert spelled(["20260402", "20260409"], "04022026") == "20260402"
    assert spelled(["04022026"], "04022026") == "04022026"
    assert spelled([], "04022026") == "04022026"

"""The Tally side's voucher builders: Tally's sign rule (reference §3) for every kind the product posts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.tally.settings import ACCOUNTING_VIEW
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.builders import (
    Charge,
    Header,
    JournalLine,
    StockLine,
    _named,
    credit_note,
    journal,
    order_voucher,
    receipt,
    sales_invoice,
)
from pipelines.sides.tally.skus import StockItemRef

WIDGET = StockItemRef("WIDGET-A", "Nos")
H = Header(record="order 1001", voucher_type="Sales", date=date(2025, 4, 16), narration="n [ext:x]",
           party="Acme Retail", number="INV-3001")


def line(qty: str = "3", rate: str = "100.00") -> StockLine:
    return StockLine(item=WIDGET, quantity=Decimal(qty), rate=Decimal(rate), godown="Main Location",
                     ledger="Sales Account")


def amounts(voucher) -> list[tuple[str, Decimal]]:
    return [(e.ledger_name, e.amount) for e in voucher.ledger_entries] + [
        (e.stock_item, e.amount) for e in voucher.inventory_entries]


def test_sales_invoice_matches_the_reference_sample():
    """§3.4: -354 + 300 + 27 + 27 = 0, the party's bill a New Ref named by the invoice number."""
    v = sales_invoice(H, [line()], [Charge("Output CGST 9%", Decimal(27)), Charge("Output SGST 9%", Decimal(27))],
                      credit_period="30 Days")
    assert amounts(v) == [("Acme Retail", Decimal("-354.00")), ("Output CGST 9%", Decimal("27.00")),
                          ("Output SGST 9%", Decimal("27.00")), ("WIDGET-A", Decimal("300.00"))]
    bill = v.ledger_entries[0].bill_allocations[0]
    assert (bill.name, bill.bill_type, bill.amount, bill.credit_period) == ("INV-3001", "New Ref",
                                                                           Decimal("-354.00"), "30 Days")
    assert v.is_invoice and v.balance() == 0


def test_credit_note_for_a_return_mirrors_the_signs():
    """§3.6: 118 - 100 - 9 - 9 = 0; stock comes back in, the party is credited against its invoice."""
    v = credit_note(H.__class__(**{**H.__dict__, "voucher_type": "Credit Note", "number": "CN-11"}), [line("1")],
                    [Charge("Output CGST 9%", Decimal(9)), Charge("Output SGST 9%", Decimal(9))], against="INV-3001")
    assert amounts(v) == [("Acme Retail", Decimal("118.00")), ("Output CGST 9%", Decimal("-9.00")),
                          ("Output SGST 9%", Decimal("-9.00")), ("WIDGET-A", Decimal("-100.00"))]
    assert v.ledger_entries[0].bill_allocations[0].bill_type == "Agst Ref"


def test_receipt_credits_the_party_and_debits_the_bank():
    """§3.5, accounting view."""
    v = receipt(H.__class__(**{**H.__dict__, "voucher_type": "Receipt"}), Decimal("354"), "HDFC Bank",
                against="INV-3001")
    assert amounts(v) == [("Acme Retail", Decimal("354.00")), ("HDFC Bank", Decimal("-354.00"))]
    assert v.view == ACCOUNTING_VIEW and v.ledger_entries[0].bill_allocations[0].amount == Decimal("354.00")


def test_a_journal_that_does_not_net_to_zero_names_the_record():
    fees = H.__class__(**{**H.__dict__, "voucher_type": "Journal", "record": "settlement 77"})
    ok = journal(fees, [JournalLine("Marketplace Fees", Decimal("-12.50")), JournalLine("Walmart", Decimal("12.50"))])
    assert ok.balance() == 0
    with pytest.raises(MappingError, match="settlement 77: voucher: .*does not balance"):
        journal(fees, [JournalLine("Marketplace Fees", Decimal("-12.50")), JournalLine("Walmart", Decimal("12.49"))])


def test_inward_order_voucher_mirrors_every_sign():
    out = order_voucher(H, [line()], [Charge("Shipping", Decimal(10)), Charge("Discount", Decimal(-5))])
    back = order_voucher(H, [line()], [Charge("Shipping", Decimal(10)), Charge("Discount", Decimal(-5))], inward=True)
    assert [a for _, a in amounts(back)] == [-a for _, a in amounts(out)]
    assert amounts(out)[0] == ("Acme Retail", Decimal("-305.00"))


@given(st.lists(st.tuples(st.integers(1, 50), st.decimals("0.01", "9999.99", places=2)), min_size=1, max_size=6),
       st.lists(st.decimals("-500", "500", places=2), max_size=4), st.booleans())
def test_every_inventory_voucher_nets_to_zero(lines, charges, inward):
    v = order_voucher(H, [line(str(q), str(r)) for q, r in lines],
                      [Charge(f"L{i}", c) for i, c in enumerate(charges)], inward=inward)
    assert v.balance() == 0


def test_a_refused_model_or_an_amount_out_of_range_is_a_mapping_error_naming_the_record():
    bad_party = H.__class__(**{**H.__dict__, "party": "Acme\x01 Retail"})
    with pytest.raises(MappingError) as refused:
        order_voucher(bad_party, [line()])
    assert (refused.value.record, refused.value.field) == ("order 1001", "voucher")
    assert str(refused.value).endswith("ledger_name holds a character XML cannot carry (a control character)")
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    with pytest.raises(MappingError) as huge:
        order_voucher(H, [line(qty="1E+30", rate="1E+30")])
    assert (huge.value.record, huge.value.field) == ("order 1001", "amount")
    assert "amount out of range (InvalidOperation)" in str(huge.value)
    with pytest.raises(KeyError), _named(H):  # anything else passes through untouched
        raise KeyError("x")

"""What the Walmart flow added to the shared Tally side: cost centres on income lines, receipts of many bills."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from lxml import etree

from connectors.tally.xml_build import voucher_element
from pipelines.sides.tally.builders import (
    BillPayment,
    Charge,
    Header,
    StockLine,
    payload_hash,
    receipt_of_bills,
    sales_invoice,
)
from pipelines.sides.tally.skus import StockItemRef

ITEM = StockItemRef("WIDGET-A", "Nos")
HEADER = Header(record="PO 1", voucher_type="Sales", date=date(2026, 4, 1), narration="n", party="Acme", number="1")


def sale(centre: str | None) -> object:
    return sales_invoice(HEADER, [StockLine(ITEM, Decimal(2), Decimal("10.00"), "Main", "Sales", cost_centre=centre)],
                         [Charge("Shipping", Decimal("4.99"), centre), Charge("Output Tax", Decimal("1.60"))])


def test_a_cost_centre_rides_on_the_income_lines_only() -> None:
    xml = etree.tostring(voucher_element(sale("NJ Warehouse"))).decode()
    root = etree.fromstring(xml)
    centres = root.findall(".//COSTCENTREALLOCATIONS.LIST")
    assert [(c.findtext("NAME"), c.findtext("AMOUNT")) for c in centres] == [
        ("NJ Warehouse", "20.00"), ("NJ Warehouse", "4.99")]
    assert root.find(".//ALLINVENTORYENTRIES.LIST/ACCOUNTINGALLOCATIONS.LIST/CATEGORYALLOCATIONS.LIST/CATEGORY"
                     ).text == "Primary Cost Category"
    party = [e for e in root.findall("LEDGERENTRIES.LIST") if e.findtext("ISPARTYLEDGER") == "Yes"][0]
    assert party.find("CATEGORYALLOCATIONS.LIST") is None


def test_a_voucher_without_cost_centres_keeps_the_hash_it_had_before_they_existed() -> None:
    voucher = sale(None)
    fields = {name: True for name in type(voucher).model_fields if name not in ("action", "master_id")}
    legacy = {**fields, "ledger_entries": {"__all__": {"ledger_name", "amount", "is_party", "bill_allocations"}},
              "inventory_entries": {"__all__": set(type(voucher.inventory_entries[0]).model_fields) - {"cost_centre"}}}
    before = voucher.model_dump_json(include=legacy)  # the fields a voucher had before cost centres
    assert payload_hash(voucher) == hashlib.sha256(before.encode()).hexdigest()
    assert payload_hash(sale("NJ Warehouse")) != payload_hash(voucher)


def test_a_receipt_of_many_bills_credits_each_party_against_its_bills() -> None:
    header = Header(record="settlement", voucher_type="Receipt", date=date(2026, 4, 2), narration="n", party="A")
    voucher = receipt_of_bills(header, [BillPayment("A", "PO-1", Decimal("10.00")),
                                        BillPayment("B", "PO-2", Decimal("5.50")),
                                        BillPayment("A", "PO-3", Decimal("-2.00"))], "Bank")
    lines = {e.ledger_name: e for e in voucher.ledger_entries}
    assert lines["A"].amount == Decimal("8.00") and [b.name for b in lines["A"].bill_allocations] == ["PO-1", "PO-3"]
    assert lines["B"].bill_allocations[0].bill_type == "Agst Ref"
    assert lines["Bank"].amount == Decimal("-13.50") and voucher.balance() == 0

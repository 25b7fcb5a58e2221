"""Pure mappings ShipStation -> Zoho Books: invoices add up to the order, contacts carry the email, journals balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from pipelines.shipstation_zoho import mapping
from pipelines.shipstation_zoho.mapping import InvoiceConfig, JournalConfig
from pipelines.sides.errors import MappingError
from pipelines.sides.zoho_books.journals import balance, reversal

CFG = InvoiceConfig(timezone="America/Los_Angeles")
JCFG = JournalConfig("acc-exp", "acc-clear", "America/Los_Angeles")


def order(**over) -> Order:
    raw = {"orderId": 101, "orderNumber": "WC-101", "orderKey": "k", "orderDate": "2026-03-01T23:30:00.0000000",
           "createDate": "2026-03-01T23:31:00.0000000", "modifyDate": "2026-03-01T23:31:00.0000000",
           "orderStatus": "awaiting_shipment", "customerEmail": "A.Rao@Example.com", "customerUsername": "arao",
           "billTo": {"name": "Asha Rao", "company": None, "street1": "1 Main St", "city": "Pune", "state": "MH",
                      "postalCode": "411001", "country": "IN", "phone": "555"},
           "items": [{"sku": "TEA-1", "name": "Tea", "quantity": 2, "unitPrice": Decimal("99.99")},
                     {"sku": "DISCOUNT", "name": "10% off", "quantity": 1, "unitPrice": Decimal("-20.55"),
                      "adjustment": True}],
           "orderTotal": Decimal("194.43"), "taxAmount": Decimal("5.00"), "shippingAmount": Decimal("10.00")}
    return Order.from_raw(raw | over)


def ids(line) -> str:
    return {"TEA-1": "item-tea", "COF-2": "item-cof"}[line.sku]


def test_an_invoice_adds_up_to_the_order_total_to_the_cent():
    body = mapping.order_to_invoice(order(), "cust-1", ids, CFG)
    assert mapping.invoice_total(body) == Decimal("194.43")
    assert body["reference_number"] == "ss-order-101" and body["customer_id"] == "cust-1"
    assert body["discount"] == Decimal("20.55") and body["shipping_charge"] == Decimal("10.00")
    assert body["adjustment"] == Decimal("5.00") and body["line_items"][0]["tax_id"] == ""
    assert [line["item_id"] for line in body["line_items"]] == ["item-tea"]
    assert body["date"] == "2026-03-01"  # the order's day in the organisation's time zone, not UTC's


def test_item_tax_mode_leaves_the_tax_to_zoho():
    body = mapping.order_to_invoice(order(), "cust-1", ids, InvoiceConfig(tax_mode="item"))
    assert body["adjustment"] == Decimal("0.00") and "tax_id" not in body["line_items"][0]


def test_an_order_whose_total_does_not_add_up_is_refused_naming_it():
    with pytest.raises(MappingError) as info:
        mapping.order_to_invoice(order(orderTotal=Decimal("194.44")), "c", ids, CFG)
    assert info.value.field == "orderTotal" and "WC-101" in info.value.record


def test_tracking_of_live_labels_goes_in_the_notes_and_the_custom_field():
    labels = [label(1, tracking="1Z999"), label(2, tracking="9400", voided=True)]
    body = mapping.order_to_invoice(order(), "c", ids, InvoiceConfig(tracking_field="cf_tracking",
                                                                     unique_field="cf_ss"), labels)
    assert "UPS 1Z999" in body["notes"] and "9400" not in body["notes"]
    assert {"api_name": "cf_tracking", "value": "UPS 1Z999"} in body["custom_fields"]
    assert {"api_name": "cf_ss", "value": "ss-order-101"} in body["custom_fields"]


def test_the_contact_carries_the_email_on_its_primary_person_and_the_billing_address():
    body = mapping.contact_body(order())
    assert body["contact_name"] == "Asha Rao" and body["contact_type"] == "customer"
    person = body["contact_persons"][0]
    assert person["email"] == "a.rao@example.com" and person["is_primary_contact"]
    assert body["billing_address"]["city"] == "Pune" and body["billing_address"]["zip"] == "411001"


def test_an_order_without_email_cannot_be_matched():
    with pytest.raises(MappingError) as info:
        mapping.contact_email(order(customerEmail=None))
    assert info.value.field == "customerEmail"


def test_only_email_and_name_decide_whether_a_contact_changed():
    a = mapping.contact_body(order())
    b = mapping.contact_body(order(billTo={"name": "Asha Rao", "city": "Mumbai"}))
    c = mapping.contact_body(order(billTo={"name": "Asha R.", "city": "Pune"}))
    assert mapping.contact_hash(a) == mapping.contact_hash(b) != mapping.contact_hash(c)


def label(sid: int, *, cost: str = "7.50", insurance: str = "0", tracking: str = "1Z", voided: bool = False,
          created: str = "2026-03-02T10:00:00.0000000") -> Shipment:
    return Shipment.from_raw({"shipmentId": sid, "orderId": 101, "orderNumber": "WC-101", "createDate": created,
                              "shipDate": "2026-03-02", "shipmentCost": Decimal(cost),
                              "insuranceCost": Decimal(insurance), "trackingNumber": tracking, "carrierCode": "ups",
                              "voided": voided, "voidDate": "2026-03-03T09:00:00.0000000" if voided else None})


def test_a_label_journal_debits_expense_credits_clearing_and_balances():
    body = mapping.label_journal(label(5, cost="7.50", insurance="1.25"), JCFG)
    assert balance(body) == 0 and body["reference_number"] == "ss-label-5"
    sides = {(x["account_id"], x["debit_or_credit"]): x["amount"] for x in body["line_items"]}
    assert sides == {("acc-exp", "debit"): Decimal("8.75"), ("acc-clear", "credit"): Decimal("8.75")}


def test_a_free_label_is_not_booked():
    with pytest.raises(MappingError):
        mapping.label_journal(label(6, cost="0"), JCFG)


def test_a_reversal_flips_every_line():
    original = mapping.label_journal(label(5), JCFG)
    back = reversal(original, "ss-label-5-void", "2026-03-03")
    assert balance(back) == 0 and back["journal_date"] == "2026-03-03"
    assert [x["debit_or_credit"] for x in back["line_items"]] == ["credit", "debit"]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)


@given(st.lists(amounts, max_size=8), st.lists(amounts, max_size=8))
def test_a_day_journal_always_balances(created, voided):
    made = [label(i, cost=str(c)) for i, c in enumerate(created)]
    gone = [label(100 + i, cost=str(c), voided=True) for i, c in enumerate(voided)]
    body = mapping.day_journal(date(2026, 3, 2), made, gone, JCFG)
    if not made and not gone:
        assert body is None
        return
    assert balance(body) == 0
    booked = sum((x["amount"] for x in body["line_items"] if x["account_id"] == "acc-exp"
                  and x["debit_or_credit"] == "debit"), Decimal(0))
    assert booked == sum(created, Decimal(0))

"""ShipStation order -> Tally order voucher mapping (pure)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.shipstation.models import Order
from connectors.tally.codec import build_voucher_import
from pipelines.shipstation_tally.mapping import (
    MappingError,
    OrderVoucherConfig,
    SkuResolver,
    customer_ledger_name,
    order_to_voucher,
    payload_hash,
)

GOLDEN = Path(__file__).parent / "golden"

# The documented V1 order (ShipStation reference §8.1): 3 x 12.50 - 3.75 + 4.75 + 3.05 = 41.55.
REFERENCE_ORDER = {
    "orderId": 512340871, "orderNumber": "WM-108841552", "orderKey": "erp-SO-2024-00917",
    "orderDate": "2024-11-03T10:15:00.0000000", "createDate": "2024-11-03T10:17:42.5170000",
    "modifyDate": "2024-11-04T08:02:11.1030000", "orderStatus": "awaiting_shipment",
    "customerId": 88213007, "customerUsername": "walmart-cust-55120", "customerEmail": "a.rao@example.com",
    "billTo": {"name": "Anita Rao"}, "shipTo": {"name": "Anita Rao", "city": "Fremont", "country": "US"},
    "items": [
        {"orderItemId": 903311201, "lineItemKey": "1", "sku": "TEA-GRN-250", "name": "Green Tea 250g",
         "quantity": 3, "unitPrice": Decimal("12.5"), "adjustment": False},
        {"orderItemId": 903311202, "lineItemKey": "PROMO10", "sku": "DISCOUNT", "name": "10% off",
         "quantity": 1, "unitPrice": Decimal("-3.75"), "adjustment": True},
    ],
    "orderTotal": Decimal("41.55"), "amountPaid": Decimal("41.55"), "taxAmount": Decimal("3.05"),
    "shippingAmount": Decimal("4.75"), "advancedOptions": {"storeId": 77120},
}

CFG = OrderVoucherConfig()
SKUS = SkuResolver.build([("TEA-GRN-250", [], "Nos"), ("Green Coffee 1kg", ["COF-GRN-1K"], "Nos")])


def order(**changes) -> Order:
    raw = copy.deepcopy(REFERENCE_ORDER)
    raw.update(changes)
    return Order.from_raw(raw)


def amounts(voucher) -> dict[str, Decimal]:
    lines = {e.ledger_name: e.amount for e in voucher.ledger_entries}
    lines.update({f"item:{i.stock_item}": i.amount for i in voucher.inventory_entries})
    return lines


def test_reference_order_becomes_a_balanced_sales_order():
    voucher = order_to_voucher(order(), "Anita Rao", SKUS, CFG)
    assert voucher.voucher_type == "Sales Order"
    assert amounts(voucher) == {
        "Anita Rao": Decimal("-41.55"), "item:TEA-GRN-250": Decimal("37.50"),
        "Discount Allowed": Decimal("-3.75"), "Shipping Charges": Decimal("4.75"), "Output Tax": Decimal("3.05"),
    }
    assert voucher.balance() == 0
    [item] = voucher.inventory_entries
    assert (item.quantity, item.rate, item.unit, item.godown, item.accounting_ledger) == (
        Decimal(3), Decimal("12.5"), "Nos", "Main Location", "Sales")
    assert voucher.voucher_number == voucher.reference == "WM-108841552"
    assert "[ext:ss-order-512340871]" in voucher.narration
    assert voucher.ledger_entries[0].is_party


def test_voucher_date_is_the_order_date_in_india_across_the_financial_year():
    # 20:30 PDT on 31 March is 09:00 IST on 1 April: the voucher belongs to the new financial year.
    voucher = order_to_voucher(order(orderDate="2026-03-31T20:30:00.0000000"), "Anita Rao", SKUS, CFG)
    assert voucher.date == date(2026, 4, 1)
    # The reference order (10:15 PST on 3 Nov 2024, the DST fall-back day) is 23:45 IST the same day.
    assert order_to_voucher(order(), "Anita Rao", SKUS, CFG).date == date(2024, 11, 3)


def test_unknown_sku_names_the_order_and_the_line():
    bad = order(items=[{**REFERENCE_ORDER["items"][0], "sku": "NOPE-1"}], orderTotal=Decimal("45.30"))
    with pytest.raises(MappingError) as err:
        order_to_voucher(bad, "Anita Rao", SKUS, CFG)
    assert err.value.field == "items[0].sku"
    assert "WM-108841552" in str(err.value) and "NOPE-1" in str(err.value)


def test_sku_resolves_by_alias_and_by_mapping_file_first():
    assert SKUS.resolve("COF-GRN-1K").name == "Green Coffee 1kg"
    mapped = SkuResolver.build([("TEA-GRN-250", [], "Nos"), ("Loose Tea", [], "Kg")], {"TEA-GRN-250": "Loose Tea"})
    assert mapped.resolve("TEA-GRN-250").name == "Loose Tea"
    assert mapped.resolve("unknown") is None


def test_order_total_that_disagrees_with_its_lines_is_refused():
    with pytest.raises(MappingError) as err:
        order_to_voucher(order(orderTotal=Decimal("40.00")), "Anita Rao", SKUS, CFG)
    assert err.value.field == "orderTotal"


def test_inward_voucher_type_mirrors_every_sign():
    voucher = order_to_voucher(order(), "Anita Rao", SKUS, OrderVoucherConfig(voucher_type="Purchase Order"))
    assert amounts(voucher)["Anita Rao"] == Decimal("41.55")
    assert amounts(voucher)["item:TEA-GRN-250"] == Decimal("-37.50")
    assert voucher.balance() == 0


def test_party_is_the_bill_to_name_with_white_space_folded():
    assert customer_ledger_name(order(billTo={"name": "  Ram  &  Shyam Traders "})) == "Ram & Shyam Traders"
    assert customer_ledger_name(order(billTo={"name": None}, shipTo={"name": "राम कुमार"})) == "राम कुमार"


def test_hash_changes_with_content_not_with_the_action():
    voucher = order_to_voucher(order(), "Anita Rao", SKUS, CFG)
    assert payload_hash(voucher) == payload_hash(voucher.model_copy(update={"action": "Alter", "master_id": 7}))
    edited = order_to_voucher(order(shippingAmount=Decimal("5.75"), orderTotal=Decimal("42.55")),
                              "Anita Rao", SKUS, CFG)
    assert payload_hash(edited) != payload_hash(voucher)


def test_golden_sales_order_xml():
    voucher = order_to_voucher(order(), "Ram & Shyam <Traders>", SKUS, CFG)
    xml = build_voucher_import("Sharma & Sons Retail Pvt Ltd", [voucher])
    assert pretty(xml) == (GOLDEN / "sales_order_voucher.xml").read_text(encoding="utf-8")


def pretty(xml: str) -> str:
    return etree.tostring(etree.fromstring(xml.encode("utf-8")), pretty_print=True, encoding="unicode")


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
lines = st.lists(st.tuples(st.integers(1, 20), money), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(lines=lines, discounts=st.lists(money, max_size=2), shipping=money | st.just(Decimal(0)),
       tax=money | st.just(Decimal(0)), inward=st.booleans())
def test_every_voucher_nets_to_zero_and_equals_the_order_total(lines, discounts, shipping, tax, inward):
    items = [{"orderItemId": i, "sku": "TEA-GRN-250", "name": "Tea", "quantity": q, "unitPrice": p,
              "adjustment": False} for i, (q, p) in enumerate(lines)]
    items += [{"orderItemId": 100 + i, "sku": "DISCOUNT", "name": "promo", "quantity": 1, "unitPrice": -d,
               "adjustment": True} for i, d in enumerate(discounts)]
    total = sum(q * p for q, p in lines) - sum(discounts, Decimal(0)) + shipping + tax
    cfg = OrderVoucherConfig(voucher_type="Purchase Order" if inward else "Sales Order")
    voucher = order_to_voucher(order(items=items, orderTotal=total, shippingAmount=shipping, taxAmount=tax),
                               "Anita Rao", SKUS, cfg)
    assert voucher.balance() == 0
    party = next(e for e in voucher.ledger_entries if e.is_party)
    assert party.amount == (total if inward else -total)

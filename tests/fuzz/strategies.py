"""Hostile values and records for the fuzzers: what a marketplace, a warehouse or an attacker may send."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

NASTY_NAMES = ["A & B <Traders>", "O'Brien \"Quotes\"", "<script>alert(1)</script>", "]]><!--", "&amp;&lt;",
               "राम & श्याम", "\u202eevil", "Tab\there", "line\nbreak", "\x00nul\x01ctl\x1f", "\ufeffbom",
               "&#4; Not Applicable", "UDF:NAME", "😀" * 3, " padded ", "a" * 5000]

text = st.one_of(st.sampled_from(NASTY_NAMES), st.text(max_size=60),
                 st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
huge_text = st.integers(10_000, 200_000).map(lambda n: "x" * n)
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**7, max_value=10**7),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**9, max_value=10**9),  # many decimals
    st.sampled_from([Decimal("1E+30"), Decimal("-0.000000001"), Decimal("0.005"), Decimal("1e-30")]),
    st.sampled_from(["12.50", "1,234.00", "₹100", "", "  ", "NaN", "Infinity", "-0", "1e400", "0x10", "١٢٣"]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
)
quantities = st.one_of(st.integers(-5, 5), st.integers(-10**12, 10**12), st.sampled_from([0.5, 1.0, -1.5, "2", "two",
                                                                                           None, True, 10**40]))
wrong_types = st.one_of(st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.floats(), text, huge_text)
dates = st.one_of(st.sampled_from([
    "2026-03-14T09:30:00.0000000", "0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999", "2026-13-45T25:61:00",
    "2026-02-29T00:00:00", "1969-12-31T23:59:59", "2026-03-14", "yesterday", "", "2026-03-14T09:30:00+05:30",
    "2026-03-08T02:30:00.0000000",  # a Pacific wall-clock time that never happened (DST gap)
]), st.integers(-10**12, 10**12))


def valid_order(order_id: int = 1001, sku: str = "SKU-1") -> dict[str, Any]:
    """A well-formed V1 order as ShipStation sends it (reference §2.2)."""
    return {
        "orderId": order_id, "orderNumber": f"WC-{order_id}", "orderKey": f"key-{order_id}",
        "orderDate": "2026-03-14T09:30:00.0000000", "createDate": "2026-03-14T09:31:00.0000000",
        "modifyDate": "2026-03-14T09:32:00.0000000", "orderStatus": "awaiting_shipment",
        "customerEmail": "buyer@example.com", "billTo": {"name": "Asha & Co <Retail>"},
        "shipTo": {"name": "Asha", "country": "IN"},
        "items": [{"orderItemId": 1, "lineItemKey": "L1", "sku": sku, "name": "Widget", "quantity": 2,
                   "unitPrice": Decimal("100.00")},
                  {"orderItemId": 2, "lineItemKey": "L2", "sku": sku, "name": "Widget again", "quantity": 1,
                   "unitPrice": Decimal("50.00")}],
        "orderTotal": Decimal("280.00"), "amountPaid": Decimal("280.00"), "taxAmount": Decimal("20.00"),
        "shippingAmount": Decimal("10.00"), "advancedOptions": {"storeId": 77120},
    }


def valid_shipment(shipment_id: int = 9001, order_id: int = 1001) -> dict[str, Any]:
    """A well-formed V1 label of `valid_order` (reference §3.1)."""
    return {
        "shipmentId": shipment_id, "orderId": order_id, "orderKey": f"key-{order_id}", "orderNumber": f"WC-{order_id}",
        "createDate": "2026-03-15T10:00:00.0000000", "shipDate": "2026-03-15", "voided": False,
        "shipmentCost": Decimal("7.50"), "insuranceCost": Decimal("0"), "trackingNumber": "1Z999",
        "carrierCode": "fedex", "shipmentItems": [{"orderItemId": 1, "lineItemKey": "L1", "sku": "SKU-1",
                                                   "name": "Widget", "quantity": 2,
                                                   "unitPrice": Decimal("100.00")}],
    }


ORDER_FIELDS = ["orderId", "orderNumber", "orderDate", "createDate", "modifyDate", "orderStatus", "billTo", "shipTo",
                "items", "orderTotal", "taxAmount", "shippingAmount", "customerEmail", "advancedOptions"]
ITEM_FIELDS = ["orderItemId", "lineItemKey", "sku", "name", "quantity", "unitPrice", "adjustment"]
SHIPMENT_FIELDS = ["shipmentId", "orderId", "orderNumber", "createDate", "shipDate", "voided", "shipmentCost",
                   "trackingNumber", "carrierCode", "shipmentItems"]


def _value_for(field: str) -> st.SearchStrategy[Any]:
    if "Date" in field:
        return st.one_of(dates, wrong_types)
    if field in ("quantity",):
        return quantities
    if field in ("unitPrice", "orderTotal", "taxAmount", "shippingAmount", "shipmentCost"):
        return st.one_of(amounts, wrong_types)
    if field in ("billTo", "shipTo"):
        return st.one_of(st.fixed_dictionaries({"name": st.one_of(text, wrong_types)}), wrong_types)
    return st.one_of(text, wrong_types, st.integers(-10**20, 10**20))


@st.composite
def hostile(draw: st.DrawFn, base: dict[str, Any], fields: list[str], item_key: str, item_fields: list[str]) -> dict:
    """`base` with 1-4 fields removed or replaced by hostile values, at the top and in its lines."""
    record = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        if record.get(item_key) and isinstance(record[item_key], list) and draw(st.booleans()):
            line = record[item_key][draw(st.integers(0, len(record[item_key]) - 1))]
            target, field = line, draw(st.sampled_from(item_fields))
        else:
            target, field = record, draw(st.sampled_from(fields))
        if not isinstance(target, dict):
            continue
        if draw(st.integers(0, 4)) == 0:
            target.pop(field, None)
        else:
            target[field] = draw(_value_for(field))
    if draw(st.integers(0, 5)) == 0 and isinstance(record.get(item_key), list) and record[item_key]:
        record[item_key].append(copy.deepcopy(record[item_key][0]))  # a duplicate line id
    return record


def hostile_orders() -> st.SearchStrategy[dict]:
    return hostile(valid_order(), ORDER_FIELDS, "items", ITEM_FIELDS)


def hostile_shipments() -> st.SearchStrategy[dict]:
    return hostile(valid_shipment(), SHIPMENT_FIELDS, "shipmentItems", ITEM_FIELDS)

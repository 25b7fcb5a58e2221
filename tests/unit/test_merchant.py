"""The seeded merchant generator."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sandbox.merchant import Merchant, generate_merchant

PACIFIC = ZoneInfo("America/Los_Angeles")
INDIA = ZoneInfo("Asia/Kolkata")


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate_merchant(seed=7)


def test_same_seed_same_merchant_other_seed_other_merchant(merchant: Merchant) -> None:
    again = generate_merchant(seed=7)
    assert again == merchant
    other = generate_merchant(seed=8)
    assert [o["orderKey"] for o in other.orders] != [o["orderKey"] for o in merchant.orders]


def test_order_totals_are_exact(merchant: Merchant) -> None:
    for order in merchant.orders:
        lines = sum(line["quantity"] * line["unitPrice"] for line in order["items"])
        assert order["orderTotal"] == lines + order["shippingAmount"] + order["taxAmount"]
        for money in (order["orderTotal"], order["taxAmount"], order["shippingAmount"], order["amountPaid"]):
            assert isinstance(money, Decimal) and money.as_tuple().exponent == -2


def test_orders_look_like_a_real_shop() -> None:
    shop = generate_merchant(seed=3, n_orders=1500)
    goods = Counter(sum(not line["adjustment"] for line in o["items"]) for o in shop.orders)
    assert set(goods) == {1, 2, 3, 4, 5}
    discounted = [o for o in shop.orders if any(line["adjustment"] for line in o["items"])]
    assert 0.28 < len(discounted) / len(shop.orders) < 0.39
    for order in discounted:
        promo = [line for line in order["items"] if line["adjustment"]]
        assert len(promo) == 1 and promo[0]["sku"] == "DISCOUNT" and promo[0]["unitPrice"] < 0
    statuses = Counter(o["orderStatus"] for o in shop.orders)
    assert statuses.most_common(1)[0][0] == "awaiting_shipment"
    assert {"awaiting_payment", "on_hold", "cancelled"} <= set(statuses)
    assert statuses["cancelled"] < statuses["on_hold"] + statuses["awaiting_payment"]


def test_identity_and_dates_are_consistent(merchant: Merchant) -> None:
    orders = merchant.orders
    assert len({o["orderNumber"] for o in orders}) == len({o["orderKey"] for o in orders}) == len(orders) == 200
    by_id = sorted(orders, key=lambda o: o["orderId"])
    assert [o["createDate"] for o in by_id] == sorted(o["createDate"] for o in orders)
    for order in orders:
        assert order["orderDate"].utcoffset() == timedelta(0)
        assert order["orderDate"] <= order["createDate"] <= order["modifyDate"] < merchant.start
        assert merchant.start - order["orderDate"] <= timedelta(weeks=8)
        assert order["advancedOptions"]["storeId"] in {s["storeId"] for s in merchant.stores}


def test_fy_boundary_order_is_march_in_california_and_april_in_india(merchant: Merchant) -> None:
    order = merchant.order(merchant.special["fy_boundary"])
    local = order["orderDate"].astimezone(PACIFIC)
    assert local.replace(tzinfo=None) == datetime(2026, 3, 31, 20, 30)
    assert local.utcoffset() == timedelta(hours=-7)  # PDT
    assert order["orderDate"].astimezone(INDIA).replace(tzinfo=None) == datetime(2026, 4, 1, 9, 0)
    assert order["orderStatus"] == "awaiting_shipment"


def test_unknown_sku_is_sold_in_shipstation_but_missing_from_tally(merchant: Merchant) -> None:
    sku = merchant.unknown_sku
    assert sku in {p["sku"] for p in merchant.products}
    tally_names = {item["name"] for item in merchant.tally["stock_items"]}
    tally_aliases = {alias for item in merchant.tally["stock_items"] for alias in item["aliases"]}
    assert sku not in tally_names | tally_aliases
    holders = [o["orderNumber"] for o in merchant.orders if any(x["sku"] == sku for x in o["items"])]
    assert holders == [merchant.special["unknown_sku"]]


def test_every_other_sku_is_a_tally_stock_item(merchant: Merchant) -> None:
    items = merchant.tally["stock_items"]
    by_name = {item["name"] for item in items}
    by_alias = {alias: item["name"] for item in items for alias in item["aliases"]}
    products = {p["sku"]: p for p in merchant.products if p["sku"] != merchant.unknown_sku}
    alias_only = [sku for sku in products if sku not in by_name]
    assert all(by_alias[sku] == products[sku]["name"] for sku in alias_only)
    assert 0.02 < len(alias_only) / len(products) < 0.08
    assert len(items) == len(products) and len(by_name) == len(items)
    for item in items:
        assert isinstance(item["opening_qty"], Decimal) and isinstance(item["opening_rate"], Decimal)
        assert (item["parent"], item["unit"]) == ("Finished Goods", "Nos")


def test_tally_company_masters(merchant: Merchant) -> None:
    tally = merchant.tally
    assert (tally["company"], tally["books_from"]) == ("Sharma & Sons Retail Pvt Ltd", "2025-04-01")
    ledgers = {ledger["name"]: ledger["parent"] for ledger in tally["ledgers"]}
    assert {"Sales", "Shipping Charges", "Output Tax", "Discount Allowed"} <= set(ledgers)
    assert not {"Cash", "Profit & Loss A/c"} & set(ledgers)  # predefined in every new Tally company
    customers = [name for name, parent in ledgers.items() if parent == "Online Customers"]
    existing = merchant.order(merchant.special["existing_ledger_customer"])
    assert customers == [existing["billTo"]["name"]]
    assert {"Sales Order", "Sales", "Receipt", "Credit Note", "Journal"} <= set(tally["voucher_types"])


def test_awkward_customers_exist_and_place_orders(merchant: Merchant) -> None:
    names = {c["name"] for c in merchant.customers}
    assert {"Ram & Shyam Traders", "José Muñoz", "राम कुमार"} <= names
    assert any("<" in name for name in names)
    assert len(names) == len(merchant.customers)
    for customer in merchant.customers:
        assert customer["customerId"] and customer["customerUsername"] and "@" in customer["email"]
    assert merchant.order(merchant.special["awkward_customer"])["billTo"]["name"] == "Ram & Shyam Traders"
    assert merchant.order(merchant.special["devanagari_customer"])["shipTo"]["name"] == "राम कुमार"
    ids = {c["customerId"] for c in merchant.customers}
    assert {o["customerId"] for o in merchant.orders} == ids


def test_later_changes_edit_and_cancel_only_ordinary_open_orders(merchant: Merchant) -> None:
    assert Counter(c["kind"] for c in merchant.later_changes[0]).keys() == {"edit_line", "cancel"}
    touched = [c["orderNumber"] for batch in merchant.later_changes for c in batch]
    assert len(touched) == len(set(touched))
    assert not set(touched) & set(merchant.special.values())
    for change in (c for batch in merchant.later_changes for c in batch):
        order = merchant.order(change["orderNumber"])
        assert order["orderId"] == change["orderId"]
        assert order["orderStatus"] in {"awaiting_payment", "awaiting_shipment", "on_hold"}
        if change["kind"] == "edit_line":
            line = next(x for x in order["items"] if x["lineItemKey"] == change["lineItemKey"])
            assert not line["adjustment"]
            assert (line["quantity"], line["unitPrice"]) != (change["quantity"], change["unitPrice"])


def test_generation_scales() -> None:
    started = time.perf_counter()
    big = generate_merchant(seed=1, n_orders=20_000, n_customers=2_000, start=datetime(2026, 6, 1, tzinfo=UTC))
    assert time.perf_counter() - started < 15
    assert len(big.orders) == 20_000 and len({o["orderNumber"] for o in big.orders}) == 20_000
    assert len(big.customers) == 2_000

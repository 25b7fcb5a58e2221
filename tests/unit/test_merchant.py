"""The seeded merchant generator."""

from __future__ import annotations

import hashlib
import random
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
    assert again.shipments == merchant.shipments and len(merchant.shipments) > 20
    other = generate_merchant(seed=8)
    assert [o["orderKey"] for o in other.orders] != [o["orderKey"] for o in merchant.orders]
    assert [s["orderId"] for s in other.shipments] != [s["orderId"] for s in merchant.shipments]


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


def test_later_changes_touch_only_ordinary_orders_each_once(merchant: Merchant) -> None:
    assert Counter(c["kind"] for c in merchant.later_changes[0]).keys() == {"edit_line", "cancel"}
    assert all({"ship", "void"} <= {c["kind"] for c in batch} for batch in merchant.later_changes[1:])
    touched = [c["orderNumber"] for batch in merchant.later_changes for c in batch]
    assert len(touched) == len(set(touched))
    assert not set(touched) & set(merchant.special.values())
    labels = {s["shipmentId"]: s for s in merchant.shipments}
    for change in (c for batch in merchant.later_changes for c in batch):
        order = merchant.order(change["orderNumber"])
        assert order["orderId"] == change["orderId"]
        if change["kind"] == "void":
            label = labels[change["shipmentId"]]
            assert label["orderId"] == order["orderId"] and not label.get("voided")
            assert order["orderStatus"] == "shipped" and len(merchant.shipments_of(order["orderNumber"])) == 1
            continue
        assert order["orderStatus"] in {"awaiting_payment", "awaiting_shipment", "on_hold"}
        if change["kind"] == "ship":
            assert order["orderStatus"] == "awaiting_shipment" and not merchant.shipments_of(order["orderNumber"])
            keys = {line["lineItemKey"] for line in order["items"]}
            assert change["items"] is None or {i["lineItemKey"] for i in change["items"]} <= keys
        if change["kind"] == "edit_line":
            line = next(x for x in order["items"] if x["lineItemKey"] == change["lineItemKey"])
            assert not line["adjustment"]
            assert (line["quantity"], line["unitPrice"]) != (change["quantity"], change["unitPrice"])


# A digest of seed 7's orders, later changes and specials as generated before labels existed.
BEFORE_LABELS_SEED_7 = "a2c83ddcdf562c5dab2761120303117c75815bd6298567e24ccb8fa44e7260fd"


def _digest(merchant: Merchant) -> str:
    h = hashlib.sha256()
    for order in sorted(merchant.orders, key=lambda o: o["orderId"]):
        h.update(repr(sorted((k, repr(v)) for k, v in order.items())).encode())
    h.update(repr(merchant.later_changes).encode())
    h.update(repr(merchant.special).encode())
    return h.hexdigest()


def test_labels_leave_orders_as_they_were_except_shipping_fields(merchant: Merchant) -> None:
    plain = generate_merchant(seed=7, ship_share=0)
    assert _digest(plain) == BEFORE_LABELS_SEED_7 and plain.shipments == []
    changed = [(a, b) for a, b in zip(plain.orders, merchant.orders, strict=True) if a != b]
    shipped = {s["orderId"] for s in merchant.shipments}
    assert {b["orderId"] for _, b in changed} == shipped
    for before, after in changed:
        assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} <= {
            "orderStatus", "shipDate", "modifyDate"}
        assert before["orderStatus"] == "awaiting_shipment" and after["modifyDate"] > before["modifyDate"]
    assert merchant.later_changes[0] == plain.later_changes[0]
    for mine, theirs in zip(merchant.later_changes[1:], plain.later_changes[1:], strict=True):
        assert mine[:len(theirs)] == theirs and {c["kind"] for c in mine[len(theirs):]} == {"ship", "void"}
    assert {k: v for k, v in merchant.special.items() if k in plain.special} == plain.special


def test_shipments_are_consistent_with_their_orders(merchant: Merchant) -> None:
    labels = merchant.shipments
    assert [s["shipmentId"] for s in labels] == sorted(s["shipmentId"] for s in labels)
    assert [s["createDate"] for s in labels] == sorted(s["createDate"] for s in labels)
    by_order: dict[int, list[dict]] = {}
    for label in labels:
        by_order.setdefault(label["orderId"], []).append(label)
    orders = {o["orderId"]: o for o in merchant.orders}
    eligible = [o for o in generate_merchant(seed=7, ship_share=0).orders if o["orderStatus"] == "awaiting_shipment"]
    assert 0.25 < len(by_order) / len(eligible) < 0.45
    for order_id, own in by_order.items():
        order = orders[order_id]
        active = [s for s in own if not s.get("voided")]
        events = [s["createDate"] for s in own] + [s["voidDate"] for s in own if s.get("voided")]
        assert order["createDate"] < own[0]["createDate"] and max(events) < merchant.start
        assert order["modifyDate"] == max(events)
        assert order["orderStatus"] == ("shipped" if active else "awaiting_shipment")
        assert order.get("shipDate") == (active[0]["shipDate"] if active else None)
        for label in own:
            assert label["shipDate"] == label["createDate"].astimezone(PACIFIC).date()
            assert (label["orderNumber"], label["orderKey"]) == (order["orderNumber"], order["orderKey"])
            assert isinstance(label["shipmentCost"], Decimal) and label["shipmentCost"] > 0
            assert label["shipTo"] is order["shipTo"] and label["shipmentItems"]
            assert not any(line["adjustment"] for line in label["shipmentItems"])
    assert any(len(own) >= 2 for own in by_order.values())


def test_label_specials(merchant: Merchant) -> None:
    def sent(name: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for label in merchant.shipments_of(merchant.special[name]):
            if not label.get("voided"):
                total.update({line["lineItemKey"]: line["quantity"] for line in label["shipmentItems"]})
        return total

    def ordered(name: str) -> Counter[str]:
        order = merchant.order(merchant.special[name])
        return Counter({line["lineItemKey"]: line["quantity"] for line in order["items"] if not line["adjustment"]})

    split = merchant.shipments_of(merchant.special["split_shipment"])
    assert len(split) >= 2 and sent("split_shipment") == ordered("split_shipment")
    assert all(sum(line["quantity"] for line in s["shipmentItems"]) < sum(ordered("split_shipment").values())
               for s in split)
    voided = merchant.shipments_of(merchant.special["voided_label"])
    assert [s.get("voided") for s in voided] == [True] and voided[0]["voidDate"] > voided[0]["createDate"]
    assert merchant.order(merchant.special["voided_label"])["orderStatus"] == "awaiting_shipment"
    replaced = merchant.shipments_of(merchant.special["replaced_label"])
    assert [s.get("voided") for s in replaced] == [True, False]
    assert replaced[0]["voidDate"] < replaced[1]["createDate"]
    over, wanted = sent("over_shipment"), ordered("over_shipment")
    assert any(over[key] > qty for key, qty in wanted.items())
    assert len(set(merchant.special.values())) == len(merchant.special) == 9


def test_new_orders_for_a_store_import(merchant: Merchant) -> None:
    now = merchant.start + timedelta(hours=5)
    made = merchant.new_orders(random.Random(1), 4, now=now, existing=merchant.orders)
    again = merchant.new_orders(random.Random(1), 4, now=now, existing=merchant.orders)
    assert made == again
    highest = max(int(o["orderNumber"][3:]) for o in merchant.orders if o["orderNumber"].startswith("WC-"))
    assert [o["orderNumber"] for o in made] == [f"WC-{highest + n}" for n in range(1, 5)]
    customers = {c["customerId"]: c for c in merchant.customers}
    skus = {p["sku"] for p in merchant.products if p["active"]} - {merchant.unknown_sku}
    for order in made:
        assert order["orderStatus"] == "awaiting_shipment" and order["advancedOptions"]["storeId"] == 310002
        assert "orderId" not in order and all("orderItemId" not in line for line in order["items"])
        assert order["orderDate"] < now and order["customerId"] in customers
        assert order["shipTo"]["name"] == customers[order["customerId"]]["name"]
        assert {line["sku"] for line in order["items"] if not line["adjustment"]} <= skus
        lines = sum(line["quantity"] * line["unitPrice"] for line in order["items"])
        assert order["orderTotal"] == lines + order["shippingAmount"] + order["taxAmount"]
    manual = merchant.new_orders(random.Random(1), 1, now=now, existing=merchant.orders, store_id=310001)
    assert manual[0]["orderNumber"].startswith("PH-") and manual[0]["advancedOptions"]["storeId"] == 310001


def test_generation_scales() -> None:
    started = time.perf_counter()
    big = generate_merchant(seed=1, n_orders=20_000, n_customers=2_000, start=datetime(2026, 6, 1, tzinfo=UTC))
    assert time.perf_counter() - started < 15
    assert len(big.orders) == 20_000 and len({o["orderNumber"] for o in big.orders}) == 20_000
    assert len(big.customers) == 2_000

"""The seeded merchant's Acumatica tenant: what it holds, and served over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx

from sandbox.merchant import generate_merchant
from sandbox.merchant_acumatica import (
    ACUMATICA_BRANCH,
    ACUMATICA_ENDPOINT_VERSION,
    ACUMATICA_PASSWORD,
    ACUMATICA_TENANT,
    ACUMATICA_USERNAME,
    acumatica_env,
    acumatica_state,
    generate_acumatica,
    start_acumatica,
)

MERCHANT = generate_merchant(seed=11, n_orders=120)


def test_the_tenant_is_deterministic_and_reuses_the_merchants_skus_and_customers() -> None:
    first, again = generate_acumatica(MERCHANT, seed=3), generate_acumatica(MERCHANT, seed=3)
    assert first == again
    skus = {p["sku"] for p in MERCHANT.products}
    assert {i["InventoryID"] for i in first.stock_items} == skus
    assert {c["CustomerName"] for c in first.customers} == {c["name"] for c in MERCHANT.customers}
    assert all(line["InventoryID"] in skus for order in first.sales_orders for line in order["Details"])
    assert {o["CustomerOrder"] for o in first.sales_orders} <= {o["orderNumber"] for o in MERCHANT.orders}


def test_orders_come_in_every_state_the_flow_must_tell_apart() -> None:
    state, tenant = acumatica_state(MERCHANT)
    statuses = {o["Status"] for o in state.all("SalesOrder")}
    assert {"Open", "On Hold", "Back Order", "Canceled", "Completed"} <= statuses
    ready = state.find("SalesOrder", ("SO", tenant.special["fulfilment_ready"]))
    assert ready["Status"] == "Open" and ready["Totals"]["UnpaidBalance"] == 0
    assert ready["Payments"][0]["Status"] == "Open" and ready["Payments"][0]["AppliedToOrder"] == ready["OrderTotal"]
    pending = state.find("SalesOrder", ("SO", tenant.special["awaiting_capture"]))
    assert pending["Totals"]["UnpaidBalance"] == pending["OrderTotal"] > 0
    assert state.find("SalesOrder", ("SO", tenant.special["unpaid_cod"]))["Payments"] == []
    assert all(o["CurrencyID"] == "INR" == o["BaseCurrencyID"] for o in state.all("SalesOrder"))


def test_exactly_one_item_weighs_nothing_and_a_ready_order_carries_it() -> None:
    state, tenant = acumatica_state(MERCHANT)
    weightless = [i["InventoryID"] for i in state.all("StockItem") if i["DimensionWeight"] == 0]
    assert weightless == [tenant.zero_weight_sku]
    order = state.find("SalesOrder", ("SO", tenant.special["zero_weight_order"]))
    assert tenant.zero_weight_sku in [d["InventoryID"] for d in order["Details"]]
    assert order["Status"] == "Open" and order["Totals"]["UnpaidBalance"] == Decimal(0)


def test_the_served_tenant_signs_in_with_the_sandbox_constants() -> None:
    served, state = start_acumatica(MERCHANT, n_orders=30)
    try:
        env = acumatica_env(served)
        with httpx.Client(base_url=env["ACUMATICA_URL"], timeout=20) as client:
            assert client.post("/entity/auth/login", json={
                "name": ACUMATICA_USERNAME, "password": ACUMATICA_PASSWORD, "tenant": ACUMATICA_TENANT,
                "branch": ACUMATICA_BRANCH}).status_code == 204
            ready = client.get(f"/entity/Default/{ACUMATICA_ENDPOINT_VERSION}/SalesOrder",
                               params={"$filter": "Status eq 'Open'", "$expand": "Payments"}).json()
            assert ready and len(ready) == sum(1 for o in state.all("SalesOrder") if o["Status"] == "Open")
            assert client.post("/entity/auth/logout").status_code == 204
    finally:
        served.stop()

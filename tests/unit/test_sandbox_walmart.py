"""The Walmart Marketplace simulator over real HTTP on loopback (no client code of ours).

Each test serves its own simulator; time moves only through the control plane's clock.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox.runner import ServedApp
from sandbox.walmart import Clock, ShipNode, WalmartState, create_app
from sandbox.walmart.builders import Buyer, LineSpec, order_doc
from sandbox.walmart.catalog import Item

CLIENT, SECRET = "test-client", "test-secret"
START = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
NODES = [ShipNode("10001234501", "NJ"), ShipNode("10001234502", "CA")]
BUYER = Buyer("Ram & Shyam <Traders>", "1 Main St", "Edison", "NJ", "08817", "7325550100", Decimal("0.0625"))


def seeded(n_orders: int = 5) -> WalmartState:
    """Three SKUs (TEA 10, MUG 3, CUP 0 at the first node) and `n_orders` one-line orders a day apart."""
    state = WalmartState(clock=Clock(lambda: START), ship_nodes=list(NODES))
    for n, (sku, price) in enumerate([("TEA", "12.50"), ("MUG", "19.99"), ("CUP", "4.00")]):
        state.items[sku] = Item(sku, f"{sku} product", Decimal(price), f"0089012{n:07d}", f"WPID{n}", "Tea", "[]")
        state.inventory[(sku, NODES[0].id)] = (10, 3, 0)[n]
    for n in range(n_orders):
        sku = ("TEA", "MUG")[n % 2]
        at = START - timedelta(days=n_orders - n, hours=1)
        doc = order_doc(state.next_id("po"), state.next_id("co"), at, BUYER,
                        [LineSpec(sku, f"{sku} product", state.items[sku].price, shipping=Decimal("5.99"))],
                        NODES[n % 2].doc(), "USD")
        state.add_order(doc, created=at)
    return state


class Walmart:
    """Plain HTTP against one served simulator."""

    def __init__(self, served: ServedApp) -> None:
        self.http = httpx.Client(base_url=served.base_url, timeout=10)
        self.token = ""

    def token_request(self, *, secret: str = SECRET, headers: dict[str, str] | None = None,
                      data: Any = None) -> httpx.Response:
        base = {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "Accept": "application/json"}
        return self.http.post("/v3/token", auth=(CLIENT, secret), headers={**base, **(headers or {})},
                               data=data if data is not None else {"grant_type": "client_credentials"})

    def login(self) -> Walmart:
        answer = self.token_request()
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        return self

    def headers(self, **extra: str) -> dict[str, str]:
        return {"WM_SEC.ACCESS_TOKEN": self.token, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "WM_SVC.NAME": "Walmart Marketplace", "Accept": "application/json", **extra}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers(**kwargs.pop("headers", {}))
        return self.http.request(method, path, headers=headers, **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.http.post(f"/__sandbox/{path}", json=body or {}) if body is not None or path != "stats" \
            else self.http.get("/__sandbox/stats")
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def walmart() -> Iterator[Any]:
    started: list[tuple[ServedApp, Walmart]] = []

    def start(state: WalmartState | None = None, **options: Any) -> Walmart:
        options.setdefault("rate_limits", False)
        served = ServedApp(create_app(state or seeded(), credentials={CLIENT: SECRET}, **options)).start()
        client = Walmart(served)
        started.append((served, client))
        return client

    yield start
    for served, client in started:
        client.http.close()
        served.stop()


def error_of(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    errors = answer.json()["errors"]
    assert len(errors) == 1 and {"code", "description", "severity", "category"} <= set(errors[0])
    return errors[0]


# --- token ----------------------------------------------------------------------------------------
def test_token_answers_the_documented_shape_and_refuses_bad_credentials(walmart: Any) -> None:
    api = walmart()
    body = api.token_request().json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and len(body["access_token"]) > 20
    assert error_of(api.token_request(secret="wrong"), 401)["code"] == "UNAUTHORIZED.GMP_GATEWAY_API"
    assert error_of(api.token_request(data={"grant_type": "password"}), 400)["field"] == "grant_type"
    missing = error_of(api.token_request(headers={"WM_SVC.NAME": ""}), 400)
    assert missing["code"] == "INVALID_REQUEST_HEADER.GMP_GATEWAY_API" and missing["field"] == "WM_SVC.NAME"
    as_json = api.http.post("/v3/token", auth=(CLIENT, SECRET), json={"grant_type": "client_credentials"},
                            headers={"WM_SVC.NAME": "x", "WM_QOS.CORRELATION_ID": "y", "Accept": "application/json"})
    assert as_json.status_code == 415
    stats = api.control("stats")
    assert stats["token_requests"] == 5 and stats["tokens_issued"] == 1


def test_a_token_expires_after_900_seconds_of_the_sandbox_clock(walmart: Any) -> None:
    state = WalmartState(clock=Clock(lambda: START))
    state.items["TEA"] = Item("TEA", "Tea", Decimal("1.00"), "00890120000001", "W1", "Tea", "[]")
    api = walmart(state).login()
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).status_code == 200
    api.control("clock/advance", {"seconds": 899})
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).status_code == 200
    api.control("clock/advance", {"seconds": 1})
    assert error_of(api.call("GET", "/v3/inventory", params={"sku": "TEA"}), 401)["code"] == \
        "UNAUTHORIZED.GMP_GATEWAY_API"
    api.login()
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).status_code == 200


# --- headers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "value", "status", "code"), [
    ("WM_QOS.CORRELATION_ID", None, 400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API"),
    ("WM_QOS.CORRELATION_ID", "", 400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API"),
    ("WM_SVC.NAME", None, 400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API"),
    ("WM_SEC.ACCESS_TOKEN", None, 401, "UNAUTHORIZED.GMP_GATEWAY_API"),
    ("WM_SEC.ACCESS_TOKEN", "not-a-token", 401, "UNAUTHORIZED.GMP_GATEWAY_API"),
    ("Accept", "text/html", 406, "INVALID_ACCEPT_TYPE.GMP_GATEWAY_API"),
    ("Accept", "*/*", 406, "INVALID_ACCEPT_TYPE.GMP_GATEWAY_API"),
])
def test_required_headers_are_enforced(walmart: Any, header: str, value: str | None, status: int, code: str) -> None:
    api = walmart().login()
    headers = api.headers()
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    assert error_of(api.http.get("/v3/orders", headers=headers), status)["code"] == code
    assert api.call("GET", "/v3/orders").status_code == 200


def test_a_request_without_accept_is_400(walmart: Any) -> None:
    api = walmart().login()
    request = api.http.build_request("GET", "/v3/orders", headers=api.headers())
    del request.headers["accept"]
    assert error_of(api.http.send(request), 400)["field"] == "Accept"


# --- rate limits and faults ------------------------------------------------------------------------
def test_per_endpoint_buckets_carry_both_headers_and_answer_429_when_empty(walmart: Any) -> None:
    api = walmart(rate_limits=True).login()
    api.control("rate-limits", {"limits": {"orders:read": {"capacity": 2, "per_seconds": 60}}})
    first, second, third = (api.call("GET", "/v3/orders") for _ in range(3))
    assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
    assert [r.headers["x-current-token-count"] for r in (first, second, third)] == ["1", "0", "0"]
    now_ms = int(START.timestamp() * 1000)
    replenish = int(third.headers["x-next-replenish-time"])
    assert now_ms < replenish <= now_ms + 30_000
    assert error_of(third, 429)["code"] == "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"
    other = api.call("GET", "/v3/inventory", params={"sku": "TEA"})  # another endpoint, its own bucket
    assert other.status_code == 200 and int(other.headers["x-current-token-count"]) > 100
    api.control("clock/advance", {"seconds": 30})
    assert api.call("GET", "/v3/orders").status_code == 200
    api.control("rate-limits", {"enabled": False})
    assert "x-current-token-count" not in api.call("GET", "/v3/orders").headers
    assert api.control("stats")["throttled"] == 1


def test_queued_faults_answer_once_for_their_endpoint(walmart: Any) -> None:
    api = walmart().login()
    api.control("faults", {"status": 503, "count": 1, "endpoint": "GET /v3/orders"})
    api.control("faults", {"status": 429, "count": 1, "endpoint": "PUT /v3/price"})
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).status_code == 200
    assert error_of(api.call("GET", "/v3/orders"), 503)["category"] == "SYSTEM"
    assert api.call("GET", "/v3/orders").status_code == 200
    price = {"sku": "TEA", "pricing": [{"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": 9}}]}
    assert api.call("PUT", "/v3/price", json=price).status_code == 429
    assert api.call("PUT", "/v3/price", json=price).status_code == 200


# --- orders ----------------------------------------------------------------------------------------
def orders_of(answer: httpx.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return answer.json()["list"]["elements"]["order"]


def test_orders_page_with_next_cursor_newest_first(walmart: Any) -> None:
    api = walmart(seeded(5)).login()
    first = api.call("GET", "/v3/orders", params={"limit": 2})
    meta = first.json()["list"]["meta"]
    assert meta["totalCount"] == 5 and meta["limit"] == 2 and meta["nextCursor"].startswith("?")
    assert "hasMoreElements=true" in meta["nextCursor"] and "poIndex=2" in meta["nextCursor"]
    seen = orders_of(first)
    cursor = meta["nextCursor"]
    while cursor:
        page = api.call("GET", "/v3/orders" + cursor).json()["list"]
        seen += page["elements"]["order"]
        cursor = page["meta"].get("nextCursor")
    dates = [o["orderDate"] for o in seen]
    assert len({o["purchaseOrderId"] for o in seen}) == 5 and dates == sorted(dates, reverse=True)
    as_param = api.call("GET", "/v3/orders", params={"nextCursor": meta["nextCursor"]})
    assert [o["purchaseOrderId"] for o in orders_of(as_param)] == [o["purchaseOrderId"] for o in seen[2:4]]


def test_order_shape_follows_the_reference(walmart: Any) -> None:
    api = walmart(seeded(1)).login()
    order = orders_of(api.call("GET", "/v3/orders"))[0]
    line = order["orderLines"]["orderLine"][0]
    assert isinstance(order["orderDate"], int) and order["shipNode"] == NODES[0].doc()
    assert order["shippingInfo"]["postalAddress"]["name"] == "Ram & Shyam <Traders>"
    product, shipping = line["charges"]["charge"]
    assert product["chargeType"] == "PRODUCT" and product["chargeAmount"] == {"currency": "USD", "amount": 12.5}
    assert product["tax"]["taxAmount"]["amount"] == 0.78 and shipping["chargeType"] == "SHIPPING"
    assert line["orderLineQuantity"] == {"unitOfMeasurement": "EACH", "amount": "1"}
    assert line["orderLineStatuses"]["orderLineStatus"][0]["status"] == "Created"
    assert "imageUrl" not in line["item"] and "orderType" not in order
    detailed = orders_of(api.call("GET", "/v3/orders", params={"productInfo": "true", "replacementInfo": "true"}))[0]
    assert "imageUrl" in detailed["orderLines"]["orderLine"][0]["item"] and detailed["orderType"] == "REGULAR"


def test_order_filters_and_their_refusals(walmart: Any) -> None:
    state = seeded(5)
    api = walmart(state).login()
    recent = api.call("GET", "/v3/orders", params={"createdStartDate": (START - timedelta(days=2)).date().isoformat()})
    assert len(orders_of(recent)) == 2
    iso = api.call("GET", "/v3/orders", params={"createdStartDate": "2026-03-31T00:00:00Z", "sku": "MUG"})
    assert {o["orderLines"]["orderLine"][0]["item"]["sku"] for o in orders_of(iso)} == {"MUG"}
    none = api.call("GET", "/v3/orders", params={"status": "Shipped"})
    assert error_of(none, 404)["code"] == "CONTENT_NOT_FOUND.GMP_ORDER_API"
    assert error_of(api.call("GET", "/v3/orders", params={"limit": 201}), 400)["field"] == "limit"
    assert error_of(api.call("GET", "/v3/orders", params={"createdStartDate": "1743465600000"}), 400)["field"] == \
        "createdStartDate"
    old = START - timedelta(days=8)
    state.add_order(order_doc("9990000000001", "9990000000002", old, BUYER, [LineSpec("TEA", "Tea", Decimal(1))],
                              NODES[0].doc(), "USD"), created=old)
    assert "9990000000001" not in {o["purchaseOrderId"] for o in orders_of(api.call("GET", "/v3/orders"))}


def test_acknowledge_cancel_and_release_move_line_statuses(walmart: Any) -> None:
    state = seeded(2)
    api = walmart(state).login()
    po = orders_of(api.call("GET", "/v3/orders/released"))[0]["purchaseOrderId"]
    acked = api.call("POST", f"/v3/orders/{po}/acknowledge").json()["order"]
    assert acked["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]["status"] == "Acknowledged"
    assert po not in {o["purchaseOrderId"] for o in orders_of(api.call("GET", "/v3/orders/released"))}
    cancel = {"orderCancellation": {"orderLines": {"orderLine": [{"lineNumber": "1", "orderLineStatuses": {
        "orderLineStatus": [{"status": "Cancelled", "cancellationReason": "SELLER_CANCEL_OUT_OF_STOCK",
                             "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"}}]}}]}}}
    bad = json.loads(json.dumps(cancel))
    bad["orderCancellation"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
        "cancellationReason"] = "BECAUSE"
    assert error_of(api.call("POST", f"/v3/orders/{po}/cancel", json=bad), 400)["field"] == "cancellationReason"
    done = api.call("POST", f"/v3/orders/{po}/cancel", json=cancel).json()["order"]
    status = done["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"]
    assert status == [{"status": "Cancelled", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"},
                       "cancellationReason": "SELLER_CANCEL_OUT_OF_STOCK"}]
    assert api.call("POST", f"/v3/orders/{po}/cancel", json=cancel).status_code == 400  # nothing left to cancel
    new = api.control("orders", {"lines": [{"sku": "CUP"}], "released": False})["purchaseOrderId"]
    assert error_of(api.call("GET", f"/v3/orders/{new}"), 404)["code"] == "CONTENT_NOT_FOUND.GMP_ORDER_API"
    api.control(f"orders/{new}/release")
    assert api.call("GET", f"/v3/orders/{new}").json()["order"]["purchaseOrderId"] == new


# --- returns ----------------------------------------------------------------------------------------
def test_returns_page_and_refund_statuses(walmart: Any) -> None:
    state = seeded(3)
    api = walmart(state).login()
    pos = [o["purchaseOrderId"] for o in orders_of(api.call("GET", "/v3/orders"))]
    for po in pos:
        api.control(f"orders/{po}/ship")
    rmas = [api.control("returns", {"purchaseOrderId": po, "lineNumbers": ["1"]})["returnOrderId"] for po in pos]
    first = api.call("GET", "/v3/returns", params={"limit": 2}).json()
    assert first["meta"]["totalCount"] == 3 and "offset=2" in first["meta"]["nextCursor"]
    rest = api.call("GET", "/v3/returns" + first["meta"]["nextCursor"]).json()
    assert "nextCursor" not in rest["meta"]
    assert {r["returnOrderId"] for r in first["returnOrders"] + rest["returnOrders"]} == set(rmas)
    api.control(f"returns/{rmas[0]}/refund")
    line = api.call("GET", "/v3/returns", params={"returnOrderId": rmas[0]}).json()["returnOrders"][0][
        "returnOrderLines"][0]
    assert line["currentRefundStatus"] == "REFUND_COMPLETED" and line["refundedQty"] == 1
    completed = api.call("GET", "/v3/returns", params={"status": "COMPLETED"}).json()
    assert [r["returnOrderId"] for r in completed["returnOrders"]] == [rmas[0]]


# --- inventory, prices, feeds ---------------------------------------------------------------------
def price_body(sku: str, amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {"sku": sku, "pricing": [{"currentPriceType": "BASE", "currentPrice": {"currency": currency,
                                                                                   "amount": amount}}]}


def test_single_inventory_and_price_updates(walmart: Any) -> None:
    api = walmart().login()
    put = api.call("PUT", "/v3/inventory", params={"sku": "MUG"},
                   json={"sku": "MUG", "quantity": {"unit": "EACH", "amount": 7}})
    assert put.json() == {"sku": "MUG", "quantity": {"unit": "EACH", "amount": 7}}
    assert api.call("GET", "/v3/inventory", params={"sku": "MUG"}).json()["quantity"]["amount"] == 7
    second = api.call("PUT", "/v3/inventory", params={"sku": "MUG", "shipNode": NODES[1].id},
                      json={"sku": "MUG", "quantity": {"unit": "EACH", "amount": 2}})
    assert second.status_code == 200
    nodes = api.call("GET", "/v3/inventories/MUG").json()["nodes"]
    assert [(n["shipNode"], n["inputQty"]["amount"]) for n in nodes] == [(NODES[0].id, 7), (NODES[1].id, 2)]
    assert error_of(api.call("GET", "/v3/inventory", params={"sku": "NOPE"}), 404)["code"] == \
        "CONTENT_NOT_FOUND.GMP_INVENTORY_API"
    negative = api.call("PUT", "/v3/inventory", params={"sku": "MUG"},
                        json={"sku": "MUG", "quantity": {"unit": "EACH", "amount": -1}})
    assert error_of(negative, 400)["field"] == "quantity.amount"
    ok = api.call("PUT", "/v3/price", json=price_body("TEA", 11.25)).json()["ItemPriceResponse"]
    assert ok["sku"] == "TEA" and "five minutes" in ok["message"]
    assert error_of(api.call("PUT", "/v3/price", json=price_body("TEA", 11, "INR")), 400)["field"] == \
        "currentPrice.currency"
    assert error_of(api.call("PUT", "/v3/price", json=price_body("TEA", 1.005)), 400)["field"] == "currentPrice.amount"
    assert api.http.get("/__sandbox/prices").json()["TEA"] == 11.25
    items = api.call("GET", "/v3/items", params={"limit": 2}).json()
    assert items["totalItems"] == 3 and [i["sku"] for i in items["ItemResponse"]] == ["CUP", "MUG"]
    rest = api.call("GET", "/v3/items", params={"nextCursor": items["nextCursor"]}).json()
    assert [i["sku"] for i in rest["ItemResponse"]] == ["TEA"] and rest["ItemResponse"][0]["price"]["amount"] == 11.25


def feed_status(api: Walmart, feed_id: str, **params: Any) -> dict[str, Any]:
    answer = api.call("GET", f"/v3/feeds/{quote(feed_id, safe='')}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_inventory_feed_is_processed_asynchronously_with_item_errors(walmart: Any) -> None:
    api = walmart().login()
    feed = {"InventoryHeader": {"version": "1.4"}, "Inventory": [
        {"sku": "TEA", "quantity": {"unit": "EACH", "amount": 42}},
        {"sku": "GHOST", "quantity": {"unit": "EACH", "amount": 1}},
        {"sku": "MUG", "quantity": {"unit": "EACH", "amount": 2.5}}]}
    files = {"file": ("inventory.json", json.dumps(feed).encode(), "application/json")}
    feed_id = api.call("POST", "/v3/feeds", params={"feedType": "inventory"}, files=files).json()["feedId"]
    assert "@" in feed_id
    assert feed_status(api, feed_id)["feedStatus"] == "RECEIVED"
    api.control("clock/advance", {"seconds": 1})
    running = feed_status(api, feed_id, includeDetails="true")
    assert running["feedStatus"] == "INPROGRESS" and running["itemsProcessing"] == 3
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).json()["quantity"]["amount"] == 10
    api.control("clock/advance", {"seconds": 2})
    done = feed_status(api, feed_id, includeDetails="true")
    assert (done["feedStatus"], done["itemsSucceeded"], done["itemsFailed"]) == ("PROCESSED", 1, 2)
    details = {d["sku"]: d for d in done["itemDetails"]["itemIngestionStatus"]}
    assert details["TEA"]["ingestionStatus"] == "SUCCESS"
    ghost = details["GHOST"]["ingestionErrors"]["ingestionError"][0]
    assert details["GHOST"]["ingestionStatus"] == "DATA_ERROR" and ghost["type"] == "DATA_ERROR" and "GHOST" in \
        ghost["description"]
    assert details["MUG"]["ingestionErrors"]["ingestionError"][0]["field"] == "quantity.amount"
    assert api.call("GET", "/v3/inventory", params={"sku": "TEA"}).json()["quantity"]["amount"] == 42
    assert api.call("GET", "/v3/inventory", params={"sku": "MUG"}).json()["quantity"]["amount"] == 3
    page = feed_status(api, feed_id, includeDetails="true", offset=1, limit=1)["itemDetails"]["itemIngestionStatus"]
    assert [d["index"] for d in page] == [1]
    listed = api.call("GET", "/v3/feeds").json()
    assert listed["results"]["feed"][0]["feedId"] == feed_id and listed["results"]["feed"][0]["itemsFailed"] == 2


def test_price_feed_as_json_body_and_forced_and_file_errors(walmart: Any) -> None:
    api = walmart().login()
    api.control("feeds/fail-skus", {"skus": ["MUG"]})
    feed = {"PriceHeader": {"version": "1.7"},
            "Price": [price_body("TEA", 13.0), price_body("CUP", 0), price_body("MUG", 21.0)]}
    feed_id = api.call("POST", "/v3/feeds", params={"feedType": "price"}, json=feed).json()["feedId"]
    broken = api.call("POST", "/v3/feeds", params={"feedType": "price"},
                      files={"file": ("p.json", b"{not json", "application/json")}).json()["feedId"]
    assert api.control("feeds/process", {})["finished"] == 2
    statuses = {d["sku"]: d["ingestionStatus"]
                for d in feed_status(api, feed_id, includeDetails="true")["itemDetails"]["itemIngestionStatus"]}
    assert statuses == {"TEA": "SUCCESS", "CUP": "DATA_ERROR", "MUG": "SYSTEM_ERROR"}
    assert feed_status(api, broken)["feedStatus"] == "ERROR"
    assert api.http.get("/__sandbox/prices").json() == {"CUP": 4, "MUG": 19.99, "TEA": 13}
    assert error_of(api.call("POST", "/v3/feeds", params={"feedType": "item"}, json=feed), 400)["field"] == "feedType"
    assert api.control("stats")["feeds_submitted"] == {"price": 2}


# --- reconciliation reports -------------------------------------------------------------------------
def recon_rows(api: Walmart, report_date: str, version: str | None) -> tuple[list[str], list[dict[str, str]]]:
    params = {"reportDate": report_date} | ({"reportVersion": version} if version else {})
    answer = api.call("GET", "/v3/report/reconreport/reconFile", params=params,
                      headers={"Accept": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def test_recon_files_in_both_layouts_pay_out_what_orders_and_returns_say(walmart: Any) -> None:
    state = seeded(4)
    api = walmart(state).login()
    orders = orders_of(api.call("GET", "/v3/orders"))
    for order in orders:
        api.control(f"orders/{order['purchaseOrderId']}/ship")
    rma = api.control("returns", {"purchaseOrderId": orders[0]["purchaseOrderId"], "lineNumbers": ["1"]})
    api.control(f"returns/{rma['returnOrderId']}/refund")
    adjustment = {"description": "Label fee", "code": "LABEL", "amount": "-5.40"}
    published = api.control("settlements", {"start": (START - timedelta(days=1)).isoformat(),
                                            "end": (START + timedelta(days=1)).isoformat(),
                                            "adjustments": [adjustment]})
    for version in (None, "v1"):
        dates = api.call("GET", "/v3/report/reconreport/availableReconFiles",
                         params={"reportVersion": version} if version else {}).json()
        assert dates == {"availableApReportDates": [published["reportDate"]]}

    header, v1 = recon_rows(api, published["reportDate"], "v1")
    assert {"Period Start Date", "Amount Type", "Transaction Key"} <= set(header) and "Walmart.com PO #" not in header
    summary, details = v1[0], v1[1:]
    assert summary["Transaction Type"] == "PaymentSummary"
    v1_total = sum(Decimal(r["Amount"]) for r in details)
    assert Decimal(summary["Total Payable"]) == v1_total == Decimal(str(published["total"]))
    legacy_header, legacy = recon_rows(api, published["reportDate"], None)
    assert "Walmart.com PO #" in legacy_header and "Amount Type" not in legacy_header
    assert sum(Decimal(r["Payable to Partner from Sale"]) for r in legacy) == v1_total
    assert {r["Transaction Type"] for r in legacy} == {"SALE", "REFUNDED", "ADJMNT"}

    # Independently of the report: sales = line charges, refund = the return's lines, commission at its rate.
    expected = Decimal("-5.40")
    for order in orders:
        for charge in order["orderLines"]["orderLine"][0]["charges"]["charge"]:
            expected += Decimal(str(charge["chargeAmount"]["amount"]))
    refund_line = api.call("GET", "/v3/returns").json()["returnOrders"][0]["returnOrderLines"][0]
    expected -= Decimal(str(refund_line["unitPrice"]["currencyAmount"]))
    for row in details:
        if row["Amount Type"] == "Commission on Product":
            price = next(Decimal(r["Amount"]) for r in details
                         if r["Transaction Key"] == row["Transaction Key"] and r["Amount Type"] == "Product Price")
            assert Decimal(row["Amount"]) == (-price * Decimal(row["Commission Rate"]) / 100).quantize(Decimal("0.01"))
            expected += Decimal(row["Amount"])
    assert v1_total == expected
    rows = api.call("GET", "/v3/report/reconreport/reconFileJson",
                    params={"reportDate": published["reportDate"], "offset": 0, "noOfRecords": 5}).json()
    assert rows["totalRecords"] == len(v1) and rows["nextOffset"] == 5 and len(rows["reportData"]) == 5
    missing = api.call("GET", "/v3/report/reconreport/reconFile", params={"reportDate": "01012020"},
                       headers={"Accept": "application/octet-stream"})
    assert error_of(missing, 404)["code"] == "CONTENT_NOT_FOUND.GMP_REPORT_API"


# --- the seeded merchant -----------------------------------------------------------------------------
def test_the_seeded_walmart_account(walmart: Any) -> None:
    from sandbox.merchant import generate_merchant
    from sandbox.merchant_walmart import generate_walmart

    merchant = generate_merchant(seed=3, n_orders=40)
    state, special = generate_walmart(merchant, seed=3, n_orders=20)
    api = walmart(state).login()
    orders, cursor = [], ""
    while True:
        page = api.call("GET", "/v3/orders" + (cursor or ""), params=None if cursor else {"limit": 200}).json()["list"]
        orders += page["elements"]["order"]
        cursor = page["meta"].get("nextCursor")
        if not cursor:
            break
    by_po = {o["purchaseOrderId"]: o for o in orders}
    assert special.unreleased not in by_po
    assert {o["shipNode"]["id"] for o in orders} == {"10001234501", "10001234502"}
    statuses = [s["status"] for line in by_po[special.cancelled_line]["orderLines"]["orderLine"]
                for s in line["orderLineStatuses"]["orderLineStatus"]]
    assert "Cancelled" in statuses and len(statuses) == 2
    unknown_lines = by_po[special.unknown_sku]["orderLines"]["orderLine"]
    assert merchant.unknown_sku in {line["item"]["sku"] for line in unknown_lines}
    assert api.call("GET", "/v3/items").json()["totalItems"] == len(merchant.products)
    returns = {r["returnOrderId"]: r for r in api.call("GET", "/v3/returns").json()["returnOrders"]}
    assert returns[special.refunded_return]["returnOrderLines"][0]["currentRefundStatus"] == "REFUND_COMPLETED"
    assert returns[special.open_return]["returnOrderLines"][0]["currentRefundStatus"] == "REFUND_INITIATED"
    _, v1 = recon_rows(api, special.report_date, "v1")
    _, legacy = recon_rows(api, special.report_date, None)
    assert Decimal(v1[0]["Total Payable"]) == sum(Decimal(r["Payable to Partner from Sale"]) for r in legacy) > 0
    assert {r["Transaction Type"] for r in v1[1:]} == {"Sale", "Refund", "Adjustment"}


def test_control_plane_seeds_items_and_orders_for_them(walmart: Any) -> None:
    api = walmart(WalmartState(clock=Clock(lambda: START), ship_nodes=list(NODES))).login()
    assert api.control("seed", {"items": [{"sku": "GHEE-1", "price": "8.25", "quantity": 4,
                                           "shipNode": NODES[1].id}]}) == {"items": 1}
    nodes = api.call("GET", "/v3/inventories/GHEE-1").json()["nodes"]
    assert [n["inputQty"]["amount"] for n in nodes] == [0, 4]
    po = api.control("orders", {"lines": [{"sku": "GHEE-1", "quantity": 2}], "shipNode": NODES[1].id})[
        "purchaseOrderId"]
    line = api.call("GET", f"/v3/orders/{po}").json()["order"]["orderLines"]["orderLine"][0]
    assert line["charges"]["charge"][0]["chargeAmount"]["amount"] == 16.5 and line["orderLineQuantity"]["amount"] == "2"
    api.control(f"orders/{po}/cancel-line", {"lineNumber": "1", "quantity": 1})
    statuses = api.call("GET", f"/v3/orders/{po}").json()["order"]["orderLines"]["orderLine"][0]["orderLineStatuses"]
    assert sorted((s["status"], s["statusQuantity"]["amount"]) for s in statuses["orderLineStatus"]) == [
        ("Cancelled", "1"), ("Created", "1")]
    bad = api.http.post("/__sandbox/faults", json={"status": 404})
    assert bad.status_code == 400


def test_the_seeded_walmart_account_is_the_same_for_the_same_seed() -> None:
    from sandbox.merchant import generate_merchant
    from sandbox.merchant_walmart import generate_walmart

    first, special = generate_walmart(generate_merchant(seed=5, n_orders=30), seed=5, n_orders=12)
    second, _ = generate_walmart(generate_merchant(seed=5, n_orders=30), seed=5, n_orders=12)
    assert [o.doc for o in first.orders.values()] == [o.doc for o in second.orders.values()]
    assert first.inventory == second.inventory
    assert first.settlements[special.report_date].csv_text("v1") == \
        second.settlements[special.report_date].csv_text("v1")

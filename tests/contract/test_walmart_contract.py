"""Contract: a Walmart client written by someone else, against the real API's documentation, works
against the simulator over real HTTP.

`OtherPeoplesWalmart` is plain httpx shaped like the public clients (mediocre/walmart-marketplace for
Node, fulfilio/python-walmart) and the docs: Basic auth form token request, `WM_SEC.ACCESS_TOKEN` plus
a fresh `WM_QOS.CORRELATION_ID` on every call, `nextCursor` either appended to the path (the docs) or
passed as a `nextCursor` parameter (mediocre), JSON feeds, ZIP'd CSV recon files read with `csv`.
Nothing here imports our connector; the simulator comes from `sandbox.merchant_walmart.start_walmart`.
"""

from __future__ import annotations

import base64
import csv
import io
import uuid
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox.merchant import generate_merchant
from sandbox.merchant_walmart import CLIENT_ID, CLIENT_SECRET, start_walmart
from sandbox.runner import ServedApp
from sandbox.walmart import WalmartState


class OtherPeoplesWalmart:
    """What a third party writes from developer.walmart.com: no knowledge of our connector."""

    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        self.url, self.client_id, self.client_secret = url, client_id, client_secret
        self.http = httpx.Client(timeout=10)
        self.access_token: str | None = None
        self.token_fetches = 0

    def get_access_token(self) -> str:
        if self.access_token is None:
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            response = self.http.post(f"{self.url}/v3/token", content="grant_type=client_credentials", headers={
                "Accept": "application/json", "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded", "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "WM_SVC.NAME": "Walmart Marketplace"})
            response.raise_for_status()
            self.access_token = response.json()["access_token"]
            self.token_fetches += 1
        return self.access_token

    def request(self, method: str, path: str, *, accept: str = "application/json", **kwargs: Any) -> httpx.Response:
        for _ in range(2):  # python-walmart re-authenticates once when the token is refused
            headers = {"Accept": accept, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                       "WM_SEC.ACCESS_TOKEN": self.get_access_token(), "WM_SVC.NAME": "Walmart Marketplace",
                       **kwargs.pop("headers", {})}
            response = self.http.request(method, f"{self.url}{path}", headers=headers, **kwargs)
            if response.status_code != 401:
                return response
            self.access_token = None
        return response

    def get_all_orders(self, *, cursor_as_param: bool, **filters: str) -> list[dict[str, Any]]:
        orders, cursor = [], None
        while True:
            if cursor and not cursor_as_param:
                response = self.request("GET", f"/v3/orders{cursor}")
            else:
                response = self.request("GET", "/v3/orders", params={**filters, **({"nextCursor": cursor} if cursor
                                                                                   else {})})
            if response.status_code == 404:  # python-walmart: no orders for the filters is a 404
                return orders
            response.raise_for_status()
            data = response.json()
            orders += data["list"]["elements"]["order"]
            cursor = data["list"]["meta"].get("nextCursor")
            if not cursor:
                return orders

    def acknowledge_order(self, purchase_order_id: str) -> dict[str, Any]:
        response = self.request("POST", f"/v3/orders/{purchase_order_id}/acknowledge",
                                headers={"Content-Type": "application/json"})
        response.raise_for_status()
        return response.json()

    def update_inventory(self, sku: str, amount: int) -> dict[str, Any]:
        response = self.request("PUT", "/v3/inventory", params={"sku": sku},
                                json={"sku": sku, "quantity": {"amount": amount, "unit": "EACH"}})
        response.raise_for_status()
        return response.json()

    def update_price(self, sku: str, amount: float) -> dict[str, Any]:
        response = self.request("PUT", "/v3/price", json={"sku": sku, "pricing": [
            {"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": amount}}]})
        response.raise_for_status()
        return response.json()

    def bulk_feed(self, feed_type: str, body: dict[str, Any]) -> str:
        response = self.request("POST", "/v3/feeds", params={"feedType": feed_type}, json=body)
        response.raise_for_status()
        return response.json()["feedId"]

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/v3/feeds/{quote(feed_id, safe='')}",
                                params={"includeDetails": "true", "offset": 0, "limit": 1000})
        response.raise_for_status()
        return response.json()

    def all_returns(self) -> list[dict[str, Any]]:
        rows, path = [], "/v3/returns?limit=10"
        while path:
            data = self.request("GET", path).json()
            rows += data["returnOrders"]
            path = "/v3/returns" + data["meta"]["nextCursor"] if data["meta"].get("nextCursor") else ""
        return rows

    def recon_report(self, version: str | None) -> list[dict[str, str]]:
        params = {"reportVersion": version} if version else {}
        dates = self.request("GET", "/v3/report/reconreport/availableReconFiles", params=params).json()
        latest = dates["availableApReportDates"][-1]
        response = self.request("GET", "/v3/report/reconreport/reconFile", params={"reportDate": latest, **params})
        response.raise_for_status()
        archive = zipfile.ZipFile(io.BytesIO(response.content), "r")
        return list(csv.DictReader(io.StringIO(archive.read(archive.infolist()[0]).decode("utf-8"))))


Sandbox = tuple[ServedApp, WalmartState]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    served, state = start_walmart(generate_merchant(seed=11, n_orders=40))
    yield served, state
    served.stop()


def control(sandbox: Sandbox, path: str, body: dict[str, Any] | None = None) -> Any:
    """The simulator's control plane (plays Walmart's side: time passing, feeds processed)."""
    answer = httpx.post(f"{sandbox[0].base_url}/__sandbox/{path}", json=body or {})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[OtherPeoplesWalmart]:
    walmart = OtherPeoplesWalmart(sandbox[0].base_url, CLIENT_ID, CLIENT_SECRET)
    yield walmart
    walmart.http.close()


def test_orders_page_alike_with_the_cursor_appended_or_as_a_parameter(client: OtherPeoplesWalmart) -> None:
    appended = client.get_all_orders(cursor_as_param=False, limit="7")
    as_param = client.get_all_orders(cursor_as_param=True, limit="7")
    assert len(appended) > 7 and [o["purchaseOrderId"] for o in appended] == [o["purchaseOrderId"] for o in as_param]
    assert client.get_all_orders(cursor_as_param=False, sku="NO-SUCH-SKU") == []
    assert client.token_fetches == 1


def test_acknowledge_a_released_order(client: OtherPeoplesWalmart) -> None:
    response = client.request("GET", "/v3/orders/released")
    po = response.json()["list"]["elements"]["order"][0]["purchaseOrderId"]
    assert int(response.headers["x-current-token-count"]) >= 0 and int(response.headers["x-next-replenish-time"]) > 0
    order = client.acknowledge_order(po)["order"]
    assert {s["status"] for line in order["orderLines"]["orderLine"]
            for s in line["orderLineStatuses"]["orderLineStatus"]} == {"Acknowledged"}


def test_single_and_bulk_inventory_and_price(client: OtherPeoplesWalmart, sandbox: Sandbox) -> None:
    items = client.request("GET", "/v3/items", params={"limit": 3}).json()["ItemResponse"]
    skus = [item["sku"] for item in items]
    assert client.update_inventory(skus[0], 17)["quantity"]["amount"] == 17
    assert client.update_price(skus[0], 4.49)["ItemPriceResponse"]["sku"] == skus[0]
    inventory = client.bulk_feed("inventory", {"InventoryHeader": {"version": "1.4"}, "Inventory": [
        {"sku": skus[1], "quantity": {"unit": "EACH", "amount": 5}},
        {"sku": "NOT-LISTED", "quantity": {"unit": "EACH", "amount": 5}}]})
    prices = client.bulk_feed("price", {"PriceHeader": {"version": "1.7"}, "Price": [
        {"sku": skus[2], "pricing": [{"currentPriceType": "BASE",
                                      "currentPrice": {"currency": "USD", "amount": 7.5}}]}]})
    control(sandbox, "feeds/process")  # the feeds' processing time, without waiting for it
    inventory_status, price_status = client.feed_status(inventory), client.feed_status(prices)
    assert (inventory_status["itemsSucceeded"], inventory_status["itemsFailed"]) == (1, 1)
    failed = [d for d in inventory_status["itemDetails"]["itemIngestionStatus"] if d["ingestionStatus"] != "SUCCESS"]
    assert failed[0]["sku"] == "NOT-LISTED" and failed[0]["ingestionErrors"]["ingestionError"]
    assert price_status["feedStatus"] == "PROCESSED" and price_status["itemsSucceeded"] == 1
    stock = client.request("GET", "/v3/inventory", params={"sku": skus[1]}).json()
    assert stock == {"sku": skus[1], "quantity": {"unit": "EACH", "amount": 5}}


def test_returns_and_both_recon_layouts(client: OtherPeoplesWalmart) -> None:
    returns = client.all_returns()
    assert {line["currentRefundStatus"] for r in returns for line in r["returnOrderLines"]} == {
        "REFUND_COMPLETED", "REFUND_INITIATED"}
    v1 = client.recon_report("v1")
    legacy = client.recon_report(None)
    summary = next(row for row in v1 if row["Transaction Type"] == "PaymentSummary")
    details = [row for row in v1 if row["Transaction Type"] != "PaymentSummary"]
    assert Decimal(summary["Total Payable"]) == sum(Decimal(row["Amount"]) for row in details)
    assert Decimal(summary["Total Payable"]) == sum(Decimal(row["Payable to Partner from Sale"]) for row in legacy)


def test_an_expired_token_is_refused_and_a_new_one_fetched(client: OtherPeoplesWalmart, sandbox: Sandbox) -> None:
    assert client.request("GET", "/v3/items", params={"limit": 1}).status_code == 200
    control(sandbox, "clock/advance", {"seconds": 901})
    assert client.request("GET", "/v3/items", params={"limit": 1}).status_code == 200
    assert client.token_fetches == 2

"""Hand-built Walmart replies (httpx.MockTransport) following the reference, shared by the Walmart tests.

Shapes from /work/shared/reference/walmart-marketplace.md: token §2, orders §7, returns §8, recon
files §9, errors §10. The flow tests use the Walmart simulator (sandbox/walmart) when it is there.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

from connectors.common.ratelimit import PerEndpointBuckets
from connectors.walmart.client import WalmartClient
from connectors.walmart.models import Order
from tests.unit.fakes import FakeClock

CLIENT_ID, CLIENT_SECRET = "wm-client-4d1e", "wm-secret-8b7f"
BASE = "https://marketplace.test"
EPOCH_MS = 1717000000000  # 2024-05-29T16:26:40Z


def order_json(po: str, lines: list[dict[str, Any]], *, node: str = "NODE-1", customer: str = "Ana Díaz & Co",
               order_date: int = EPOCH_MS) -> dict[str, Any]:
    return {"purchaseOrderId": po, "customerOrderId": f"C{po}", "customerEmailId": f"{po}@relay.walmart.com",
            "orderDate": order_date, "shipNode": {"type": "SellerFulfilled", "name": f"Node {node}", "id": node},
            "shippingInfo": {"phone": "5550001111", "methodCode": "Standard",
                             "postalAddress": {"name": customer, "address1": "1 Main St", "city": "Bentonville",
                                               "state": "AR", "postalCode": "72716", "country": "USA"}},
            "orderLines": {"orderLine": lines}}


def line_json(number: str, sku: str, qty: int, price: str, *, tax: str = "0.00", shipping: str | None = None,
              ship_tax: str = "0.00", status: str = "Acknowledged", status_date: int = EPOCH_MS) -> dict[str, Any]:
    charges = [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                "chargeAmount": {"currency": "USD", "amount": Decimal(price)},
                "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": Decimal(tax)}}}]
    if shipping is not None:
        charges.append({"chargeType": "SHIPPING", "chargeName": "Shipping",
                        "chargeAmount": {"currency": "USD", "amount": Decimal(shipping)},
                        "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": Decimal(ship_tax)}}})
    return {"lineNumber": number, "item": {"productName": f"Product {sku}", "sku": sku},
            "charges": {"charge": charges}, "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)},
            "statusDate": status_date,
            "orderLineStatuses": {"orderLineStatus": [{"status": status, "statusQuantity": {
                "unitOfMeasurement": "EACH", "amount": str(qty)}}]}}


def return_json(rma: str, po: str, line: str, sku: str, qty: int, product: str, tax: str,
                status: str = "REFUND_COMPLETED", customer_order: str | None = None) -> dict[str, Any]:
    return {"returnOrderId": rma, "customerOrderId": customer_order or f"C{po}",
            "customerName": {"firstName": "Ana", "lastName": "Díaz & Co"},
            "returnOrderDate": "2024-06-03T10:00:00.000Z",
            "totalRefundAmount": {"currencyAmount": Decimal(product) + Decimal(tax), "currencyUnit": "USD"},
            "returnOrderLines": [{"returnOrderLineNumber": "1", "purchaseOrderId": po, "purchaseOrderLineNumber": line,
                                  "item": {"sku": sku, "productName": f"Product {sku}"},
                                  "quantity": {"unitOfMeasure": "EACH", "measurementValue": qty},
                                  "chargeTotals": [
                                      {"name": "lineSubTotal", "value": {"currencyAmount": Decimal(product),
                                                                         "currencyUnit": "USD"}},
                                      {"name": "lineTotalTaxes", "value": {"currencyAmount": Decimal(tax),
                                                                           "currencyUnit": "USD"}}],
                                  "currentRefundStatus": status, "status": "COMPLETED"}]}


V1_HEADER = ["Period Start Date", "Period End Date", "Total Payable", "Currency", "Transaction Key",
             "Transaction Posted Timestamp", "Transaction Type", "Transaction Description", "Customer Order #",
             "Customer Order line #", "Purchase Order #", "Purchase Order line #", "Amount", "Amount Type",
             "Ship Qty", "Commission Rate", "Transaction Reason Description", "Partner Item Id", "Partner GTIN",
             "Partner Item Name", "Fulfillment Type"]
LEGACY_HEADER = ["Walmart.com Order #", "Walmart.com Order Line #", "Walmart.com PO #", "Walmart.com P.O. Line #",
                 "Partner Order #", "Transaction Type", "Transaction Date Time", "Shipped Qty", "Partner Item ID",
                 "Partner GTIN", "Total tender to / from customer", "Payable to Partner from Sale",
                 "Commission from Sale", "Commission Rate", "Gross Sales Revenue", "Refunded Retail Sales",
                 "Gross Shipping Revenue", "Gross Shipping Refunded", "Total NET Tax Collected", "Tax Withheld",
                 "Adjustment Description", "Adjustment Code", "Fulfillment Type"]

# (transaction type, amount type, amount, PO, PO line, sku)
Component = tuple[str, str, str, str, str, str]


def v1_csv(components: list[Component], *, total: str | None = None, preamble: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for i in range(preamble):
        writer.writerow([f"Walmart reconciliation report line {i}"])
    writer.writerow(V1_HEADER)
    payable = total if total is not None else str(sum(Decimal(c[2]) for c in components))
    for i, (kind, amount_type, amount, po, po_line, sku) in enumerate(components):
        writer.writerow(["05/27/2024", "06/09/2024", payable, "USD", f"TK{i}", "06/01/2024", kind, kind,
                         f"C{po}", po_line, po, po_line, amount, amount_type, "1", "15", "", sku,
                         '="00012345678905"', f"Product {sku}", "Seller Fulfilled"])
    writer.writerow(["05/27/2024", "06/09/2024", payable, "USD", "", "06/10/2024", "PaymentSummary",
                     "Deposited in account", "", "", "", "", "", "", "", "", "", "", "", "", ""])
    return out.getvalue().encode()


def legacy_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, LEGACY_HEADER, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def zipped(content: bytes, name: str = "10000001_20240610.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


class FakeWalmart:
    """Token endpoint + orders/returns/recon endpoints; checks every required header (§2)."""

    def __init__(self, *, orders: list[dict] | None = None, returns: list[dict] | None = None,
                 page: int = 200, token_delay: float = 0.0) -> None:
        self.orders, self.returns = orders or [], returns or []
        self.files: dict[tuple[str, str], bytes] = {}
        self.page = page
        self.token_delay = token_delay
        self.issued = 0
        self.valid: set[str] = set()
        self.token_requests: list[httpx.Request] = []
        self.requests: list[httpx.Request] = []
        self.acknowledged: list[str] = []
        self.correlation_ids: list[str | None] = []
        self.script: list[httpx.Response] = []  # canned replies served before the normal ones
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/token":
            return self._token(request)
        with self.lock:
            self.requests.append(request)
            self.correlation_ids.append(request.headers.get("WM_QOS.CORRELATION_ID"))  # a re-send is the same object
            if self.script:
                return self.script.pop(0)
        missing = [h for h in ("WM_SEC.ACCESS_TOKEN", "WM_QOS.CORRELATION_ID", "WM_SVC.NAME", "Accept")
                   if not request.headers.get(h)]
        if missing:
            return _errors(400, "MISSING_REQUEST_HEADER", missing[0], f"{missing[0]} is required")
        if request.headers["WM_SEC.ACCESS_TOKEN"] not in self.valid:
            return _errors(401, "UNAUTHORIZED", "", "Unauthorized")
        return self._route(request)

    def expire_tokens(self) -> None:
        self.valid.clear()

    def _token(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.token_delay)
        with self.lock:
            self.token_requests.append(request)
            self.issued += 1
            token = f"wm-token-{self.issued}"
            self.valid.add(token)
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": 900})

    def _route(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        headers = {"x-current-token-count": "100", "x-next-replenish-time": str(int(time.time() * 1000) + 60000)}
        if path == "/v3/orders":
            return json_response(200, self._page("list", self.orders, query), headers)
        if path.startswith("/v3/orders/") and path.endswith("/acknowledge"):
            po = path.split("/")[3]
            self.acknowledged.append(po)
            return httpx.Response(200, json={"order": {"purchaseOrderId": po}}, headers=headers)
        if path == "/v3/returns":
            return json_response(200, self._page("returns", self.returns, query), headers)
        if path == "/v3/report/reconreport/availableReconFiles":
            version = query.get("reportVersion", "legacy")
            return httpx.Response(200, json={"availableApReportDates": sorted(d for v, d in self.files
                                                                                if v == version)})
        if path == "/v3/report/reconreport/reconFile":
            key = (query.get("reportVersion", "legacy"), query.get("reportDate", ""))
            if key not in self.files:
                return _errors(404, "CONTENT_NOT_FOUND", "reportDate", "no report for that date")
            return httpx.Response(200, content=self.files[key], headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f"attachment; filename=10000001_{key[1]}.zip"})
        return _errors(404, "URI_NOT_FOUND", "", f"no such path {path}")

    def _page(self, kind: str, records: list[dict], query: dict[str, str]) -> dict:
        start = int(query.get("offset", "0"))
        limit = min(int(query.get("limit", "100")), self.page)
        chunk = records[start:start + limit]
        more = start + limit < len(records)
        cursor = f"?limit={limit}&hasMoreElements=true&offset={start + limit}" if more else None
        meta = {"totalCount": len(records), "limit": limit} | ({"nextCursor": cursor} if cursor else {})
        if kind == "list":
            return {"list": {"meta": meta, "elements": {"order": chunk}}}
        return {"meta": meta, "returnOrders": chunk}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """JSON with ``Decimal`` written as the exact number Walmart would send (§7: decimal JSON numbers)."""
    text = json.dumps(body, default=lambda d: f"__D{d}__" if isinstance(d, Decimal) else str(d))
    text = re.sub(r'"__D(-?[0-9.E+-]+)__"', r"\1", text)
    return httpx.Response(status, content=text.encode(), headers={"Content-Type": "application/json",
                                                                  **(headers or {})})


def _errors(status: int, code: str, field: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "field": field, "description": description,
                                                    "severity": "ERROR", "category": "REQUEST"}]})


def client_for(server: Callable[[httpx.Request], httpx.Response], clock: FakeClock | None = None,
               **kwargs: Any) -> WalmartClient:
    clock = clock or FakeClock()
    pacer = kwargs.pop("pacer", None) or PerEndpointBuckets(clock=clock, sleep=clock.sleep)
    return WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=BASE,
                         transport=httpx.MockTransport(server), clock=clock, sleep=clock.sleep, pacer=pacer,
                         rng=lambda: 0.0, **kwargs)


def test_the_fake_orders_parse() -> None:
    order = Order.from_raw(order_json("P1", [line_json("1", "SKU-1", 2, "10.00")]))
    assert order.lines[0].quantity == 2 and order.purchase_order_id == "P1"

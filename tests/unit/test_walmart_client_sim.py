"""The Walmart client against the Walmart simulator over real HTTP (sandbox/walmart): tokens, headers,
buckets, faults, cursors and reconciliation files as the simulator answers them from the reference."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.common.errors import AuthError
from connectors.common.ratelimit import PerEndpointBuckets
from connectors.walmart.client import WalmartClient
from connectors.walmart.reports import ReconReport
from sandbox.runner import ServedApp, serve
from sandbox.walmart import Limit, WalmartState, create_app

CLIENT_ID, CLIENT_SECRET = "sim-client", "sim-secret"


@pytest.fixture
def sim() -> Iterator[ServedApp]:
    served = serve(create_app(WalmartState(), credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=True,
                              limits={"orders:read": Limit(3, 3)}))
    control(served, "POST", "/seed", {"items": [{"sku": f"SKU-{n}", "price": "12.50", "quantity": 50}
                                                for n in range(3)]})
    try:
        yield served
    finally:
        served.stop()


def control(served: ServedApp, method: str, path: str, body: object = None) -> dict:
    answer = httpx.request(method, f"{served.base_url}/__sandbox{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()


def client(served: ServedApp, **kwargs) -> WalmartClient:
    return WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=served.base_url,
                         pacer=PerEndpointBuckets(), **kwargs)


def new_orders(served: ServedApp, count: int) -> list[str]:
    return [control(served, "POST", "/orders", {"lines": [{"sku": f"SKU-{n % 3}", "quantity": 1}]})["purchaseOrderId"]
            for n in range(count)]


def test_one_token_for_many_calls_and_a_new_one_after_revocation(sim: ServedApp) -> None:
    pos = new_orders(sim, 2)
    walmart = client(sim)
    for _ in range(12):
        walmart.get_order(pos[0])
    assert control(sim, "GET", "/stats")["tokens_issued"] == 1
    control(sim, "POST", "/tokens/revoke")
    assert walmart.get_order(pos[1]).purchase_order_id == pos[1]  # 401, one new token, re-sent
    assert control(sim, "GET", "/stats")["tokens_issued"] == 2


def test_an_expired_token_on_the_simulator_clock_is_refreshed_on_the_401(sim: ServedApp) -> None:
    (po,) = new_orders(sim, 1)
    walmart = client(sim)
    walmart.get_order(po)
    control(sim, "POST", "/clock/advance", {"seconds": 901})
    assert walmart.get_order(po).purchase_order_id == po
    assert control(sim, "GET", "/stats")["tokens_issued"] == 2


def test_orders_page_by_cursor_through_an_endpoint_bucket_of_three(sim: ServedApp) -> None:
    pos = new_orders(sim, 7)
    walmart = client(sim)
    start = datetime.now(UTC) - timedelta(days=1)
    got = [o.purchase_order_id for o in walmart.iter_orders(created_start=start, limit=2)]
    assert sorted(got) == sorted(pos)
    stats = control(sim, "GET", "/stats")
    assert stats["by_endpoint"]["GET /v3/orders"] >= 4  # four pages, and any 429 was waited out, not failed


def test_a_fault_is_retried_and_bad_credentials_are_an_auth_error(sim: ServedApp) -> None:
    (po,) = new_orders(sim, 1)
    control(sim, "POST", "/faults", {"status": 503, "count": 2, "endpoint": "GET /v3/orders/{purchaseOrderId}"})
    assert client(sim, sleep=lambda s: None).get_order(po).purchase_order_id == po
    bad = WalmartClient(client_id=CLIENT_ID, client_secret="wrong", base_url=sim.base_url)
    with pytest.raises(AuthError):
        bad.get_order(po)


def test_acknowledge_and_an_empty_order_list(sim: ServedApp) -> None:
    walmart = client(sim)
    assert list(walmart.iter_orders(created_start=datetime.now(UTC) - timedelta(days=1))) == []  # a 404 there
    (po,) = new_orders(sim, 1)
    walmart.acknowledge(po)
    statuses = {s.status for line in walmart.get_order(po).lines for s in line.statuses}
    assert statuses == {"Acknowledged"}


def test_a_settlement_file_in_both_layouts_pays_the_same(sim: ServedApp) -> None:
    pos = new_orders(sim, 3)
    for po in pos:
        control(sim, "POST", f"/orders/{po}/ship")
    now = datetime.now(UTC)
    published = control(sim, "POST", "/settlements", {
        "start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(minutes=5)).isoformat(),
        "adjustments": [{"description": "Label", "code": "SHIPPING_LABEL_FEE", "amount": "-5.40"}]})
    walmart = client(sim)
    totals = {}
    for version in ("v1", "legacy"):
        (report_date,) = walmart.available_recon_dates(version)
        buffer = io.BytesIO()
        walmart.download_recon_file(report_date, buffer, version=version)
        report = ReconReport(buffer, name=report_date)
        lines = list(report.lines())
        assert report.layout == version and {line.purchase_order_id for line in lines} >= set(pos)
        totals[version] = (report.summary.total_payable, report.summary.line_total)
    payout = Decimal(str(published["total"]))
    assert totals["v1"] == totals["legacy"] == (payout, payout)

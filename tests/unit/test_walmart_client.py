"""The Walmart client against hand-built replies that follow the reference (token, headers, errors, paging)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.common.auth import basic_token
from connectors.common.errors import AuthError, NotFound, RateLimited, ServerError
from connectors.walmart.errors import WalmartRequestError, parse_errors
from connectors.walmart.settings import WalmartSettings
from tests.unit.fakes import FakeClock
from tests.unit.test_walmart_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeWalmart,
    client_for,
    line_json,
    order_json,
    return_json,
)


def test_many_calls_within_the_token_life_make_one_token_request() -> None:
    server, clock = FakeWalmart(), FakeClock()
    client = client_for(server, clock)
    for _ in range(40):  # 40 calls over 800 s: inside 900 s minus the renewal margin
        client.request_json("GET", "/v3/orders", params={"limit": 1})
        clock.sleep(20)
    assert len(server.token_requests) == 1 and len(server.requests) == 40
    clock.sleep(20)  # 820 s: within the margin before expiry -> renewed early, before Walmart refuses it
    client.request_json("GET", "/v3/orders")
    assert len(server.token_requests) == 2
    assert server.requests[-1].headers["WM_SEC.ACCESS_TOKEN"] == "wm-token-2"


def test_a_401_refreshes_the_token_once_and_the_call_succeeds() -> None:
    server, clock = FakeWalmart(orders=[order_json("P1", [line_json("1", "A", 1, "5.00")])]), FakeClock()
    client = client_for(server, clock)
    client.request_json("GET", "/v3/orders")
    server.expire_tokens()  # revoked early (e.g. another environment): Walmart answers 401
    orders = list(client.iter_orders())
    assert [o.purchase_order_id for o in orders] == ["P1"]
    assert len(server.token_requests) == 2
    refused, resent = server.correlation_ids[-2:]
    assert refused and resent and refused != resent  # the re-sent request is a new request to Walmart


def test_concurrent_first_calls_share_one_token_request() -> None:
    server = FakeWalmart(token_delay=0.05)
    client = client_for(server)
    threads = [threading.Thread(target=client.request_json, args=("GET", "/v3/orders")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.requests) == 8 and len(server.token_requests) == 1


def test_every_call_carries_the_walmart_headers_and_a_fresh_correlation_id() -> None:
    server = FakeWalmart()
    client = client_for(server, svc_name="Walmart Marketplace")
    for _ in range(3):
        client.request_json("GET", "/v3/orders")
    token = server.token_requests[0]
    assert token.headers["Authorization"] == "Basic " + basic_token(CLIENT_ID, CLIENT_SECRET)
    assert parse_qs(token.content.decode()) == {"grant_type": ["client_credentials"]}
    assert token.headers["WM_SVC.NAME"] == "Walmart Marketplace" and token.headers["WM_QOS.CORRELATION_ID"]
    ids = [r.headers["WM_QOS.CORRELATION_ID"] for r in server.requests] + [token.headers["WM_QOS.CORRELATION_ID"]]
    assert len(set(ids)) == 4
    for request in server.requests:
        assert request.headers["WM_SEC.ACCESS_TOKEN"] == "wm-token-1"
        assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
        assert request.headers["Accept"] == "application/json"
        assert "authorization" not in request.headers


def test_a_429_waits_for_the_endpoint_replenish_time_then_retries() -> None:
    server, clock = FakeWalmart(), FakeClock()
    client = client_for(server, clock)
    replenish_ms = str(int((datetime.now(UTC).timestamp() + 30) * 1000))
    server.script.append(httpx.Response(429, json={"errors": [{"code": "REQUEST_THRESHOLD_VIOLATED"}]},
                                        headers={"x-current-token-count": "0", "x-next-replenish-time": replenish_ms}))
    reply = client.request_json("GET", "/v3/orders")
    assert "list" in reply and len(server.requests) == 2
    assert 25 <= sum(clock.sleeps) <= 31  # waited for the refill, not the 60 s default


def test_an_empty_bucket_holds_only_its_own_endpoint() -> None:
    server, clock = FakeWalmart(), FakeClock()
    client = client_for(server, clock)
    server.script.append(httpx.Response(200, json={"list": {"meta": {}, "elements": {"order": []}}},
                                        headers={"x-current-token-count": "0", "x-next-replenish-time": "45"}))
    client.request_json("GET", "/v3/orders")
    client.request_json("GET", "/v3/returns")
    assert clock.sleeps == []
    client.request_json("GET", "/v3/orders")
    assert clock.sleeps == [45.0]


def test_errors_are_classified_retryable_or_naming_the_record() -> None:
    server = FakeWalmart()
    client = client_for(server, max_retries=1)
    server.script += [httpx.Response(500, json={"errors": [{"code": "SYSTEM_ERROR", "category": "SYSTEM"}]})] * 2
    with pytest.raises(ServerError):
        client.request_json("GET", "/v3/orders")
    assert len(server.requests) == 2  # retried once
    server.script.append(httpx.Response(400, json={"errors": [{
        "code": "INVALID_REQUEST_CONTENT", "field": "lineNumber", "description": "line 9 does not exist"}]}))
    with pytest.raises(WalmartRequestError) as refused:
        client.request_json("POST", "/v3/orders/P77/acknowledge", record="P77")
    assert refused.value.record == "P77" and refused.value.field == "lineNumber"
    assert "P77" in str(refused.value) and "line 9" in str(refused.value)
    assert len(server.requests) == 3  # a refusal is not retried
    server.script.append(httpx.Response(403, json={"errors": [{"code": "FORBIDDEN.GMP_GATEWAY_API"}]}))
    with pytest.raises(AuthError):
        client.request_json("GET", "/v3/orders")
    server.script.append(httpx.Response(404, json={"errors": [{"code": "CONTENT_NOT_FOUND"}]}))
    with pytest.raises(NotFound):
        client.request_json("GET", "/v3/orders/NOPE", record="NOPE")


def test_error_bodies_in_json_wrapped_and_xml_forms() -> None:
    wrapped = b'{"errors": {"error": [{"code": "INVALID_REQUEST_PARAM", "field": "sku", "description": "bad"}]}}'
    xml = (b'<?xml version="1.0"?><ns2:errors xmlns:ns2="http://walmart.com/"><ns2:error><ns2:code>SYSTEM_ERROR'
           b'</ns2:code><ns2:category>SYSTEM</ns2:category></ns2:error></ns2:errors>')
    assert parse_errors(wrapped)[0].field == "sku"
    assert parse_errors(xml)[0].retryable
    assert parse_errors(b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><errors>&e;</errors>") == []
    assert parse_errors(b"not json") == []


def test_rate_limit_code_without_429_is_still_rate_limited() -> None:
    server = FakeWalmart()
    client = client_for(server, max_retries=0)
    server.script.append(httpx.Response(400, json={"errors": [{"code": "REQUEST_THRESHOLD_VIOLATED"}]}))
    with pytest.raises(RateLimited):
        client.request_json("GET", "/v3/orders")


def test_orders_follow_next_cursor_and_parse_to_decimal_and_utc() -> None:
    orders = [order_json(f"P{i}", [line_json("1", "SKU-1", 2, "19.99", tax="1.60", shipping="4.99",
                                             ship_tax="0.40")]) for i in range(5)]
    server = FakeWalmart(orders=orders, page=2)
    client = client_for(server)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    got = list(client.iter_orders(created_start=start, limit=2))
    assert [o.purchase_order_id for o in got] == [f"P{i}" for i in range(5)]
    first, second = server.requests[0].url, server.requests[1].url
    assert first.params["createdStartDate"] == "2024-05-01T00:00:00.000Z" and first.params["limit"] == "2"
    assert second.params["hasMoreElements"] == "true" and "createdStartDate" not in second.params
    line = got[0].lines[0]
    assert (line.product_amount, line.shipping_amount, line.tax_amount) == (
        Decimal("19.99"), Decimal("4.99"), Decimal("2.00"))
    assert got[0].order_date == datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)
    assert got[0].ship_node.id == "NODE-1" and got[0].raw["purchaseOrderId"] == "P0"


def test_limits_above_the_api_maximum_are_refused() -> None:
    with pytest.raises(ValueError):
        list(client_for(FakeWalmart()).iter_order_pages_raw(limit=500))


def test_returns_and_acknowledgement() -> None:
    server = FakeWalmart(returns=[return_json("R1", "P1", "1", "SKU-1", 1, "19.99", "1.60")])
    client = client_for(server)
    (ret,) = list(client.iter_returns())
    assert ret.refunded and ret.lines[0].total == Decimal("21.59") and ret.customer_name == "Ana Díaz & Co"
    client.acknowledge("P1")
    assert server.acknowledged == ["P1"] and server.requests[-1].method == "POST"


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    server = FakeWalmart()
    client = client_for(server, max_retries=0)
    client.request_json("GET", "/v3/orders")
    server.script.append(httpx.Response(400, text=f"echo {CLIENT_SECRET} wm-token-1"))
    with pytest.raises(WalmartRequestError) as raised:
        client.request_json("GET", "/v3/orders")
    text = str(raised.value) + repr(client) + repr(client.auth)
    assert CLIENT_SECRET not in text and "wm-token-1" not in text
    assert "wm-secret" not in repr(WalmartSettings(walmart_client_id="x", walmart_client_secret=CLIENT_SECRET))


def test_ping_reports_ok_and_bad_credentials() -> None:
    assert client_for(FakeWalmart()).ping()["ok"] is True

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    result = client_for(refuse).ping()
    assert result["ok"] is False and result["error"] == "AuthError"

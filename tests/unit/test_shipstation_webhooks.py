"""V1 webhooks (§4, §8.3): payload parsing, the resource_url allow-list, following it, managing subscriptions."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.common.errors import BadRequest, FatalError, NotFound, RateLimited, ServerError
from connectors.shipstation.client import ResourceNotAllowed, ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from connectors.shipstation.webhooks import (
    InvalidWebhookPayload,
    WebhookPayload,
    redact_url,
    resolve_resource_url,
    resource_url_allowed,
    url_secrets,
)
from tests.unit.fakes import FakeClock
from tests.unit.test_shipstation_shipments import label

PRODUCTION = "https://ssapi.shipstation.com"
SANDBOX = "http://127.0.0.1:8123"
SHIP_URL = "https://ssapi.shipstation.com/shipments?storeID=77120&batchId=18834412&includeShipmentItems=False"
ORDER_URL = "https://ssapi.shipstation.com/orders?storeID=77120&importBatch=2b1f0c7e-4d2a-4a61-9c55-0f6e3d9a1b22"
TOKEN = "tok-3b1f9e7d2c4a5f60"
TARGET = f"https://hooks.example.com/shipstation/{TOKEN}?key=qs-secret-99887766"


class Recorder:
    """A MockTransport handler that records requests and serves scripted replies (or a default)."""

    def __init__(self, default: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response] = []
        self.default = default or (lambda request: httpx.Response(200, json={}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.script.pop(0) if self.script else self.default(request)


def make_client(
    api: Recorder, base_url: str = PRODUCTION, *, clock: FakeClock | None = None, **kwargs: Any
) -> ShipStationClient:
    clock = clock or FakeClock()
    return ShipStationClient(
        api_key="ShipStation",
        api_secret="Rocks",
        base_url=base_url,
        transport=httpx.MockTransport(api),
        sleep=clock.sleep,
        clock=clock,
        rate_limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        rng=lambda: 0.5,
        **kwargs,
    )


# -- payload --------------------------------------------------------------------------------------


def test_the_documented_delivery_parses_from_bytes_and_dicts() -> None:
    body = json.dumps({"resource_url": SHIP_URL, "resource_type": "SHIP_NOTIFY"}).encode()
    payload = WebhookPayload.parse(body)
    assert (payload.resource_url, payload.resource_type) == (SHIP_URL, "SHIP_NOTIFY")
    extra = WebhookPayload.parse({"resource_url": f"  {ORDER_URL} ", "resource_type": "ORDER_NOTIFY", "x": 1})
    assert extra.resource_url == ORDER_URL


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "<body>"),
        (b"[1, 2]", "<body>"),
        ({"resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": SHIP_URL}, "resource_type"),
        ({"resource_url": 12, "resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": "", "resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": "/shipments?batchId=1", "resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": "ftp://ssapi.shipstation.com/x", "resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": "x" * 3000, "resource_type": "SHIP_NOTIFY"}, "resource_url"),
        ({"resource_url": SHIP_URL, "resource_type": "ship_notify"}, "resource_type"),
        ({"resource_url": SHIP_URL, "resource_type": "LABEL_CREATED_V2"}, "resource_type"),
    ],
)
def test_a_bad_delivery_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(InvalidWebhookPayload) as caught:
        WebhookPayload.parse(body)
    assert isinstance(caught.value, FatalError) and caught.value.system == "shipstation"
    assert str(caught.value).startswith(f"shipstation: webhook payload: {field}:")
    assert "xxxxxxxx" not in str(caught.value)  # never echoes the body


# -- allow-list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "allowed"),
    [
        (SHIP_URL, PRODUCTION, True),
        ("https://SSAPI.shipstation.com/orders", PRODUCTION + "/", True),
        ("https://ssapi2.shipstation.com/orders?x=1", PRODUCTION, True),
        ("https://ssapi.shipstation.com:443/orders", PRODUCTION, True),
        ("http://ssapi.shipstation.com/orders", PRODUCTION, False),  # downgrade would send Basic auth in clear
        ("https://ssapi.shipstation.com:8443/orders", PRODUCTION, False),
        ("https://ssapi.shipstation.com.evil.example/orders", PRODUCTION, False),
        ("https://evilssapi.shipstation.com/orders", PRODUCTION, False),
        ("https://ssapi.shipstation.com@evil.example/orders", PRODUCTION, False),
        ("https://user:pw@ssapi.shipstation.com/orders", PRODUCTION, False),
        ("https://api.shipstation.com/v2/labels", PRODUCTION, False),
        ("https://evil.example/orders", PRODUCTION, False),
        ("//ssapi.shipstation.com/orders", PRODUCTION, False),
        ("/orders", PRODUCTION, False),
        ("https://ssapi.shipstation.com/" + "a" * 2100, PRODUCTION, False),
        (f"{SANDBOX}/shipments?batchId=1", SANDBOX, True),
        ("http://127.0.0.1:8124/shipments", SANDBOX, False),
        (SHIP_URL, SANDBOX, False),  # the sandbox never forwards to production
        ("https://ssapi2.shipstation.com/orders", "https://ssapi.test", False),
        (None, PRODUCTION, False),
    ],
)
def test_resource_url_allowed(url: Any, base: str, allowed: bool) -> None:
    assert resource_url_allowed(url, base) is allowed


def test_resolve_keeps_the_query_but_pages_itself_and_forces_items() -> None:
    ships = resolve_resource_url(SHIP_URL + "&page=3&PageSize=10", PRODUCTION)
    assert ships.kind == "shipments" and ships.url == "https://ssapi.shipstation.com/shipments"
    assert ships.params == {"storeID": "77120", "batchId": "18834412", "includeShipmentItems": "true"}
    orders = resolve_resource_url(ORDER_URL, PRODUCTION)
    assert orders.kind == "orders"
    assert orders.params == {"storeID": "77120", "importBatch": "2b1f0c7e-4d2a-4a61-9c55-0f6e3d9a1b22"}
    assert resolve_resource_url("https://ssapi.shipstation.com/Orders/", PRODUCTION).kind == "orders"
    nested = resolve_resource_url("http://sim.local/v1/shipments?a=", "http://sim.local/v1")
    assert (nested.kind, nested.params) == ("shipments", {"a": "", "includeShipmentItems": "true"})


@pytest.mark.parametrize(
    "path", ["/fulfillments?batchId=1", "/orders/512340871", "/shipments/voidlabel", "/", "/v1/orders", "/webhooks"]
)
def test_only_the_orders_and_shipments_lists_are_followed(path: str) -> None:
    with pytest.raises(ResourceNotAllowed, match="only /orders and /shipments"):
        resolve_resource_url(PRODUCTION + path, PRODUCTION)


def test_a_refused_url_makes_no_request_and_is_refused_at_call_time() -> None:
    api = Recorder()
    client = make_client(api)
    for url in ("https://evil.example/shipments?steal=1", "http://ssapi.shipstation.com/orders", PRODUCTION + "/users"):
        with pytest.raises(ResourceNotAllowed) as caught:
            client.iter_resource_pages(url)  # not even iterated
        assert isinstance(caught.value, FatalError) and "steal" not in str(caught.value)
    assert api.requests == []
    assert "https://evil.example/…" in str(pytest.raises(ResourceNotAllowed, client.iter_resource_pages,
                                                         "https://evil.example/x?y=z").value)


# -- following ------------------------------------------------------------------------------------


def test_follows_a_ship_notify_url_page_by_page_with_items_and_our_auth() -> None:
    rows = [label(i, f"2024-11-04T08:00:{i:02d}.0") for i in range(1, 4)]
    api = Recorder()
    api.script += [
        httpx.Response(200, json={"shipments": rows[:2], "total": 3, "page": 1, "pages": 2}),
        httpx.Response(200, json={"shipments": [rows[1], rows[2]], "total": 3, "page": 2, "pages": 2}),
    ]
    url = SHIP_URL.replace("ssapi.", "ssapi3.")
    pages = list(make_client(api).iter_resource_pages(url))
    assert [(kind, [r["shipmentId"] for r in page]) for kind, page in pages] == [("shipments", [1, 2]),
                                                                                 ("shipments", [3])]
    first, second = api.requests
    assert first.url.host == "ssapi3.shipstation.com" and first.url.path == "/shipments"
    assert first.headers["Authorization"] == "Basic U2hpcFN0YXRpb246Um9ja3M="
    assert dict(first.url.params) == {
        "storeID": "77120",
        "batchId": "18834412",
        "includeShipmentItems": "true",
        "page": "1",
        "pageSize": "500",
    }
    assert second.url.params["page"] == "2"


def test_follows_an_order_notify_url_on_the_sandbox() -> None:
    api = Recorder(lambda r: httpx.Response(200, json={"orders": [{"orderId": 7}], "total": 1, "page": 1, "pages": 0}))
    url = f"{SANDBOX}/orders?storeID=77120&importBatch=abc"
    assert list(make_client(api, SANDBOX).iter_resource_pages(url, page_size=100)) == [("orders", [{"orderId": 7}])]
    (request,) = api.requests
    assert str(request.url).startswith(SANDBOX + "/orders?")
    assert dict(request.url.params) == {"storeID": "77120", "importBatch": "abc", "page": "1", "pageSize": "100"}


# -- subscriptions --------------------------------------------------------------------------------


def test_list_webhooks_accepts_the_envelope_and_a_bare_list() -> None:
    hook = {"WebHookID": 1, "HookType": "SHIP_NOTIFY", "Url": TARGET, "Active": True}
    api = Recorder()
    api.script += [httpx.Response(200, json={"webhooks": [hook]}), httpx.Response(200, json=[hook])]
    client = make_client(api)
    assert client.list_webhooks() == [hook] and client.list_webhooks() == [hook]
    assert [r.url.path for r in api.requests] == ["/webhooks", "/webhooks"]


@pytest.mark.parametrize(
    "reply", [{"id": 123456}, {"WebHookID": 123456, "HookType": "SHIP_NOTIFY", "Url": TARGET, "Name": "x"}]
)
def test_subscribe_sends_the_documented_body_and_reads_either_reply(reply: dict[str, Any]) -> None:
    api = Recorder(lambda request: httpx.Response(200, json=reply))
    assert make_client(api).subscribe_webhook(TARGET, "SHIP_NOTIFY", store_id=77120) == 123456
    (request,) = api.requests
    assert (request.method, request.url.path) == ("POST", "/webhooks/subscribe")
    assert json.loads(request.content) == {"target_url": TARGET, "event": "SHIP_NOTIFY", "store_id": 77120}
    named = make_client(api).subscribe_webhook(TARGET, "ORDER_NOTIFY", friendly_name="ml-connector")
    assert named == 123456 and json.loads(api.requests[-1].content)["friendly_name"] == "ml-connector"


def secret_free(text: str) -> bool:
    return all(part not in text for part in (TOKEN, "qs-secret-99887766", TARGET, "key=qs"))


def test_a_reply_without_an_id_is_a_server_error_that_hides_the_url() -> None:
    api = Recorder(lambda request: httpx.Response(200, json={"Url": TARGET, "ok": True}))
    with pytest.raises(ServerError) as caught:
        make_client(api).subscribe_webhook(TARGET, "SHIP_NOTIFY")
    assert "['Url', 'ok']" in str(caught.value) and secret_free(str(caught.value))


@pytest.mark.parametrize(
    ("status", "error_type", "requests"), [(400, BadRequest, 1), (500, ServerError, 1), (429, RateLimited, 3)]
)
def test_errors_echoing_the_target_url_are_scrubbed(
    status: int, error_type: type, requests: int, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"Message": f"Invalid target_url {TARGET} (token {TOKEN}, encoded {TARGET.replace('/', '%2F')})"}
    api = Recorder(lambda request: httpx.Response(status, json=echo, headers={"X-Rate-Limit-Reset": "0"}))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error_type) as caught:
        make_client(api, max_retries=2).subscribe_webhook(TARGET, "SHIP_NOTIFY")
    error = caught.value
    assert len(api.requests) == requests  # a 5xx may have created the hook: never re-sent; a 429 is
    for text in (str(error), repr(error), error.excerpt or "", error.message, *map(str, error.args)):
        assert secret_free(text), text
    assert "***" in str(error) and error.request == "POST /webhooks/subscribe"
    assert secret_free(caplog.text)


def test_a_429_is_retried_after_the_reset() -> None:
    api = Recorder()
    api.script.append(httpx.Response(429, json={"message": "Too Many Requests"}, headers={"X-Rate-Limit-Reset": "7"}))
    api.script.append(httpx.Response(200, json={"id": 5}))
    clock = FakeClock()
    assert make_client(api, clock=clock).subscribe_webhook(TARGET, "ITEM_SHIP_NOTIFY") == 5
    assert len(api.requests) == 2 and clock.sleeps == [8.0]  # X-Rate-Limit-Reset + 1 s


def test_success_is_logged_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make_client(Recorder(lambda request: httpx.Response(200, json={"id": 9}))).subscribe_webhook(TARGET, "SHIP_NOTIFY")
    assert "https://hooks.example.com/…" in caplog.text and secret_free(caplog.text)


@pytest.mark.parametrize(
    ("target", "event", "message"),
    [
        (TARGET, "LABEL_CREATED_V2", "unknown V1 webhook event"),
        (f"ftp://hooks.example.com/{TOKEN}", "SHIP_NOTIFY", "absolute http"),
        (f"/shipstation/{TOKEN}", "SHIP_NOTIFY", "absolute http"),
    ],
)
def test_bad_subscriptions_are_refused_before_any_request(target: str, event: str, message: str) -> None:
    api = Recorder()
    with pytest.raises(ValueError, match=message) as caught:
        make_client(api).subscribe_webhook(target, event)
    assert api.requests == [] and TOKEN not in str(caught.value)


def test_unsubscribe() -> None:
    api = Recorder()
    api.script += [httpx.Response(200), httpx.Response(404, json={"Message": "Not found"})]
    client = make_client(api)
    assert client.unsubscribe_webhook(123456) is None
    with pytest.raises(NotFound):
        client.unsubscribe_webhook(7)
    assert [(r.method, r.url.path) for r in api.requests] == [("DELETE", "/webhooks/123456"), ("DELETE", "/webhooks/7")]


# -- redaction helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (TARGET, "https://hooks.example.com/…"),
        ("http://user:pw@[::1]:8080/x?y", "http://[::1]:8080/…"),
        ("not a url", "<not a url>"),
        ("http://host:99999999/", "<unparseable url>"),
        (None, "<not a url>"),
    ],
)
def test_redact_url(url: Any, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_secrets_cover_raw_and_encoded_parts_but_not_the_host() -> None:
    secrets = url_secrets(TARGET)
    assert {TARGET, TOKEN, "qs-secret-99887766", f"/shipstation/{TOKEN}?key=qs-secret-99887766"} <= set(secrets)
    assert "hooks.example.com" not in secrets and all(len(s) >= 8 for s in secrets)
    assert list(secrets) == sorted(secrets, key=len, reverse=True)

"""Walmart Notifications: the simulator's subscription API and PO_CREATED deliveries over real HTTP,
driven through our client (`connectors.walmart.notifications`) and checked at a capturing endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.common.errors import NotFound
from connectors.common.ratelimit import PerEndpointBuckets
from connectors.walmart.client import WalmartClient
from connectors.walmart.errors import WalmartRequestError
from connectors.walmart.notifications import (
    AuthDetails,
    NotificationError,
    WalmartNotifications,
    basic_matches,
    hmac_matches,
    parse_notification,
    subscription_spec,
)
from sandbox.runner import ServedApp, serve
from sandbox.walmart import WalmartState, create_app

CLIENT_ID, CLIENT_SECRET = "notify-client", "notify-secret"
HMAC_SECRET = "shared-hmac-secret-0123456789"


@dataclass
class Endpoint:
    """A seller's endpoint: records each delivery, answers the scripted statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    hold: threading.Event | None = None

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.hold is not None:
                await run_in_threadpool(self.hold.wait, 10)
            self.received.append((dict(request.headers), body))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        async def token(request: Request) -> Response:
            self.token_requests.append(dict(request.headers) | {"body": (await request.body()).decode()})
            return JSONResponse({"access_token": "endpoint-token", "expires_in": 3600})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/token", token, methods=["POST"])])


@pytest.fixture
def world() -> Iterator[tuple[ServedApp, ServedApp, Endpoint, WalmartState]]:
    state = WalmartState()
    state.notifications.retry_delays = (0.05, 0.05)
    sim = serve(create_app(state, credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=False))
    endpoint = Endpoint()
    receiver = serve(endpoint.app())
    httpx.post(f"{sim.base_url}/__sandbox/seed", json={"items": [{"sku": "SKU-1", "price": "9.99", "quantity": 5}]},
               timeout=10).raise_for_status()
    try:
        yield sim, receiver, endpoint, state
    finally:
        receiver.stop()
        sim.stop()


def api(sim: ServedApp) -> WalmartNotifications:
    return WalmartNotifications(WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=sim.base_url,
                                              pacer=PerEndpointBuckets(), max_retries=0))


def new_order(sim: ServedApp) -> str:
    answer = httpx.post(f"{sim.base_url}/__sandbox/orders", json={"lines": [{"sku": "SKU-1", "quantity": 2}]},
                        timeout=10)
    answer.raise_for_status()
    return answer.json()["purchaseOrderId"]


def hmac_auth() -> AuthDetails:
    return AuthDetails(auth_method="HMAC", auth_header_name="X-Walmart-Auth", client_secret=SecretStr(HMAC_SECRET))


def test_event_types_include_po_created(world) -> None:
    sim, *_ = world
    kinds = {(e.event_type, e.resource_name, e.event_version) for e in api(sim).event_types()}
    assert ("PO_CREATED", "ORDER", "V1") in kinds and ("PO_LINE_AUTOCANCELLED", "ORDER", "V1") in kinds


def test_a_released_order_is_delivered_to_the_subscription_signed_with_hmac(world) -> None:
    sim, receiver, endpoint, state = world
    created = api(sim).create_subscriptions([subscription_spec(f"{receiver.base_url}/hook", hmac_auth())])
    assert created[0].status == "ACTIVE" and created[0].event_type == "PO_CREATED" and created[0].subscription_id
    po = new_order(sim)
    assert state.notifications.wait_idle()
    (headers, body), = endpoint.received
    expected = base64.b64encode(hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-walmart-auth"] == expected and hmac_matches(body, headers["x-walmart-auth"], HMAC_SECRET)
    assert not hmac_matches(body + b" ", headers["x-walmart-auth"], HMAC_SECRET)
    note = parse_notification(body)
    assert (note.event_type, note.purchase_order_id) == ("PO_CREATED", po)
    assert note.event_time is not None and note.event_time.tzinfo is not None
    payload = json.loads(body)["payload"]
    assert payload["orderLines"][0]["sku"] == "SKU-1"
    assert payload["orderLines"][0]["quantity"] == {"unitOfMeasure": "EACH", "measurementValue": "2"}
    deliveries = httpx.get(f"{sim.base_url}/__sandbox/notifications", timeout=10).json()["deliveries"]
    assert [(d["eventId"], d["delivered"], d["attempts"]) for d in deliveries] == [(note.event_id, True, 1)]


def test_an_unreleased_order_announces_itself_once_when_released(world) -> None:
    sim, receiver, endpoint, state = world
    api(sim).create_subscriptions([subscription_spec(f"{receiver.base_url}/hook")])
    po = httpx.post(f"{sim.base_url}/__sandbox/orders", json={"lines": [{"sku": "SKU-1"}], "released": False},
                    timeout=10).json()["purchaseOrderId"]
    assert state.notifications.wait_idle() and endpoint.received == []
    for _ in range(2):
        httpx.post(f"{sim.base_url}/__sandbox/orders/{po}/release", timeout=10).raise_for_status()
    assert state.notifications.wait_idle()
    assert [parse_notification(b).purchase_order_id for _, b in endpoint.received] == [po]


def test_failed_deliveries_are_retried_twice_then_given_up(world) -> None:
    sim, receiver, endpoint, state = world
    api(sim).create_subscriptions([subscription_spec(f"{receiver.base_url}/hook")])
    endpoint.statuses = [500, 503]
    new_order(sim)
    assert state.notifications.wait_idle()
    assert len(endpoint.received) == 3 and len({b for _, b in endpoint.received}) == 1  # the same event again
    endpoint.statuses = [500, 500, 500, 500]
    new_order(sim)
    assert state.notifications.wait_idle()
    last = httpx.get(f"{sim.base_url}/__sandbox/notifications", timeout=10).json()["deliveries"][-1]
    assert (last["attempts"], last["delivered"], last["outcomes"]) == (3, False, ["500", "500", "500"])


def test_delivery_never_holds_up_the_order_call(world) -> None:
    sim, receiver, endpoint, state = world
    api(sim).create_subscriptions([subscription_spec(f"{receiver.base_url}/hook")])
    endpoint.hold = threading.Event()
    try:
        po = new_order(sim)  # returns while the endpoint is still holding the delivery
        assert endpoint.received == []
    finally:
        endpoint.hold.set()
    assert state.notifications.wait_idle()
    assert parse_notification(endpoint.received[0][1]).purchase_order_id == po


def test_list_filter_update_and_delete(world) -> None:
    sim, receiver, endpoint, state = world
    notes = api(sim)
    sub, = notes.create_subscriptions([subscription_spec(f"{receiver.base_url}/hook", hmac_auth())])
    notes.create_subscriptions([subscription_spec(f"{receiver.base_url}/hook", event_type="OFFER_UNPUBLISHED",
                                                  resource_name="ITEM")])
    listed = notes.list_subscriptions(event_type="PO_CREATED")
    assert [s.subscription_id for s in listed] == [sub.subscription_id]
    assert listed[0].auth_details is not None and listed[0].auth_details.auth_method == "HMAC"
    assert HMAC_SECRET not in repr(listed[0])
    paused = notes.update_subscription(sub.subscription_id, status="INACTIVE")
    assert paused.status == "INACTIVE" and notes.list_subscriptions(status="INACTIVE")[0].event_type == "PO_CREATED"
    new_order(sim)
    assert state.notifications.wait_idle() and endpoint.received == []  # only ACTIVE subscriptions are notified
    assert notes.delete_subscription(sub.subscription_id) == "Successfully deleted subscription"
    with pytest.raises(NotFound):
        notes.delete_subscription(sub.subscription_id)
    assert [s.event_type for s in notes.list_subscriptions()] == ["OFFER_UNPUBLISHED"]


@pytest.mark.parametrize(("spec", "field_name"), [
    ({"eventType": "PO_CREATED", "eventVersion": "V1", "resourceName": "ORDER", "status": "ACTIVE"}, "eventUrl"),
    ({"eventType": "PO_SHIPPED", "eventVersion": "V1", "resourceName": "ORDER", "status": "ACTIVE",
      "eventUrl": "https://example.com/x"}, "eventType"),
    ({"eventType": "PO_CREATED", "eventVersion": "V1", "resourceName": "ORDER", "status": "ACTIVE",
      "eventUrl": "https://example.com/x", "authDetails": {"authMethod": "HMAC", "authHeaderName": "A"}},
     "clientSecret"),
])
def test_invalid_subscriptions_are_refused_naming_the_field(world, spec: dict, field_name: str) -> None:
    sim, *_ = world
    with pytest.raises(WalmartRequestError) as refused:
        api(sim).create_subscriptions([spec])
    assert refused.value.status == 400 and refused.value.field == field_name
    assert api(sim).list_subscriptions() == []


def test_basic_and_oauth_endpoints_get_their_headers(world) -> None:
    sim, receiver, endpoint, state = world
    basic = AuthDetails(auth_method="BASIC_AUTH", user_name="walmart", password=SecretStr("pw-1"))
    oauth = AuthDetails(auth_method="OAUTH", client_id="wm", client_secret=SecretStr("oauth-secret"),
                        auth_url=f"{receiver.base_url}/token")
    api(sim).create_subscriptions([subscription_spec(f"{receiver.base_url}/hook", basic),
                                   subscription_spec(f"{receiver.base_url}/hook", oauth)])
    new_order(sim)
    assert state.notifications.wait_idle()
    values = sorted(h["authorization"] for h, _ in endpoint.received)
    assert values[0] == "Bearer endpoint-token" and basic_matches(values[1], "walmart", "pw-1")
    assert not basic_matches(values[1], "walmart", "wrong")
    token_call, = endpoint.token_requests
    assert token_call["body"] == "grant_type=client_credentials"
    assert basic_matches(token_call["authorization"], "wm", "oauth-secret")


def test_the_test_endpoint_says_whether_the_url_answers(world) -> None:
    sim, receiver, endpoint, state = world
    spec = subscription_spec(f"{receiver.base_url}/hook", hmac_auth())
    assert api(sim).test_notification(spec) == "Eventurl successfully validated"
    endpoint.statuses = [401]
    with pytest.raises(WalmartRequestError):
        api(sim).test_notification(spec)


@pytest.mark.parametrize(("body", "field_name"), [
    (b"not json", "body"), (b"[]", "body"), (b'{"payload": {}}', "source"),
    (b'{"source": {"eventId": "e1"}}', "source.eventType"),
    (b'{"source": {"eventType": "PO_CREATED"}}', "source.eventId"),
    (b'{"source": {"eventType": "PO_CREATED", "eventId": "e1"}, "payload": {}}', "payload.purchaseOrderId"),
])
def test_unreadable_deliveries_name_the_field(body: bytes, field_name: str) -> None:
    with pytest.raises(NotificationError) as bad:
        parse_notification(body)
    assert bad.value.field == field_name


def test_hmac_in_hex_and_basic_without_prefix_are_accepted() -> None:
    body = b'{"x":1}'
    assert hmac_matches(body, hmac.new(b"k", body, hashlib.sha256).hexdigest(), "k")
    assert basic_matches(base64.b64encode(b"u:p").decode(), "u", "p")
    assert not basic_matches("not base64!!", "u", "p")


def test_the_specs_own_example_requests_get_the_specs_answer_shapes(world) -> None:
    """As a client written from Walmart's Notifications OpenAPI examples would send them, raw."""
    sim, receiver, *_ = world
    token = httpx.post(f"{sim.base_url}/v3/token", data={"grant_type": "client_credentials"},
                       auth=(CLIENT_ID, CLIENT_SECRET), timeout=10,
                       headers={"WM_SVC.NAME": "x", "WM_QOS.CORRELATION_ID": "c1", "Accept": "application/json"})
    headers = {"WM_SEC.ACCESS_TOKEN": token.json()["access_token"], "WM_SVC.NAME": "x",
               "WM_QOS.CORRELATION_ID": "c2", "Accept": "application/json"}
    url = f"{receiver.base_url}/hook"
    sample = {"events": [{"eventType": "OFFER_UNPUBLISHED", "eventVersion": "V1", "resourceName": "ITEM",
                          "eventUrl": url, "status": "ACTIVE"},
                         {"eventType": "PO_CREATED", "eventVersion": "V1", "resourceName": "ORDER",
                          "eventUrl": url, "status": "ACTIVE"}]}
    created = httpx.post(f"{sim.base_url}/v3/webhooks/subscriptions", json=sample, headers=headers, timeout=10).json()
    assert [set(e) for e in created["events"]] == [
        {"eventType", "subscriptionId", "partnerId", "eventVersion", "resourceName", "status"}] * 2
    sid = created["events"][1]["subscriptionId"]
    patched = httpx.patch(f"{sim.base_url}/v3/webhooks/subscriptions/{sid}", json={"status": "INACTIVE"},
                          headers=headers, timeout=10).json()
    assert patched["status"] == "INACTIVE" and patched["headers"] == {"content-type": "application/json"}
    listed = httpx.get(f"{sim.base_url}/v3/webhooks/subscriptions", params={"status": "ACTIVE"}, headers=headers,
                       timeout=10).json()
    assert [e["eventType"] for e in listed["events"]] == ["OFFER_UNPUBLISHED"]
    gone = httpx.delete(f"{sim.base_url}/v3/webhooks/subscriptions/{sid}", headers=headers, timeout=10).json()
    assert gone == {"subscriptionId": sid, "message": "Successfully deleted subscription"}
    no_token = httpx.get(f"{sim.base_url}/v3/webhooks/eventTypes", headers={**headers, "WM_SEC.ACCESS_TOKEN": "x"},
                         timeout=10)
    assert no_token.status_code == 401

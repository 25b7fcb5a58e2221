"""Routes of the Notifications API (`/v3/webhooks/...`); the rules are in `notifications.py`."""

from __future__ import annotations

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.walmart import errors
from sandbox.walmart.bodies import json_body
from sandbox.walmart.delivery import DELIVERY_TIMEOUT, deliver
from sandbox.walmart.errors import JSONResponse
from sandbox.walmart.gate import Gate
from sandbox.walmart.notifications import EVENT_TYPES, SERVICE, Subscription, bad, event_type, sample_event
from sandbox.walmart.state import WalmartState

BASE = "/v3/webhooks"
FILTERS = {"eventType": "eventType", "resourceName": "resourceName", "status": "status"}


def _subscription(state: WalmartState, request: Request) -> Subscription:
    sid = request.path_params["subscriptionId"]
    sub = state.notifications.subscriptions.get(sid)
    if sub is None:
        raise errors.not_found("subscriptionId", sid, SERVICE)
    return sub


def webhook_routes(state: WalmartState, gate: Gate) -> list[Route]:
    notes = state.notifications

    async def event_types(request: Request) -> Response:
        return JSONResponse({"events": [dict(e) for e in EVENT_TYPES]})

    async def listing(request: Request) -> Response:
        query = request.query_params
        with state.lock:
            subs = list(notes.subscriptions.values())
        if query.get("subscriptionId"):
            subs = [s for s in subs if s.subscription_id == query["subscriptionId"]]
        for param, key in FILTERS.items():
            if query.get(param):
                subs = [s for s in subs if s.record[key] == query[param]]
        return JSONResponse({"events": [s.doc() for s in subs]})

    async def create(request: Request) -> Response:
        body = await json_body(request, SERVICE)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not events:
            raise bad("events must be a non-empty list", "events")
        created = [Subscription.create(raw, state.partner_id) for raw in events]  # all valid, or none stored
        with state.lock:
            notes.subscriptions.update({s.subscription_id: s for s in created})
        return JSONResponse({"events": [s.summary() for s in created]})

    async def update(request: Request) -> Response:
        sub = _subscription(state, request)
        body = await json_body(request, SERVICE)
        with state.lock:
            sub.update(body)
            return JSONResponse(sub.doc())

    async def delete(request: Request) -> Response:
        sub = _subscription(state, request)
        with state.lock:
            notes.subscriptions.pop(sub.subscription_id, None)
        return JSONResponse({"subscriptionId": sub.subscription_id, "message": "Successfully deleted subscription"})

    async def test(request: Request) -> Response:
        body = await json_body(request, SERVICE)
        probe = Subscription.create({**(body if isinstance(body, dict) else {}), "status": "ACTIVE"}, state.partner_id)
        event_type(probe.record["eventType"], probe.record["eventVersion"], probe.record["resourceName"])
        event = sample_event(probe.record["eventType"], state.partner_id, state.clock.now())
        ok, outcome = await run_in_threadpool(_deliver_now, probe.record, event)
        if not ok:
            raise bad(f"[sandbox] eventUrl could not be validated: {outcome}", "eventUrl")
        return JSONResponse({"message": "Eventurl successfully validated"})

    table = [
        (f"{BASE}/eventTypes", "GET", event_types),
        (f"{BASE}/subscriptions", "GET", listing),
        (f"{BASE}/subscriptions", "POST", create),
        (f"{BASE}/subscriptions/{{subscriptionId}}", "PATCH", update),
        (f"{BASE}/subscriptions/{{subscriptionId}}", "DELETE", delete),
        (f"{BASE}/test", "POST", test),
    ]
    return [Route(path, gate(f"{method} {path}", "webhooks", handler), methods=[method])
            for path, method, handler in table]


def _deliver_now(record: dict, event: dict) -> tuple[bool, str]:
    with httpx.Client(timeout=DELIVERY_TIMEOUT) as http:
        return deliver(record, event, http)

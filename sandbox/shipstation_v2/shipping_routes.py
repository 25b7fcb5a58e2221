"""V2 shipping routes: shipments, labels, tracking, carriers, webhooks; and their control plane.

API (behind the gate, reference §5.2–§5.4): `GET /v2/shipments`, `GET /v2/shipments/{shipment_id}`,
`GET /v2/shipments/external_shipment_id/{external_shipment_id}`, `GET /v2/labels`,
`GET /v2/labels/{label_id}`, `GET /v2/labels/{label_id}/track`, `GET /v2/carriers`,
`GET /v2/carriers/{carrier_id}`, `GET /v2/carriers/{carrier_id}/services|packages`,
`GET|POST /v2/environment/webhooks`, `GET|PUT|DELETE /v2/environment/webhooks/{webhook_id}`.

Control plane (no auth):
- `POST /__sandbox/tracking/advance` → `{"label_id" | "tracking_number" | "label_ids": [...] |
  "created_before": "<ISO-8601 with offset>", "status_code"?: "AC"|"IT"|"DE"|"EX"|"AT"|"SP"|"UN"|"NY",
  "description"?}`: a carrier scan (default: the next step NY→AC→IT→DE) of one label, several, or every
  active label bought before an instant (e.g. to deliver a merchant's history) → `{"tracking": [documents]}`;
  each change fires the tracking webhook.
- `GET /__sandbox/webhooks/log`, `POST /__sandbox/webhooks/flush`, `POST /__sandbox/webhooks/config`:
  as the V1 simulator's (`delay_min`, `delay_max`, `drop_rate`, `seed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation.control import guarded_routes, webhook_control_table
from sandbox.shipstation_v2 import carriers, listing
from sandbox.shipstation_v2.account import se_id
from sandbox.shipstation_v2.errors import JSONResponse, V2Error, invalid, not_found
from sandbox.shipstation_v2.hooks import SignedDispatcher, TrackEvent
from sandbox.shipstation_v2.state import ShipStationV2State
from sandbox.shipstation_v2.tracking import STATUSES
from sandbox.shipstation_v2.transactions import loads

Handler = Callable[[Request], Awaitable[Response]]
Table = list[tuple[str, str, Handler]]
PageOf = Callable[..., dict[str, Any]]


def _carrier(carrier_id: str) -> dict[str, Any]:
    found = carriers.by_id(carrier_id)
    if found is None:
        raise not_found("carrier_id", carrier_id)
    return found


def shipping_table(state: ShipStationV2State, page_of: PageOf) -> Table:
    """Shipments, labels, tracking and carriers."""
    view = state.shipping

    async def list_shipments(request: Request) -> Response:
        rows = listing.shipment_rows(view, request.query_params)
        body = page_of(request, "shipments", rows, listing.page_size(request.query_params))
        body["shipments"] = [view.shipment(order) for order in body["shipments"]]
        return JSONResponse(body)

    async def get_shipment(request: Request) -> Response:
        return JSONResponse(view.shipment(view.order(request.path_params["shipment_id"])))

    async def by_external_id(request: Request) -> Response:
        return JSONResponse(view.shipment(view.by_external_id(request.path_params["external_shipment_id"])))

    async def list_labels(request: Request) -> Response:
        rows = listing.label_rows(view, request.query_params)
        body = page_of(request, "labels", rows, listing.page_size(request.query_params))
        body["labels"] = [view.label(se_id(row["shipmentId"]) or "") for row in body["labels"]]
        return JSONResponse(body)

    async def get_label(request: Request) -> Response:
        return JSONResponse(view.label(request.path_params["label_id"]))

    async def track(request: Request) -> Response:
        return JSONResponse(view.track(request.path_params["label_id"]))

    async def list_carriers(request: Request) -> Response:
        return JSONResponse(carriers.carriers_body())

    async def get_carrier(request: Request) -> Response:
        return JSONResponse(_carrier(request.path_params["carrier_id"]))

    async def carrier_services(request: Request) -> Response:
        return JSONResponse({"services": _carrier(request.path_params["carrier_id"])["services"]})

    async def carrier_packages(request: Request) -> Response:
        return JSONResponse({"packages": _carrier(request.path_params["carrier_id"])["packages"]})

    return [
        ("/v2/shipments", "GET", list_shipments),
        ("/v2/shipments/external_shipment_id/{external_shipment_id}", "GET", by_external_id),
        ("/v2/shipments/{shipment_id}", "GET", get_shipment),
        ("/v2/labels", "GET", list_labels),
        ("/v2/labels/{label_id}", "GET", get_label),
        ("/v2/labels/{label_id}/track", "GET", track),
        ("/v2/carriers", "GET", list_carriers),
        ("/v2/carriers/{carrier_id}", "GET", get_carrier),
        ("/v2/carriers/{carrier_id}/services", "GET", carrier_services),
        ("/v2/carriers/{carrier_id}/packages", "GET", carrier_packages),
    ]


def webhook_table(state: ShipStationV2State) -> Table:
    """`/v2/environment/webhooks`."""
    hooks = state.hooks

    async def list_hooks(request: Request) -> Response:
        return JSONResponse(list(hooks.hooks.values()))

    async def create_hook(request: Request) -> Response:
        return JSONResponse(hooks.create(loads(await request.body())))

    async def get_hook(request: Request) -> Response:
        return JSONResponse(hooks.get(request.path_params["webhook_id"]))

    async def update_hook(request: Request) -> Response:
        hooks.update(request.path_params["webhook_id"], loads(await request.body()))
        return Response(status_code=204)

    async def delete_hook(request: Request) -> Response:
        hooks.delete(request.path_params["webhook_id"])
        return Response(status_code=204)

    return [
        ("/v2/environment/webhooks", "GET", list_hooks),
        ("/v2/environment/webhooks", "POST", create_hook),
        ("/v2/environment/webhooks/{webhook_id}", "GET", get_hook),
        ("/v2/environment/webhooks/{webhook_id}", "PUT", update_hook),
        ("/v2/environment/webhooks/{webhook_id}", "DELETE", delete_hook),
    ]


def advance_tracking(state: ShipStationV2State, dispatcher: SignedDispatcher, body: Any) -> list[dict[str, Any]]:
    """Apply one control-plane tracking change to each label it names; publish each new document."""
    if not isinstance(body, dict):
        raise invalid("expected a JSON object")
    view = state.shipping
    code = body.get("status_code")
    if code is not None and code not in STATUSES:
        raise invalid(f"status_code must be one of {', '.join(STATUSES)}")
    if body.get("tracking_number"):
        labels = [view.label_by_tracking_number(str(body["tracking_number"]))]
    elif body.get("created_before"):
        before = listing.when({"created_before": str(body["created_before"])}, "created_before")
        labels = [lb for lb in view.labels() if lb["createDate"] < before and not lb.get("voided")]  # type: ignore[operator]
    else:
        names = body.get("label_ids") or ([body["label_id"]] if body.get("label_id") else [])
        if not isinstance(names, list) or not names:
            raise invalid('expected "label_id", "label_ids" or "tracking_number"')
        labels = [view.v1_label(str(name)) for name in names]
    if any(label.get("voided") for label in labels):
        raise invalid("a voided label cannot be advanced")
    documents = []
    for label in labels:
        view.tracking.advance(label, code, view.now(), body.get("description"))
        document = view.tracking.document(label)
        dispatcher.publish(TrackEvent(se_id(label["shipmentId"]) or "", document))
        documents.append(document)
    return documents


def control_table(state: ShipStationV2State, dispatcher: SignedDispatcher) -> list[Route]:
    """The tracking and webhook control plane."""

    async def advance(request: Request) -> Response:
        try:
            return JSONResponse({"tracking": advance_tracking(state, dispatcher, loads(await request.body()))})
        except V2Error as error:
            return error.response()

    return [Route("/__sandbox/tracking/advance", advance, methods=["POST"]),
            *guarded_routes(webhook_control_table(dispatcher))]

"""ShipStation clients' new pieces with hand-built answers: tracking normalisation, the TRACK webhook,
createorders row handling, argument checks made before any request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.common.errors import ServerError
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from connectors.shipstation.v2 import ShipStationV2Client, default_pacer
from connectors.shipstation.v2_models import LabelTracking, normalise_tracking
from connectors.shipstation.v2_shipping import InvalidTrackingWebhook, tracking_update

# The TRACK_EVENT_V2 example of docs.shipstation.com "Webhook Payload Schemas" (data abridged).
DOCS_TRACK_EVENT = {
    "resource_url": "https://api.shipstation.com/v2/labels/se-1234567890/track",
    "resource_type": "TRACK_EVENT_V2",
    "data": {"tracking_number": "1Z0000000000000000", "status_code": "NY", "status_detail_code": None,
             "carrier_code": "ups", "carrier_id": 3, "carrier_detail_code": "MP",
             "status_description": "Not Yet In System", "carrier_status_code": "M",
             "ship_date": None, "estimated_delivery_date": "2026-04-30T00:00:00", "actual_delivery_date": None,
             "exception_description": None, "events": []},
}


@pytest.mark.parametrize(("status", "detail", "expected"), [
    ("AC", None, "accepted"), ("it", None, "in_transit"), ("DE", None, "delivered"), ("EX", None, "exception"),
    ("AT", None, "delivery_attempt"), ("NY", None, "not_yet_in_system"), ("SP", None, "delivered_to_service_point"),
    ("UN", None, "unknown"), (None, None, "unknown"), ("ZZ", None, "unknown"),
    ("COLLECTION_FAILED", None, "exception"), (None, "OUT_FOR_DELIVERY", "in_transit"),
    (None, "RECEIVED_BY_CARRIER", "accepted"), (None, "DELIVERED_TO_NEIGHBOUR", "delivered"),
    (None, "PARCEL_LOST", "exception"), (None, "CARRIER_STATUS_NOT_MAPPED", "unknown"),
])
def test_tracking_codes_are_normalised(status: str | None, detail: str | None, expected: str) -> None:
    assert normalise_tracking(status, detail) == expected


def test_the_docs_track_event_reads_as_not_yet_scanned() -> None:
    update = tracking_update(json.dumps(DOCS_TRACK_EVENT).encode())
    assert (update.label_id, update.resource_type) == ("se-1234567890", "TRACK_EVENT_V2")
    assert (update.tracking.status, update.tracking.carrier_has_parcel) == ("not_yet_in_system", False)
    assert update.tracking.estimated_delivery_date == datetime(2026, 4, 30, tzinfo=UTC)


def test_an_earlier_scan_counts_even_when_the_label_is_now_an_exception() -> None:
    tracking = LabelTracking.from_raw({"status_code": "EX", "events": [
        {"occurred_at": "2026-01-02T10:00:00Z", "status_code": "EX"},
        {"occurred_at": "2026-01-01T10:00:00Z", "status_code": "AC"}]})
    never = LabelTracking.from_raw({"status_code": "EX", "events": [{"status_code": "NY"}]})
    assert tracking.carrier_has_parcel and not never.carrier_has_parcel


@pytest.mark.parametrize("body", [b"not json", {"resource_url": "https://x/v2/batches/se-1", "data": {}},
                                  {"resource_url": "https://x/v2/labels/se-1/track"}])
def test_other_webhooks_are_not_read_as_tracking(body: Any) -> None:
    with pytest.raises(InvalidTrackingWebhook):
        tracking_update(body)


def v1_client(handler: Any) -> ShipStationClient:
    return ShipStationClient(api_key="k", api_secret="s", base_url="https://ssapi.test",
                             transport=httpx.MockTransport(handler), sleep=lambda s: None,
                             rate_limiter=RateLimiter(sleep=lambda s: None), rng=lambda: 0.0)


def order(number: str) -> dict[str, Any]:
    return {"orderNumber": number, "orderKey": f"key-{number}", "orderDate": "2025-01-01", "orderStatus":
            "awaiting_shipment", "billTo": {"name": "A"}, "shipTo": {"name": "A"}}


def test_createorders_rows_are_named_by_the_key_sent_at_their_position() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/orders":
            return httpx.Response(200, json={"orders": [], "total": 0, "page": 1, "pages": 0})
        return httpx.Response(200, json={"hasErrors": True, "results": [
            {"orderId": 5, "orderNumber": "A", "orderKey": "key-A", "success": True, "errorMessage": None},
            {"orderId": 0, "orderNumber": None, "orderKey": None, "success": False, "errorMessage": "bad"}]})

    with v1_client(handler) as client:
        rows = client.create_orders([order("A"), order("B")])
    assert [(r.order_key, r.order_number, r.order_id, r.success) for r in rows] == [
        ("key-A", "A", 5, True), ("key-B", "B", None, False)]
    assert rows[1].current_status is None and not rows[1].locked


def test_a_createorders_answer_with_the_wrong_row_count_is_a_server_error() -> None:
    reply = {"hasErrors": False, "results": [{"orderId": 5, "success": True}]}
    with v1_client(lambda request: httpx.Response(200, json=reply)) as client, pytest.raises(ServerError):
        client.create_orders([order("A"), order("B")])


def test_v2_arguments_are_checked_before_any_request() -> None:
    sent: list[httpx.Request] = []
    client = ShipStationV2Client(api_key="k", base_url="https://api.test", pacer=default_pacer(sleep=lambda s: None),
                                 transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)))
    with client:
        with pytest.raises(ValueError, match="aware"):
            list(client.iter_shipments(modified_at_start=datetime(2026, 1, 1)))
        with pytest.raises(ValueError, match="shipment_status"):
            list(client.iter_shipments(shipment_status="shipped"))
    assert sent == []

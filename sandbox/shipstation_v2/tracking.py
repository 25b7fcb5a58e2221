"""Tracking of the account's labels (`GET /v2/labels/{label_id}/track`, reference §5.3).

The document's fields follow the V2 OpenAPI copy's `tracking_information` and the docs' TRACK_EVENT_V2
example (docs.shipstation.com "Webhook Payload Schemas"): `tracking_number, tracking_url, status_code,
status_detail_code, status_description, status_detail_description, carrier_code, carrier_id (an integer),
carrier_detail_code, carrier_status_code, carrier_status_description, ship_date,
estimated_delivery_date, actual_delivery_date, exception_description, events[]`. `status_code` is
one of the two-letter codes of §5.3 (UN, AC, IT, DE, EX, AT, NY, SP); the spec copy types it with
the detail enum, which the docs' own example contradicts (`"status_code": "NY"`).

Assumptions (not documented; `[sandbox]` where a text is ours):
- a label starts `NY` ("Not Yet In System") with no events; only the control plane moves it (a
  carrier scan). Its estimated delivery is the ship date + 3 days; `DE`/`SP` set `actual_delivery_date`;
  `EX` sets `exception_description`. Any code may follow any other, as carriers report them.
- events are listed newest first, each with `occurred_at` (ISO-8601 UTC `Z`) and
  `carrier_occurred_at` (the same instant as the carrier's local wall time, no offset);
- voided labels keep the tracking they had and cannot be advanced (400).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sandbox.shipstation_v2 import carriers

Record = dict[str, Any]
# status_code → (status_description, status_detail_code, status_detail_description, carrier_status_code,
#                carrier_detail_code, carrier_status_description)
STATUSES: dict[str, tuple[str, str, str, str, str, str]] = {
    "UN": ("Unknown", "CARRIER_STATUS_NOT_MAPPED", "The carrier's status could not be mapped.", "UN", "UN",
           "[sandbox] Status unavailable"),
    "NY": ("Not Yet In System", "NOT_YET_RECEIVED_BY_CARRIER", "The carrier has not received the parcel yet.", "M",
           "MP", "Shipper created a label, the carrier has not received the package yet."),
    "AC": ("Accepted", "RECEIVED_BY_CARRIER", "The carrier has received the parcel.", "P", "OR", "Origin Scan"),
    "IT": ("In Transit", "IN_TRANSIT", "The parcel is on its way.", "I", "DP", "Departed from Facility"),
    "AT": ("Delivery Attempt", "ATTEMPTED_DELIVERY", "Delivery was attempted.", "X", "48",
           "The receiver was not available for delivery."),
    "DE": ("Delivered", "DELIVERED", "Your shipment has been delivered.", "D", "KB", "Delivered"),
    "SP": ("Delivered To Service Point", "DELIVERED_TO_LOCKER_COLLECTION_POINT",
           "The parcel is waiting at a service point.", "D", "SP", "Delivered to Access Point"),
    "EX": ("Exception", "NOT_DELIVERED", "The parcel could not be delivered.", "X", "EX",
           "[sandbox] Exception: address not found"),
}
NEXT = {"NY": "AC", "AC": "IT", "IT": "DE", "AT": "DE", "EX": "IT", "UN": "AC"}
DELIVERED = ("DE", "SP")


def iso(moment: datetime | None) -> str | None:
    """Aware datetime → ISO-8601 UTC with milliseconds and `Z`."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _midnight(day: Any) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


class TrackingBook:
    """Tracking state per V1 `shipmentId`: current code and the events so far (newest first)."""

    def __init__(self) -> None:
        self.tracks: dict[int, Record] = {}

    def _track(self, shipment_id: int) -> Record:
        return self.tracks.setdefault(shipment_id, {"status_code": "NY", "events": [], "delivered_at": None})

    def status_code(self, shipment_id: int) -> str:
        """The label's current two-letter status."""
        return self.tracks.get(shipment_id, {}).get("status_code", "NY")

    def advance(self, label: Record, code: str | None, when: datetime, description: str | None = None) -> str:
        """Move a label to `code` (default: the next step NY→AC→IT→DE) as of `when`; the new code."""
        track = self._track(label["shipmentId"])
        code = code or NEXT.get(track["status_code"], track["status_code"])
        wording = STATUSES[code]
        place = (label.get("shipTo") or {}) if code in ("AT", "DE", "SP", "EX") else {}
        track["events"].insert(0, {
            "occurred_at": iso(when), "carrier_occurred_at": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "description": description or wording[5], "city_locality": place.get("city") or "",
            "state_province": place.get("state") or "", "postal_code": place.get("postalCode") or "",
            "country_code": place.get("country") or "", "company_name": None, "signer": None,
            "event_code": wording[4], "carrier_detail_code": wording[4], "status_code": code,
            "status_detail_code": wording[1], "status_description": wording[0],
            "status_detail_description": wording[2], "carrier_status_code": wording[3],
            "carrier_status_description": description or wording[5], "latitude": None, "longitude": None,
            "proof_of_delivery_url": None,
        })
        track["status_code"] = code
        track["delivered_at"] = when if code in DELIVERED else None
        return code

    def document(self, label: Record) -> Record:
        """The `GET /v2/labels/{label_id}/track` body of one V1 label."""
        track = self.tracks.get(label["shipmentId"]) or {"status_code": "NY", "events": [], "delivered_at": None}
        code, number, carrier = track["status_code"], label.get("trackingNumber"), label.get("carrierCode")
        wording = STATUSES[code]
        ship_date = _midnight(label.get("shipDate"))
        latest = track["events"][0] if track["events"] else None
        return {
            "tracking_number": number, "tracking_url": carriers.tracking_url(carrier, number),
            "status_code": code, "status_detail_code": wording[1] if latest else None,
            "status_detail_description": wording[2] if latest else None, "carrier_code": carrier,
            "carrier_id": carriers.tracking_carrier_id(carrier), "carrier_detail_code": wording[4],
            "status_description": wording[0], "carrier_status_code": wording[3],
            "carrier_status_description": latest["carrier_status_description"] if latest else wording[5],
            "ship_date": iso(ship_date),
            "estimated_delivery_date": iso(ship_date + timedelta(days=3)) if ship_date else None,
            "actual_delivery_date": iso(track["delivered_at"]),
            "exception_description": latest["description"] if latest and code == "EX" else None,
            "events": [dict(event) for event in track["events"]],
        }

    def coarse(self, shipment_id: int) -> str:
        """The label's `tracking_status` (`unknown|in_transit|error|delivered`) for label listings."""
        code = self.status_code(shipment_id)
        return {"DE": "delivered", "SP": "delivered", "EX": "error", "AC": "in_transit", "IT": "in_transit",
                "AT": "in_transit"}.get(code, "unknown")

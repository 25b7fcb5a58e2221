"""V2 shipping reads (reference §5.2, §5.3): a mixin of ``ShipStationV2Client``.

- ``label_tracking``: ``GET /v2/labels/{label_id}/track``, status normalised (``v2_models.normalise_tracking``);
- ``iter_shipments`` / ``iter_labels``: the page-number lists (``page``, ``page_size``; ``links.next``
  followed on our own host), oldest first by default so a cursor can advance from what was seen. A
  row modified during a walk moves towards the end and may be met twice: rows are yielded once per
  (id, ``modified_at``). Take the next cursor from the greatest ``modified_at`` received, overlapped;
- ``get_shipment_by_external_id``: ``GET /v2/shipments/external_shipment_id/{id}`` (the V1
  ``orderKey``); ``None`` on 404;
- ``list_carriers`` / ``list_carrier_services``: bare lists, not paged.

- ``subscribe_tracking`` / ``list_webhooks`` / ``delete_webhook``: ``/v2/environment/webhooks``
  (§5.4); :func:`tracking_update` reads a delivered TRACK webhook (after its signature was verified)
  into the label id and its :class:`LabelTracking`.

Datetimes are sent as ISO-8601 UTC with ``Z``; naive ones are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from connectors.common.errors import FatalError, NotFound, ServerError
from connectors.common.http import Params
from connectors.shipstation import v2_settings as settings
from connectors.shipstation.v2_models import Carrier, CarrierService, Label, LabelTracking, Shipment

RawPage = list[dict[str, Any]]


class _Calls(Protocol):
    system: str

    def call(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
             subject: str | None = None, idempotent: bool = True) -> Any: ...

    def _pages(self, path: str, key: str, params: Params) -> Iterator[RawPage]: ...


def iso_utc(value: datetime | None, name: str) -> str | None:
    """``2024-11-04T08:02:11Z`` for an aware datetime; ``ValueError`` for a naive one."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _page_size(size: int) -> int:
    if not 1 <= size <= settings.MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{settings.MAX_PAGE_SIZE}, got {size}")
    return size


def _once(pages: Iterator[RawPage], id_field: str) -> Iterator[dict[str, Any]]:
    seen: set[tuple[Any, Any]] = set()
    for page in pages:
        for row in page:
            marker = (row.get(id_field), row.get("modified_at") or row.get("voided_at"))
            if marker not in seen:
                seen.add(marker)
                yield row


class ShippingReads:
    """Tracking, shipments, labels and carriers of a V2 account."""

    def label_tracking(self: _Calls, label_id: str) -> LabelTracking:
        """The label's tracking: normalised ``status``, ``carrier_has_parcel``, events; ``NotFound`` if unknown."""
        path = settings.LABEL_TRACK_PATH.format(label_id=quote(str(label_id), safe=""))
        body = self.call("GET", path, subject=f"label {label_id}")
        if not isinstance(body, Mapping):
            raise ServerError(f"label {label_id}: tracking is not an object", system=self.system, request=f"GET {path}")
        return LabelTracking.from_raw(body)

    def iter_shipments(
        self: _Calls, *, modified_at_start: datetime | None = None, modified_at_end: datetime | None = None,
        created_at_start: datetime | None = None, created_at_end: datetime | None = None,
        shipment_status: str | None = None, external_shipment_id: str | None = None,
        shipment_number: str | None = None, store_id: str | None = None, sort_by: str = "modified_at",
        sort_dir: str = "asc", page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[Shipment]:
        """Shipments (V1 orders) matching the filters, across all pages, each version once."""
        params = {
            "modified_at_start": iso_utc(modified_at_start, "modified_at_start"),
            "modified_at_end": iso_utc(modified_at_end, "modified_at_end"),
            "created_at_start": iso_utc(created_at_start, "created_at_start"),
            "created_at_end": iso_utc(created_at_end, "created_at_end"),
            "shipment_status": _choice(shipment_status, settings.SHIPMENT_STATUSES, "shipment_status"),
            "external_shipment_id": external_shipment_id, "shipment_number": shipment_number, "store_id": store_id,
            "sort_by": _choice(sort_by, settings.SORT_BY, "sort_by"), "sort_dir": _choice(sort_dir, ("asc", "desc"),
                                                                                        "sort_dir"),
            "page_size": _page_size(page_size),
        }
        rows = self._pages(settings.SHIPMENTS_PATH, "shipments", {k: v for k, v in params.items() if v is not None})
        yield from (Shipment.from_raw(row) for row in _once(rows, "shipment_id"))

    def get_shipment_by_external_id(self: _Calls, external_shipment_id: str) -> Shipment | None:
        """The shipment whose ``external_shipment_id`` (V1 ``orderKey``) is given; ``None`` if there is none."""
        path = settings.SHIPMENT_BY_EXTERNAL_ID_PATH.format(external_shipment_id=quote(external_shipment_id, safe=""))
        try:
            body = self.call("GET", path, subject=f"external_shipment_id {external_shipment_id!r}")
        except NotFound:
            return None
        return Shipment.from_raw(body)

    def iter_labels(
        self: _Calls, *, created_at_start: datetime | None = None, created_at_end: datetime | None = None,
        label_status: str | None = None, shipment_id: str | None = None, tracking_number: str | None = None,
        sort_by: str = "created_at", sort_dir: str = "asc", page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[Label]:
        """Labels (V1 shipments) matching the filters, across all pages."""
        params = {
            "created_at_start": iso_utc(created_at_start, "created_at_start"),
            "created_at_end": iso_utc(created_at_end, "created_at_end"),
            "label_status": _choice(label_status, settings.LABEL_STATUSES, "label_status"),
            "shipment_id": shipment_id, "tracking_number": tracking_number,
            "sort_by": _choice(sort_by, settings.SORT_BY, "sort_by"),
            "sort_dir": _choice(sort_dir, ("asc", "desc"), "sort_dir"), "page_size": _page_size(page_size),
        }
        rows = self._pages(settings.LABELS_PATH, "labels", {k: v for k, v in params.items() if v is not None})
        yield from (Label.from_raw(row) for row in _once(rows, "label_id"))

    def list_carriers(self: _Calls) -> list[Carrier]:
        """Every carrier account connected to ShipStation, with its services."""
        body = self.call("GET", settings.CARRIERS_PATH)
        rows = body.get("carriers") if isinstance(body, Mapping) else None
        if not isinstance(rows, list):
            raise ServerError("carriers list is missing", system=self.system, request=f"GET {settings.CARRIERS_PATH}")
        return [Carrier.from_raw(row) for row in rows]

    def list_carrier_services(self: _Calls, carrier_id: str) -> list[CarrierService]:
        """The services one carrier account offers."""
        path = settings.CARRIER_SERVICES_PATH.format(carrier_id=quote(carrier_id, safe=""))
        body = self.call("GET", path, subject=f"carrier {carrier_id}")
        rows = body.get("services") if isinstance(body, Mapping) else None
        return [CarrierService.model_validate(row) for row in rows or []]

    def list_webhooks(self: _Calls) -> list[dict[str, Any]]:
        """The environment's webhooks (``url`` and ``headers`` may hold secrets: do not log these)."""
        body = self.call("GET", settings.WEBHOOKS_PATH)
        return [dict(hook) for hook in body or [] if isinstance(hook, Mapping)]

    def subscribe_tracking(self: _Calls, url: str, *, headers: Mapping[str, str] | None = None,
                           event: str = "track") -> str:
        """Subscribe ``url`` to tracking changes (``track``, or ``track_event_v2``); the new ``webhook_id``.

        Sent once, retried only after a 429: a lost answer may still have created the hook (409 next time).
        """
        body = {"event": event, "url": url, "headers": [{"key": k, "value": v} for k, v in (headers or {}).items()]}
        reply = self.call("POST", settings.WEBHOOKS_PATH, json=body, subject=f"{event} webhook", idempotent=False)
        if not isinstance(reply, Mapping) or not reply.get("webhook_id"):
            raise ServerError("webhook creation answered no webhook_id", system=self.system,
                              request=f"POST {settings.WEBHOOKS_PATH}")
        return str(reply["webhook_id"])

    def delete_webhook(self: _Calls, webhook_id: str) -> None:
        """Remove one webhook; ``NotFound`` if there is none."""
        self.call("DELETE", f"{settings.WEBHOOKS_PATH}/{quote(webhook_id, safe='')}", subject=f"webhook {webhook_id}")


class InvalidTrackingWebhook(FatalError):
    """A TRACK webhook body we cannot read (kept for replay by the receiver)."""


@dataclass(frozen=True)
class TrackingUpdate:
    """A label's tracking as a TRACK webhook delivered it."""

    label_id: str
    resource_type: str
    tracking: LabelTracking


def tracking_update(body: bytes | str | Mapping[str, Any]) -> TrackingUpdate:
    """Read a verified TRACK webhook (`{"resource_url": ".../v2/labels/<id>/track", "resource_type", "data"}`)."""
    try:
        payload = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        raise InvalidTrackingWebhook("tracking webhook body is not JSON", system=settings.SYSTEM) from None
    url = payload.get("resource_url") if isinstance(payload, Mapping) else None
    parts = [p for p in urlsplit(url).path.split("/") if p] if isinstance(url, str) else []
    if len(parts) < 3 or parts[-1] != "track" or parts[-3] != "labels" or not isinstance(payload.get("data"), Mapping):
        raise InvalidTrackingWebhook(f"not a label tracking webhook: resource_url {url!r}", system=settings.SYSTEM)
    return TrackingUpdate(parts[-2], str(payload.get("resource_type") or ""), LabelTracking.from_raw(payload["data"]))


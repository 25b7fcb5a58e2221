"""Zoho Books as a webhook source: contact events, verified by their HMAC signature, wake the contact sync.

`POST /zoho/webhook`, mounted only when ZOHO_WEBHOOK_SECRET is set (else 404 like any unknown path).

What Zoho signs (reference §13; Zoho Billing/Subscriptions' "Securing webhooks" KB,
zoho.com/us/billing/kb/webhooks/securing-webhooks.html, the scheme integrators report for Books too,
and Books' webhook API takes a 12-50 alphanumeric `secret` "for webhook signature verification"):
header `X-Zoho-Webhook-Signature` = hex HMAC-SHA256, keyed by that secret, over the query-string
pairs (and, for an x-www-form-urlencoded body, its pairs, decoded) sorted by key and joined as
`key + value`, followed by the raw JSON body. The signature carries no timestamp, so a captured
delivery could be sent again at any time: the `delivery_key` (a hash of the query and the body)
stores it once, and the queue answers the first event's id.

Checks after the receiver's own (rate, 404, size): signature missing or wrong -> 401
`{"error": "bad_signature"}` (the body is not parsed before it verifies); then the payload:
Books' default payload is the record under its module key, `{"contact": {"contact_id": ...}}`; a
custom raw JSON or form payload may carry `contact_id` at the top level. Anything else -> 400. The
event is queued as `resource_type` `ZOHO_CONTACT`, `resource_url` `zoho:contacts/<contact_id>`,
`source` "zoho". Nothing in it is trusted beyond "this contact changed": the sensor
(`pipelines.shipstation_zoho.sensors.zoho_contacts_webhook_sensor`) only asks for the
`last_modified_time` poll early, and that poll reads Zoho through the API.

In Zoho Books: Settings -> Automation -> Workflow Actions -> Webhooks, URL
`https://<WEBHOOK_PUBLIC_URL host>/zoho/webhook`, method POST, body "Default Payload", secured with
the same secret as ZOHO_WEBHOOK_SECRET; a workflow rule on Contacts (created, edited) fires it.
Whether Zoho retries a failed delivery is not documented: a lost one changes nothing (polling).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from connectors.zoho_books.webhooks import verify
from ml_connector.webhooks.sources import Refused, delivery_key
from state.webhook_queue import WebhookEvent

ZOHO_PATH = "/zoho/webhook"
CONTACT_EVENT = "ZOHO_CONTACT"
SECRET_PATTERN = re.compile(r"[A-Za-z0-9]{12,50}")  # what Zoho accepts as a webhook secret
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FORM = "application/x-www-form-urlencoded"


class ZohoSource:
    """Signed Zoho Books contact deliveries (see the module docstring)."""

    name = "zoho"
    paths = (ZOHO_PATH,)

    def __init__(self, secret: str) -> None:
        """ValueError unless `secret` is one Zoho can hold (12-50 letters or digits)."""
        if not SECRET_PATTERN.fullmatch(secret or ""):
            raise ValueError("ZOHO_WEBHOOK_SECRET must be the webhook's secret in Zoho: 12-50 letters or digits")
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Any) -> ZohoSource | None:
        """The source when ZOHO_WEBHOOK_SECRET is set, else None (the route is not mounted)."""
        secret = getattr(settings, "zoho_webhook_secret", None)
        value = secret.get_secret_value() if secret is not None else ""
        return cls(value) if value else None

    def __repr__(self) -> str:
        return f"ZohoSource({ZOHO_PATH})"

    def admits(self, request: Request) -> bool:
        """The path is public: authenticity is in the signature, checked once the body is read."""
        return True

    async def accept(self, request: Request, body: bytes, remote: str, now: float) -> WebhookEvent:
        query = list(request.query_params.multi_items())
        form = _form_pairs(body) if _is_form(request) else None
        signed_pairs, signed_body = (query + form, b"") if form is not None else (query, body)
        if not verify(self._secret, request.headers, signed_pairs, signed_body):
            raise Refused(401, "bad_signature")
        contact_id = _contact_id(dict(form) if form is not None else _json_object(body))
        url = f"zoho:contacts/{contact_id}"
        return WebhookEvent(received_at=now, resource_type=CONTACT_EVENT, resource_url=url, source="zoho",
                            body=body.decode("utf-8"), remote=remote,
                            delivery_key=delivery_key("zoho", CONTACT_EVENT, url, body, request.url.query.encode()))


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == _FORM


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(401, "bad_signature") from exc  # pairs we cannot read are pairs we cannot verify


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused(400, "invalid_json") from exc
    if not isinstance(data, dict):
        raise Refused(400, "not_an_object")
    return data


def _contact_id(payload: dict[str, Any]) -> str:
    record = payload.get("contact")
    value = record.get("contact_id") if isinstance(record, dict) else payload.get("contact_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise Refused(400, "not_a_contact")  # another module's webhook, or a contact without a usable id
    return value

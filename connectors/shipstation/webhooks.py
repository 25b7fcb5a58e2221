"""ShipStation webhook payloads and the one rule for following them: only to our own ShipStation.

V1 deliveries are `{"resource_url", "resource_type"}` and unsigned (reference §4, §8.3). The
`resource_url` is fetched with our Basic credentials, so following a URL anywhere else would leak
them and let anyone make us fetch anything: a URL is followed only when its scheme, host and port
are those of the configured base URL, or, for the production host, any `ssapiN.shipstation.com`
over HTTPS (hosts seen in the wild, reference §4), and only to the `/orders` or `/shipments` list.

Our subscription `target_url` may carry a secret token (§4 defences), so it is shown only as
`scheme://host/…` (:func:`redact_url`) and every part of it is scrubbed from errors (:func:`url_secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.common.errors import ConnectorError, FatalError, ServerError, redact
from connectors.shipstation.settings import SYSTEM

V1_EVENTS = ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY", "SHIP_NOTIFY", "ITEM_SHIP_NOTIFY",
             "FULFILLMENT_SHIPPED", "FULFILLMENT_REJECTED")
ResourceKind = Literal["orders", "shipments"]
RESOURCE_KINDS: tuple[ResourceKind, ...] = ("orders", "shipments")
MAX_URL_CHARS = 2048
_PRODUCTION_HOST = re.compile(r"^ssapi\d*\.shipstation\.com$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MIN_SECRET_CHARS = 8  # shorter URL parts ("hooks", "id") are too common to scrub from messages


class ResourceNotAllowed(FatalError):
    """A webhook `resource_url` we refuse to follow (wrong host, scheme or path); nothing was sent."""


class InvalidWebhookPayload(FatalError):
    """A webhook delivery body that is not `{"resource_url": str, "resource_type": <V1 event>}`."""


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def resource_url_allowed(url: str, base_url: str) -> bool:
    """Whether `url` points at the configured ShipStation V1 host (see module docstring)."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return False
    target, base = _origin(url), _origin(base_url)
    if target is None or base is None:
        return False
    if target == base:
        return True
    production = _PRODUCTION_HOST.match(base[1]) is not None and base[0] == "https"
    return production and target[0] == "https" and target[2] == 443 and _PRODUCTION_HOST.match(target[1]) is not None


def redact_url(url: str) -> str:
    """`scheme://host[:port]/…`: enough to recognise a URL, never its path, query or credentials."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        host, port = (parts.hostname, parts.port) if parts else (None, None)
    except ValueError:
        return "<unparseable url>"
    if parts is None or not parts.scheme or not host:
        return "<not a url>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}/…"


def url_secrets(url: str) -> tuple[str, ...]:
    """Every part of `url` past the host that could be a secret, raw and (un)quoted, longest first."""
    parts = urlsplit(url)
    tail = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    pieces = {url, tail, parts.query, parts.fragment, parts.netloc if "@" in parts.netloc else ""}
    pieces |= {value for _, value in parse_qsl(parts.query, keep_blank_values=True)}
    pieces |= set(parts.path.split("/"))
    variants = {form for piece in pieces for form in (piece, unquote(piece), quote(piece, safe=""))}
    return tuple(sorted((v for v in variants if len(v) >= _MIN_SECRET_CHARS), key=len, reverse=True))


def scrub_error(error: ConnectorError, secrets: tuple[str, ...]) -> ConnectorError:
    """Remove `secrets` from an error's message and excerpt, in place (its `request` holds only our path)."""
    error.message = redact(error.message, secrets)
    error.excerpt = redact(error.excerpt, secrets) if error.excerpt else error.excerpt
    error.args = (error.message,)
    return error


def subscription_body(
    target_url: str, event: str, *, store_id: int | None = None, friendly_name: str | None = None
) -> dict[str, Any]:
    """The `POST /webhooks/subscribe` body (§4); `ValueError` for an unknown event or a non-http(s) URL."""
    if event not in V1_EVENTS:
        raise ValueError(f"unknown V1 webhook event {event!r}; expected one of {', '.join(V1_EVENTS)}")
    if not _is_http_url(target_url):
        raise ValueError(f"target_url must be an absolute http(s) URL, got {redact_url(target_url)}")
    body = {"target_url": target_url, "event": event, "store_id": store_id, "friendly_name": friendly_name}
    return {key: value for key, value in body.items() if value is not None}


def _is_http_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def subscription_id(reply: Any) -> int:
    """The new hook's id from a subscribe reply: `{"id": n}` (old spec) or `{"WebHookID": n, ...}` (new, §4)."""
    if isinstance(reply, Mapping):
        for key, value in reply.items():
            if str(key).lower() in ("id", "webhookid") and isinstance(value, int | str) and not isinstance(value, bool):
                try:
                    return int(value)
                except ValueError:
                    break
    # Name the keys only: the new reply echoes `Url`, our secret target.
    shape = sorted(map(str, reply)) if isinstance(reply, Mapping) else type(reply).__name__
    raise ServerError(f"webhook subscribe reply carries no id (got {shape})", system=SYSTEM)


@dataclass(frozen=True)
class ResourceRequest:
    """Where to GET a followed `resource_url`: its list kind, the URL without query, and the query to send."""

    kind: ResourceKind
    url: str
    params: dict[str, str]


def resolve_resource_url(url: str, base_url: str) -> ResourceRequest:
    """Check `url` against the allow-list and split it for paging; raise `ResourceNotAllowed` otherwise.

    The URL's own query is kept except `page`/`pageSize` (the caller pages); a `/shipments` URL always
    gets `includeShipmentItems=true`, whatever it said: SHIP_NOTIFY URLs carry `=False` (§4) and the
    sync needs the lines.
    """
    if not resource_url_allowed(url, base_url):
        raise ResourceNotAllowed(f"refusing to follow resource_url {redact_url(url)}: not our ShipStation host",
                                 system=SYSTEM)
    parts = urlsplit(url)
    kind = _resource_kind(parts.path, urlsplit(base_url).path)
    if kind is None:
        raise ResourceNotAllowed(f"refusing to follow resource_url path {parts.path[:60]!r}: only "
                                 f"{' and '.join('/' + k for k in RESOURCE_KINDS)} lists are followed", system=SYSTEM)
    dropped = {"page", "pagesize"} | ({"includeshipmentitems"} if kind == "shipments" else set())
    params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in dropped}
    if kind == "shipments":
        params["includeShipmentItems"] = "true"
    return ResourceRequest(kind, urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), params)


def _resource_kind(path: str, base_path: str) -> ResourceKind | None:
    prefix = base_path.rstrip("/").lower()
    path = path.lower()
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    name = path.strip("/")
    return name if name in RESOURCE_KINDS else None  # type: ignore[return-value]


class WebhookPayload(BaseModel):
    """A V1 webhook delivery (§8.3): strict types, both fields required, unknown keys ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", str_strip_whitespace=True)

    resource_url: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    resource_type: Literal[V1_EVENTS]  # type: ignore[valid-type]

    @field_validator("resource_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        if _origin(value) is None:
            raise ValueError("must be an absolute http(s) URL without credentials")
        return value

    @classmethod
    def parse(cls, body: bytes | str | dict[str, Any]) -> WebhookPayload:
        """Validate a delivery body (raw JSON or decoded); raise `InvalidWebhookPayload` naming the field."""
        try:
            return cls.model_validate(body) if isinstance(body, dict) else cls.model_validate_json(body)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            field = ".".join(str(part) for part in first["loc"]) or "<body>"
            raise InvalidWebhookPayload(f"webhook payload: {field}: {first['msg']}", system=SYSTEM) from None

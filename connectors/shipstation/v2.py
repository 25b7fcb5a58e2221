"""Typed client for the ShipStation V2 inventory API (reference §5.1, §5.2).

HTTP only: no Dagster, no storage. Rules it keeps:
- auth is the ``API-Key`` header; the key appears in no repr, log line or error (errors are redacted);
- pacing is client-side (V2 rate headers are unverified): at most 200 requests in any minute per
  key per process, and after a 429 nothing is sent until its ``Retry-After`` has passed;
- errors are classified once: 401/403 ``AuthError``, 429 ``RateLimited``, 5xx/408 ``ServerError``,
  other 4xx ``BadRequest`` carrying the V2 ``errors[].message`` text; a 2xx whose body has a
  non-empty ``errors`` array is a ``BadRequest`` too (§5.1: partial errors ride on success codes);
- a 429 is always retried (the server refused the request), a 5xx/timeout only when sending again
  cannot double-apply: reads and ``adjust`` (an absolute quantity), never ``increment``,
  ``decrement`` or ``modify``;
- lists follow ``links.next.href`` (on our own base URL: the key never goes to another host), then
  ``page + 1`` while ``page < pages``; an empty page ends the walk.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.common.auth import ApiKeyAuth, reveal
from connectors.common.errors import (
    AuthError,
    BadRequest,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ServerError,
    excerpt,
    redact,
)
from connectors.common.http import BaseClient, Pacer, Params, decode_json, response_text, retry_after_seconds
from connectors.common.ratelimit import SlidingWindow, shared_limiter
from connectors.common.retry import RetryOn, RetryPolicy
from connectors.shipstation import v2_settings as settings
from connectors.shipstation.v2_models import (
    InventoryLevel,
    InventoryLocation,
    InventoryTransaction,
    InventoryWarehouse,
    Money,
)
from connectors.shipstation.v2_shipping import ShippingReads

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def default_pacer(*, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> SlidingWindow:
    """The V2 budget: at most 200 requests in any 61 s; a 429 holds everything until its Retry-After."""
    return SlidingWindow(settings.RATE_LIMIT_PER_MINUTE, settings.RATE_LIMIT_WINDOW_SECONDS,
                         padding=settings.PACING_PADDING_SECONDS,
                         default_retry_after=settings.DEFAULT_RETRY_AFTER_SECONDS, clock=clock, sleep=sleep)


def shared_pacer(fingerprint: str, host: str, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> SlidingWindow:
    """The process-wide pacer for one API key on one host (per clock/sleep pair, so test clocks stay apart)."""
    return shared_limiter("shipstation-v2", fingerprint, host, lambda: default_pacer(clock=clock, sleep=sleep),
                          scope=(clock, sleep))


def _errors_of(body: Any) -> list[Mapping[str, Any]]:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    return [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def _describe(errors: list[Mapping[str, Any]], body: Any) -> str | None:
    parts = [f"{e.get('error_code') or e.get('error_type') or 'error'}: {e.get('message') or ''}".strip()
             for e in errors]
    if not parts and isinstance(body, Mapping) and isinstance(body.get("message"), str):
        parts = [body["message"]]
    request_id = body.get("request_id") if isinstance(body, Mapping) else None
    return ("; ".join(parts) + (f" (request_id {request_id})" if request_id else "")) if parts else None


class ShipStationV2Client(ShippingReads, BaseClient):
    """ShipStation V2 inventory client: API-Key auth, client-side pacing, retries, typed records.

    ``api_key`` may be a ``SecretStr``. ``sleep`` and ``clock`` drive retries and pacing, so tests
    can fake time. ``max_retries`` counts retries after the first attempt. ``pacer`` defaults to the
    shared per-process pacer for this key and host (200 requests per minute, ``v2_settings``).
    """

    system = settings.SYSTEM

    def __init__(
        self, *, api_key: str | SecretStr, base_url: str = settings.V2_BASE_URL,
        timeout: float = settings.TIMEOUT_SECONDS, transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep, clock: Clock = time.monotonic, max_retries: int = settings.MAX_RETRIES,
        pacer: Pacer | None = None, rng: Callable[[], float] = random.random,
    ) -> None:
        if not reveal(api_key):
            raise AuthError("ShipStation V2 api_key is required", system=settings.SYSTEM)
        auth = ApiKeyAuth(settings.API_KEY_HEADER, api_key, system=settings.SYSTEM)
        self.key_fingerprint = auth.fingerprint
        # One budget per key and host: production has one host; each sandbox (a new port) starts fresh.
        self.pacer = pacer or shared_pacer(auth.fingerprint, base_url, clock=clock, sleep=sleep)
        super().__init__(
            base_url=base_url.rstrip("/"), auth=auth, timeout=timeout, transport=transport,
            headers={"Accept": "application/json"},
            retry=RetryPolicy(max_retries + 1, settings.BACKOFF_BASE_SECONDS, settings.BACKOFF_MAX_SECONDS),
            pacer=self.pacer, secrets=auth.redaction_values(), sleep=sleep, rng=rng,
        )

    def __repr__(self) -> str:
        return f"ShipStationV2Client(base_url={self.base_url!r}, key=sha256:{self.key_fingerprint[:12]})"

    def __enter__(self) -> ShipStationV2Client:
        return self

    # -- transport ------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
             subject: str | None = None, idempotent: bool = True) -> Any:
        """One logical request: retried per policy (only 429s unless ``idempotent``), decoded JSON or None.

        ``subject`` (e.g. ``"sku X at location Y"``) prefixes every error message.
        """
        retry_on = RetryableError if idempotent else RateLimited
        return self.retryer(retry_on)(self._exchange, method, path, params, json, subject)

    def request_json(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
                     retry_on: RetryOn = RetryableError) -> Any:
        """``BaseClient`` entry point, classified the V2 way."""
        return self.retryer(retry_on)(self._exchange, method, path, params, json, None)

    def _exchange(self, method: str, path: str, params: Params | None, body: Any, subject: str | None) -> Any:
        response = self._send(method, path, params, body)
        try:
            decoded = decode_json(response.content) if response.content else None
        except ValueError:
            decoded = None
            if 200 <= response.status_code < 300:
                raise self._error(ServerError, response, "response is not JSON", method, path, subject) from None
        errors = _errors_of(decoded)
        message = _describe(errors, decoded) or response.reason_phrase or "unexpected status"
        status = response.status_code
        if 200 <= status < 300 and not errors:
            return decoded
        if status == 429:
            wait = retry_after_seconds(response.headers)
            retry_after = settings.DEFAULT_RETRY_AFTER_SECONDS if wait is None else wait
            raise self._error(RateLimited, response, message, method, path, subject, retry_after=retry_after)
        kind: type[ConnectorError] = BadRequest
        if status >= 500 or status == 408:
            kind = ServerError
        elif status in (401, 403):
            kind = AuthError
        elif status == 404:
            kind = NotFound
        raise self._error(kind, response, message, method, path, subject)

    def _error(self, kind: type[ConnectorError], response: httpx.Response, message: str, method: str, path: str,
               subject: str | None, **extra: Any) -> ConnectorError:
        text = redact(f"{subject}: {message}" if subject else message, self._secrets)
        return kind(text, system=self.system, status=response.status_code,
                    excerpt=excerpt(response_text(response), self._secrets),
                    request=f"{method} {httpx.URL(path).path}", **extra)

    def _pages(self, path: str, key: str, params: Params) -> Iterator[list[dict[str, Any]]]:
        target, query, page, seen = path, dict(params), 1, set()
        while True:
            envelope = self.call("GET", target, params=query)
            if not isinstance(envelope, Mapping):
                raise ServerError(f"expected a {key!r} envelope", system=self.system, request=f"GET {path}")
            records = [r for r in envelope.get(key) or [] if isinstance(r, Mapping)]
            if not records:
                return
            yield records
            following = self._next(envelope, path, query, page)
            if following is None:
                return
            (target, query), page = following, page + 1
            marker = (target, tuple(sorted(query.items())))
            if marker in seen:
                raise ServerError(f"pagination of {path} loops at page {page}", system=self.system)
            seen.add(marker)

    def _next(self, envelope: Mapping[str, Any], path: str, query: dict[str, Any],
              page: int) -> tuple[str, dict[str, Any]] | None:
        links = envelope.get("links") if isinstance(envelope.get("links"), Mapping) else {}
        nxt = links.get("next") if isinstance(links.get("next"), Mapping) else {}
        href = nxt.get("href")
        if isinstance(href, str) and href:
            # Only the href's path and query are used: the key goes to our base URL's host and nowhere else.
            url = httpx.URL(href)
            return str(httpx.URL(self.base_url).copy_with(path=url.path, query=None)), dict(url.params)
        pages = envelope.get("pages")
        if isinstance(pages, int) and page < pages:
            return path, query | {"page": page + 1}
        return None

    # -- inventory ------------------------------------------------------------------------------

    def iter_inventory(
        self, *, sku: str | None = None, warehouse_id: str | None = None, location_id: str | None = None,
        group_by: str | None = None, page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[InventoryLevel]:
        """Every inventory level matching the filters, across all pages."""
        if group_by is not None and group_by not in settings.GROUP_BY:
            raise ValueError(f"group_by must be one of {settings.GROUP_BY}, got {group_by!r}")
        params = {"sku": sku, "inventory_warehouse_id": warehouse_id, "inventory_location_id": location_id,
                  "group_by": group_by, "limit": _size(page_size)}
        for page in self._pages(settings.INVENTORY_PATH, "inventory", {k: v for k, v in params.items() if v}):
            yield from (InventoryLevel.from_raw(record) for record in page)

    def list_inventory_warehouses(self, *, page_size: int = settings.PAGE_SIZE) -> list[InventoryWarehouse]:
        """Every inventory warehouse."""
        pages = self._pages(settings.INVENTORY_WAREHOUSES_PATH, "inventory_warehouses", {"limit": _size(page_size)})
        return [InventoryWarehouse.from_raw(record) for page in pages for record in page]

    def list_inventory_locations(self, *, page_size: int = settings.PAGE_SIZE) -> list[InventoryLocation]:
        """Every inventory location (each names its warehouse)."""
        pages = self._pages(settings.INVENTORY_LOCATIONS_PATH, "inventory_locations", {"limit": _size(page_size)})
        return [InventoryLocation.from_raw(record) for page in pages for record in page]

    def post_transaction(self, transaction: InventoryTransaction) -> None:
        """``POST /v2/inventory`` (204). Only ``adjust`` is re-sent after a 5xx or timeout."""
        tx = transaction
        self.call("POST", settings.INVENTORY_PATH, json=tx.payload(),
                  subject=f"{tx.transaction_type} sku {tx.sku!r} at location {tx.inventory_location_id!r}",
                  idempotent=tx.transaction_type in settings.IDEMPOTENT_TRANSACTIONS)

    def adjust(self, sku: str, quantity: int, location_id: str, *, reason: str | None = None,
               notes: str | None = None, condition: str | None = None, cost: Money | None = None) -> None:
        """Set the on-hand quantity of ``sku`` at ``location_id`` to ``quantity`` (absolute)."""
        self.post_transaction(InventoryTransaction(
            transaction_type="adjust", sku=sku, quantity=quantity, inventory_location_id=location_id,
            reason=reason, notes=notes, condition=condition, cost=cost))

    def modify(self, sku: str, quantity: int, location_id: str, *, new_location_id: str | None = None,
               new_cost: Money | None = None, new_condition: str | None = None, condition: str | None = None,
               lot: str | None = None, reason: str | None = None, notes: str | None = None) -> None:
        """Change location, cost or condition of ``quantity`` units of ``sku`` (the count stays the same)."""
        self.post_transaction(InventoryTransaction(
            transaction_type="modify", sku=sku, quantity=quantity, inventory_location_id=location_id,
            new_inventory_location_id=new_location_id, new_cost=new_cost, new_condition=new_condition,
            condition=condition, lot=lot, reason=reason, notes=notes))

    # -- health ---------------------------------------------------------------------------------

    def ping(self) -> dict[str, Any]:
        """One cheap authenticated call: ``{"ok": bool, ...}``; never raises a ``ConnectorError``."""
        result: dict[str, Any] = {"system": self.system, "base_url": self.base_url}
        try:
            envelope = self.call("GET", settings.PING_PATH, params={"limit": 1})
        except ConnectorError as error:
            return result | {"ok": False, "status": error.status, "error": type(error).__name__, "message": str(error)}
        total = envelope.get("total") if isinstance(envelope, Mapping) else None
        return result | {"ok": True, "inventory_warehouses_total": total}


def _size(page_size: int) -> int:
    if not 1 <= page_size <= settings.MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{settings.MAX_PAGE_SIZE}, got {page_size}")
    return page_size


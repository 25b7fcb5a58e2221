"""Typed client for the ShipStation V1 API (reference: /work/shared/reference/shipstation.md).

HTTP only: no Dagster, no storage. Datetimes in and out are aware UTC; the Pacific wall-time
conversion the V1 API needs (§1.3) happens here and in the models.

Incremental order reads (§6.2): call :meth:`ShipStationClient.iter_order_pages` with a window
``[cursor - MODIFY_DATE_OVERLAP, now]``. Within one scan the client restarts each query from the last
``modifyDate`` it saw and drops rows met twice (``(orderId, modifyDate)``), so orders edited mid-scan
neither hide others nor appear twice at the same version (see ``paginate.ModifyDateScan``). The
caller's next cursor is the greatest ``modify_date`` it actually received; the overlap covers
same-second edits, the seconds-only filter resolution and the ambiguous DST fall-back hour.

Shipments (labels, §3.1) have no ``modifyDate``: poll them twice, by ``createDate`` for new labels
and by ``voidDate`` for voids (§6.3, §6.4), with :meth:`ShipStationClient.iter_shipment_pages_raw`.
Both walks sort by ``createDate`` and use the same restart-from-the-last-date scan keyed on it
(``paginate.ShipmentScan``). A label's ``createDate`` never changes and labels are never deleted, so
rows cannot leave their place; the restart still guards against ties on ``createDate`` that swap
between two requests, for the price of re-reading one second's rows per page. A label created (or
voided) *during* a scan but sorted before its position is not returned by that scan, so the next
window must start no later than this window's ``end`` minus ``SHIPMENT_DATE_OVERLAP``; in a void
scan the rows are not in ``voidDate`` order, so the greatest ``void_date`` seen is **not** a safe cursor.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import SecretStr

from connectors.common.errors import ConnectorError, RateLimited, ServerError
from connectors.common.http import BaseClient, Params
from connectors.common.retry import RetryPolicy
from connectors.shipstation import settings
from connectors.shipstation.auth import ShipStationAuth
from connectors.shipstation.models import Customer, Order, Product, RawRecord
from connectors.shipstation.order_writes import CreateOrderResult, OrderLocked, OrderWrites
from connectors.shipstation.paginate import (
    KeysetScan,
    ModifyDateScan,
    PageNumberPaginator,
    ShipmentScan,
    modify_date_of,
    record_date,
)
from connectors.shipstation.ratelimit import RateLimiter, shared_limiter
from connectors.shipstation.shipments import Shipment
from connectors.shipstation.timezones import format_pacific_filter
from connectors.shipstation.webhooks import (
    ResourceKind,
    ResourceNotAllowed,
    redact_url,
    resolve_resource_url,
    scrub_error,
    subscription_body,
    subscription_id,
    url_secrets,
)

log = logging.getLogger(__name__)

RawPage = list[dict[str, Any]]
ShipmentDateField = Literal["create", "void"]
__all__ = ["CreateOrderResult", "OrderLocked", "ResourceNotAllowed", "ShipStationClient"]
R = TypeVar("R", bound=RawRecord)


class ShipStationClient(OrderWrites, BaseClient):
    """ShipStation V1 client: Basic auth, header-driven rate limiting, retries, typed records.

    Credentials are keyword-only and may be ``SecretStr``; they appear in no repr, log or error.
    ``sleep`` and ``clock`` drive both the retry backoff and the rate limiter, so tests can fake time.
    ``max_retries`` counts retries after the first attempt. ``rate_limiter`` defaults to the shared
    per-process limiter for this key pair.
    """

    system = settings.SYSTEM
    retry_after_padding = settings.RESET_PADDING_SECONDS  # §6.9: wait Reset + 1 s after a 429

    def __init__(
        self,
        *,
        api_key: str | SecretStr,
        api_secret: str | SecretStr,
        base_url: str = settings.V1_BASE_URL,
        timeout: float = settings.TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = settings.MAX_RETRIES,
        rate_limiter: RateLimiter | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        auth = ShipStationAuth(api_key, api_secret)
        self.key_fingerprint = auth.fingerprint
        self.rate_limiter = rate_limiter or shared_limiter(auth.fingerprint, host=base_url, clock=clock, sleep=sleep)
        super().__init__(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
            retry=RetryPolicy(max_retries + 1, settings.BACKOFF_BASE_SECONDS, settings.BACKOFF_MAX_SECONDS),
            pacer=self.rate_limiter,
            secrets=auth.redaction_values(),
            sleep=sleep,
            rng=rng,
        )

    def __repr__(self) -> str:
        return f"ShipStationClient(base_url={self.base_url!r}, key=sha256:{self.key_fingerprint[:12]})"

    def __enter__(self) -> ShipStationClient:
        return self

    # -- orders ---------------------------------------------------------------------------------

    def iter_order_pages_raw(
        self,
        modify_date_start: datetime,
        modify_date_end: datetime | None = None,
        *,
        page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[RawPage]:
        """Yield orders modified in ``[start, end]`` page by page, oldest first, as decoded JSON dicts.

        Numbers are ``Decimal``/``int``; one page is held at a time. Pages emptied by de-duplication
        are skipped. Datetimes must be aware; they are sent as Pacific wall time.
        """
        scan = ModifyDateScan(modify_date_start, modify_date_end)
        return self._scan_pages(settings.ORDERS_PATH, "orders", scan, {}, page_size)

    def iter_order_pages(
        self,
        modify_date_start: datetime,
        modify_date_end: datetime | None = None,
        *,
        page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[list[Order]]:
        """Like :meth:`iter_order_pages_raw`, parsed into ``Order``s (each keeps ``.raw``).

        A record that does not parse raises ``RecordError`` and ends the scan; callers that must
        skip bad records iterate the raw pages and call ``Order.from_raw`` themselves.
        """
        for page in self.iter_order_pages_raw(modify_date_start, modify_date_end, page_size=page_size):
            yield [Order.from_raw(record) for record in page]

    def iter_orders(
        self,
        modify_date_start: datetime,
        modify_date_end: datetime | None = None,
        *,
        page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[Order]:
        """Orders modified in ``[start, end]``, one at a time, oldest modification first."""
        for page in self.iter_order_pages(modify_date_start, modify_date_end, page_size=page_size):
            yield from page

    def get_order(self, order_id: int) -> Order:
        """One order by ``orderId``; ``NotFound`` if it is gone (merged-away orders 404, §6.7)."""
        return Order.from_raw(self.get_order_raw(order_id))

    def get_order_raw(self, order_id: int) -> dict[str, Any]:
        """One order by ``orderId`` as decoded JSON (for staging), unparsed."""
        return self.get_json(f"{settings.ORDERS_PATH}/{int(order_id)}")

    def latest_modify_date(self, since: datetime) -> datetime | None:
        """The newest order ``modifyDate`` at or after ``since`` (aware UTC), or ``None``: one cheap call."""
        params = {
            "modifyDateStart": format_pacific_filter(since),
            "sortBy": "ModifyDate",
            "sortDir": "DESC",
            "page": 1,
            "pageSize": 1,
        }
        records = _items(self.get_json(settings.ORDERS_PATH, params), "orders")
        return modify_date_of(records[0]) if records else None

    # -- shipments (labels) ----------------------------------------------------------------------

    def newest_shipment_date(self, since: datetime, by: ShipmentDateField = "create") -> datetime | None:
        """The newest label ``createDate`` (one cheap request) or ``voidDate`` (voids are few: the void scan
        is read whole) at or after ``since``, as aware UTC; ``None`` when there is none."""
        if by == "create":
            params = {"createDateStart": format_pacific_filter(since), "sortBy": "CreateDate", "sortDir": "DESC",
                      "page": 1, "pageSize": 1}
            rows = _items(self.get_json(settings.SHIPMENTS_PATH, params), "shipments")
        elif by == "void":
            rows = [r for page in self.iter_shipment_pages_raw(since, by="void", include_items=False) for r in page]
        else:
            raise ValueError(f"by must be 'create' or 'void', got {by!r}")
        field = "createDate" if by == "create" else "voidDate"
        return max((record_date(r, field, ("shipmentId",)) for r in rows if r.get(field)), default=None)

    def iter_shipment_pages_raw(
        self,
        start: datetime,
        end: datetime | None = None,
        *,
        by: ShipmentDateField = "create",
        include_items: bool = True,
        page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[RawPage]:
        """Yield labels created (``by="create"``) or voided (``by="void"``) in ``[start, end]``, as raw pages.

        Oldest ``createDate`` first, each ``shipmentId`` once per scan; bounds are aware datetimes sent
        as Pacific wall time (the end rounded up to the second). See the module docstring for cursors.
        """
        scan = ShipmentScan(start, end, by=by)
        return self._scan_pages(
            settings.SHIPMENTS_PATH, "shipments", scan, {"includeShipmentItems": include_items}, page_size
        )

    def iter_shipments(
        self,
        start: datetime,
        end: datetime | None = None,
        *,
        by: ShipmentDateField = "create",
        include_items: bool = True,
        page_size: int = settings.PAGE_SIZE,
    ) -> Iterator[Shipment]:
        """Like :meth:`iter_shipment_pages_raw`, one parsed ``Shipment`` at a time (bad record: ``RecordError``)."""
        pages = self.iter_shipment_pages_raw(start, end, by=by, include_items=include_items, page_size=page_size)
        for page in pages:
            yield from (Shipment.from_raw(record) for record in page)

    def list_shipments_for_order(self, order_id: int) -> list[Shipment]:
        """Every label of one order (§6.5: there may be many), with items, oldest first."""
        params = {"orderId": int(order_id), "includeShipmentItems": True, "sortBy": "CreateDate", "sortDir": "ASC"}
        unique: dict[Any, dict[str, Any]] = {}
        for page in self.iter_pages_raw(settings.SHIPMENTS_PATH, "shipments", params):
            unique.update((record.get("shipmentId"), record) for record in page)
        return [Shipment.from_raw(record) for record in unique.values() if record.get("orderId") == int(order_id)]

    # -- webhooks (§4) ---------------------------------------------------------------------------

    def iter_resource_pages(
        self, resource_url: str, *, page_size: int = settings.PAGE_SIZE
    ) -> Iterator[tuple[ResourceKind, RawPage]]:
        """Follow a webhook's ``resource_url``: yield ``(kind, raw records)`` per page, kind ``orders|shipments``.

        Raises ``ResourceNotAllowed`` before any request unless the URL is on our ShipStation host
        (``webhooks.resource_url_allowed``) and names the ``/orders`` or ``/shipments`` list.
        """
        target = resolve_resource_url(resource_url, self.base_url)  # raises now, not at the first next()
        id_field = "orderId" if target.kind == "orders" else "shipmentId"

        def pages() -> Iterator[tuple[ResourceKind, RawPage]]:
            seen: set[Any] = set()
            for page in self.iter_pages_raw(target.url, target.kind, target.params, page_size=page_size):
                fresh = [record for record in page if record.get(id_field) not in seen]
                seen.update(record.get(id_field) for record in fresh)
                if fresh:
                    yield target.kind, fresh

        return pages()

    def list_webhooks(self) -> list[dict[str, Any]]:
        """The V1 webhook subscriptions (``Url`` may hold a secret token: do not log these)."""
        reply = self.get_json(settings.WEBHOOKS_PATH)
        return list(reply) if isinstance(reply, list) else _items(reply, "webhooks")

    def subscribe_webhook(
        self, target_url: str, event: str, *, store_id: int | None = None, friendly_name: str | None = None
    ) -> int:
        """Subscribe ``target_url`` to a V1 ``event``; return the new webhook id.

        Sent once, retried only after a 429 (the request was refused, so nothing was created): a
        5xx or a timeout may still have created the hook, so it surfaces for the caller to check
        with :meth:`list_webhooks`. ``target_url`` never appears in logs or errors.
        """
        body = subscription_body(target_url, event, store_id=store_id, friendly_name=friendly_name)
        reply = self._post_once(settings.WEBHOOK_SUBSCRIBE_PATH, body, url_secrets(target_url))
        webhook_id = subscription_id(reply)
        log.info("subscribed ShipStation webhook %s (%s) to %s", webhook_id, event, redact_url(target_url))
        return webhook_id

    def unsubscribe_webhook(self, webhook_id: int) -> None:
        """Delete one webhook subscription; ``NotFound`` if there is no such hook."""
        self.request_json("DELETE", f"{settings.WEBHOOKS_PATH}/{int(webhook_id)}")

    def _post_once(self, path: str, body: dict[str, Any], secrets: tuple[str, ...]) -> Any:
        """POST ``body``, retrying only 429s; ``secrets`` leave each error before anything (the retry log) sees it."""

        def attempt() -> Any:
            try:
                return self._attempt("POST", path, None, body)
            except ConnectorError as error:
                raise scrub_error(error, secrets) from None

        return self.retryer(retry_on=RateLimited)(attempt)

    def iter_order_shipment_pages_raw(self, order_id: int) -> Iterator[RawPage]:
        """Every label of one order, with its items (V1 has no GET for one label, §3.1)."""
        yield from self.iter_pages_raw("/shipments", "shipments", {"orderId": order_id, "includeShipmentItems": True})

    # -- other resources ------------------------------------------------------------------------

    def iter_pages_raw(
        self, path: str, items_key: str, params: Params | None = None, *, page_size: int = settings.PAGE_SIZE
    ) -> Iterator[RawPage]:
        """Walk any V1 page-number list (``/shipments``, ``/fulfillments`` …) yielding raw record lists."""
        paginator = PageNumberPaginator(items_key)
        while True:
            envelope = self.get_json(path, dict(params or {}) | paginator.params(_size(page_size)))
            records = _items(envelope, items_key)
            if records:
                yield records
            if paginator.next_page(envelope) is None:
                return

    def iter_products(self, *, show_inactive: bool = False, page_size: int = settings.PAGE_SIZE) -> Iterator[Product]:
        """Every product (active only unless ``show_inactive``), sorted by SKU."""
        params = {"showInactive": show_inactive, "sortBy": "SKU", "sortDir": "ASC"}
        yield from self._iter_records(settings.PRODUCTS_PATH, "products", params, Product, page_size)

    def iter_customers(
        self, *, sort_by: str = "ModifyDate", sort_dir: str = "DESC", page_size: int = settings.PAGE_SIZE
    ) -> Iterator[Customer]:
        """Every customer; newest modification first by default (no date filter exists, §3.3)."""
        params = {"sortBy": sort_by, "sortDir": sort_dir}
        yield from self._iter_records(settings.CUSTOMERS_PATH, "customers", params, Customer, page_size)

    def _scan_pages(self, path: str, key: str, scan: KeysetScan, params: Params, page_size: int) -> Iterator[RawPage]:
        """Walk ``scan`` (restarting page numbers whenever its keyset moves), yielding unseen records."""
        paginator = PageNumberPaginator(key)
        size = _size(page_size)
        while True:
            envelope = self.get_json(path, dict(params) | scan.params() | paginator.params(size))
            records = _items(envelope, key)
            fresh = scan.admit(records)
            if fresh:
                yield fresh
            if paginator.next_page(envelope) is None:
                return
            if scan.advance(records):
                paginator.restart()

    def _iter_records(self, path: str, key: str, params: Params, model: type[R], page_size: int) -> Iterator[R]:
        for page in self.iter_pages_raw(path, key, params, page_size=page_size):
            yield from (model.from_raw(record) for record in page)

    # -- health ---------------------------------------------------------------------------------

    def ping(self) -> dict[str, Any]:
        """One cheap authenticated call: ``{"ok": bool, ...}`` saying whether the credentials work."""
        result: dict[str, Any] = {"system": self.system, "base_url": self.base_url}
        try:
            envelope = self.get_json(settings.PING_PATH, {"page": 1, "pageSize": 1})
        except ConnectorError as error:
            return result | {"ok": False, "status": error.status, "error": type(error).__name__, "message": str(error)}
        limiter = self.rate_limiter
        return result | {
            "ok": True,
            "orders_total": envelope.get("total") if isinstance(envelope, Mapping) else None,
            "rate_limit": {"limit": limiter.limit, "remaining": limiter.remaining},
        }


def _size(page_size: int) -> int:
    if not 1 <= page_size <= settings.MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{settings.MAX_PAGE_SIZE}, got {page_size}")
    return page_size


def _items(envelope: Any, key: str) -> RawPage:
    if not isinstance(envelope, Mapping):
        raise ServerError(f"expected a {key!r} envelope, got {type(envelope).__name__}", system=settings.SYSTEM)
    records = envelope.get(key) or []
    # Found by the fuzzer: a string here became a page of characters, and a non-object record broke the
    # date scan with an AttributeError. A page that is not a list of objects is a broken response.
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise ServerError(f"expected {key!r} to be a list of objects", system=settings.SYSTEM)
    return records

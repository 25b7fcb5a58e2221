"""Typed client for the ShipStation V1 API (reference: /work/shared/reference/shipstation.md).

HTTP only: no Dagster, no storage. Datetimes in and out are aware UTC; the Pacific wall-time
conversion the V1 API needs (§1.3) happens here and in the models.

Incremental order reads (§6.2): call :meth:`ShipStationClient.iter_order_pages` with a window
``[cursor - MODIFY_DATE_OVERLAP, now]``. Within one scan the client restarts each query from the last
``modifyDate`` it saw and drops rows met twice (``(orderId, modifyDate)``), so orders edited mid-scan
neither hide others nor appear twice at the same version (see ``paginate.ModifyDateScan``). The
caller's next cursor is the greatest ``modify_date`` it actually received; the overlap covers
same-second edits, the seconds-only filter resolution and the ambiguous DST fall-back hour.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from connectors.common.errors import ConnectorError, ServerError
from connectors.common.http import BaseClient, Params
from connectors.common.retry import RetryPolicy
from connectors.common.timezones import format_pacific_filter
from connectors.shipstation import settings
from connectors.shipstation.auth import ShipStationAuth
from connectors.shipstation.models import Customer, Order, Product, RawRecord
from connectors.shipstation.paginate import ModifyDateScan, PageNumberPaginator, modify_date_of
from connectors.shipstation.ratelimit import RateLimiter, shared_limiter

log = logging.getLogger(__name__)

RawPage = list[dict[str, Any]]
R = TypeVar("R", bound=RawRecord)


class ShipStationClient(BaseClient):
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
        self.rate_limiter = rate_limiter or shared_limiter(auth.fingerprint, clock=clock, sleep=sleep)
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
        paginator = PageNumberPaginator("orders")
        while True:
            envelope = self.get_json(settings.ORDERS_PATH, scan.params() | paginator.params(_size(page_size)))
            records = _items(envelope, "orders")
            fresh = scan.admit(records)
            if fresh:
                yield fresh
            if paginator.next_page(envelope) is None:
                return
            if scan.advance(records):
                paginator.restart()

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
    return list(envelope.get(key) or [])

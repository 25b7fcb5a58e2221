"""Typed client for the Walmart Marketplace (US) Seller API (reference: walmart-marketplace.md).

HTTP only. Every call carries ``WM_SEC.ACCESS_TOKEN``, a fresh ``WM_QOS.CORRELATION_ID``,
``WM_SVC.NAME`` and ``Accept`` (:mod:`connectors.walmart.auth`); pacing is one token budget per
endpoint learned from ``x-current-token-count`` / ``x-next-replenish-time`` (§10), shared by every
client on the same credentials and host; errors are classified by :mod:`connectors.walmart.errors`
and retried only in ``connectors.common.retry``.

Orders and returns page with ``nextCursor``, a ready-made query string appended unchanged to the
list path (§7, §8). Reconciliation files are streamed to a file object, never held whole (§9).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import IO, Any, Literal
from urllib.parse import parse_qsl, quote

import httpx
from pydantic import SecretStr

from connectors.common.auth import TokenCache
from connectors.common.errors import (
    ConnectorError,
    NotFound,
    RetryableError,
    ServerError,
    TransportError,
    excerpt,
)
from connectors.common.http import BaseClient, Params, decode_json, response_text
from connectors.common.ratelimit import PerEndpointBuckets, TokenBucket, shared_limiter
from connectors.common.retry import RetryOn, RetryPolicy
from connectors.walmart import settings
from connectors.walmart.auth import WalmartAuth, correlation_id
from connectors.walmart.errors import classify
from connectors.walmart.models import Order, ReturnOrder, format_instant

log = logging.getLogger(__name__)

RawPage = list[dict[str, Any]]
ReportVersion = Literal["v1", "legacy"]


class WalmartClient(BaseClient):
    """Walmart Marketplace client: OAuth token reused across calls, per-endpoint pacing, typed records.

    ``clock`` drives the token expiry and the pacer, ``sleep`` the pacer and the retry backoff, so
    tests fake time. ``pacer`` defaults to the process-wide per-endpoint buckets for these credentials.
    ``token_cache`` shares the access token with other processes (see :mod:`connectors.walmart.auth`).
    """

    system = settings.SYSTEM

    def __init__(self, *, client_id: str | SecretStr, client_secret: str | SecretStr,
                 base_url: str = settings.PRODUCTION_BASE_URL, svc_name: str = settings.SERVICE_NAME,
                 channel_type: str = "", timeout: float = settings.TIMEOUT_SECONDS,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, max_retries: int = settings.MAX_RETRIES,
                 pacer: PerEndpointBuckets | None = None, rng: Callable[[], float] = random.random,
                 new_id: Callable[[], str] = correlation_id, token_cache: TokenCache | None = None) -> None:
        base = base_url.rstrip("/")
        self.auth = WalmartAuth(base, client_id, client_secret, svc_name=svc_name, channel_type=channel_type,
                                timeout=timeout, transport=transport, clock=clock, new_id=new_id,
                                token_cache=token_cache)
        self.pacer = pacer or shared_limiter("walmart-endpoints", self.auth.fingerprint, base,
                                             lambda: _buckets(clock, sleep), scope=(clock, sleep))
        super().__init__(base_url=base, auth=self.auth, timeout=timeout, transport=transport,
                         headers={"Accept": "application/json"},
                         retry=RetryPolicy(max_retries + 1, settings.BACKOFF_BASE_SECONDS,
                                           settings.BACKOFF_MAX_SECONDS),
                         pacer=self.pacer, secrets=self.auth.redaction_values(), sleep=sleep, rng=rng)

    @classmethod
    def from_settings(cls, conf: Any, **kwargs: Any) -> WalmartClient:
        """Build from a :class:`~connectors.walmart.settings.WalmartSettings` (or anything with its fields)."""
        return cls(client_id=conf.walmart_client_id, client_secret=conf.walmart_client_secret,
                   base_url=conf.walmart_base_url, svc_name=conf.walmart_svc_name,
                   channel_type=getattr(conf, "walmart_channel_type", ""), **kwargs)

    def __repr__(self) -> str:
        return f"WalmartClient(base_url={self.base_url!r}, client=sha256:{self.auth.fingerprint[:12]})"

    def __enter__(self) -> WalmartClient:
        return self

    # -- the one request primitive ------------------------------------------------------------------
    def request_json(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
                     retry_on: RetryOn = RetryableError, record: str | None = None) -> Any:
        """Send one logical request (retried per policy) and decode its JSON body (``Decimal`` numbers).

        ``record`` (a PO, return or SKU) is named in the error when Walmart refuses the request.
        """
        return self.retryer(retry_on)(self._walmart_attempt, method, path, params, json, record)

    def _attempt(self, method: str, path: str, params: Params | None, body: Any) -> Any:
        return self._walmart_attempt(method, path, params, body, None)

    def _walmart_attempt(self, method: str, path: str, params: Params | None, body: Any,
                         record: str | None) -> Any:
        response = self._send(method, path, params, body)
        classify(response, secrets=self._secrets_now(), record=record)
        if not response.content:
            return None
        try:
            return decode_json(response.content)
        except ValueError as error:
            raise ServerError(f"response is not JSON ({error})", system=self.system, status=response.status_code,
                              excerpt=excerpt(response_text(response), self._secrets_now()),
                              request=f"{method} {path}") from None

    def _secrets_now(self) -> tuple[str, ...]:
        return self.auth.redaction_values()  # includes the current token, which changes

    # -- orders (§7) --------------------------------------------------------------------------------
    def iter_order_pages_raw(self, *, created_start: datetime | None = None, created_end: datetime | None = None,
                             modified_start: datetime | None = None, modified_end: datetime | None = None,
                             status: str | None = None, limit: int = settings.ORDERS_PAGE_LIMIT) -> Iterator[RawPage]:
        """Orders page by page as decoded JSON; filters are aware datetimes sent as ISO-8601 UTC."""
        params = {"createdStartDate": created_start, "createdEndDate": created_end,
                  "lastModifiedStartDate": modified_start, "lastModifiedEndDate": modified_end}
        query: dict[str, Any] = {k: format_instant(v) for k, v in params.items() if v is not None}
        query |= {"status": status, "limit": _limit(limit, settings.ORDERS_PAGE_LIMIT)}
        return self._cursor_pages(settings.ORDERS_PATH, query, _order_page)

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        """Orders one at a time (see :meth:`iter_order_pages_raw` for the filters)."""
        for page in self.iter_order_pages_raw(**filters):
            yield from (Order.from_raw(raw) for raw in page)

    def count_orders(self, *, created_start: datetime | None = None, modified_start: datetime | None = None) -> int:
        """How many orders match (``meta.totalCount`` of a one-order page): a cheap "anything new?" probe."""
        params = {"createdStartDate": created_start, "lastModifiedStartDate": modified_start}
        query: dict[str, Any] = {k: format_instant(v) for k, v in params.items() if v is not None} | {"limit": 1}
        try:
            reply = self.request_json("GET", settings.ORDERS_PATH, params=query)
        except NotFound as error:
            if _no_match(error):
                return 0
            raise
        meta = ((reply or {}).get("list") or {}).get("meta") or {} if isinstance(reply, Mapping) else {}
        return int(meta.get("totalCount") or 0)

    def get_order_raw(self, purchase_order_id: str) -> dict[str, Any]:
        reply = self.request_json("GET", f"{settings.ORDERS_PATH}/{_segment(purchase_order_id)}",
                                  record=purchase_order_id)
        order = (reply or {}).get("order") if isinstance(reply, Mapping) else None
        if not isinstance(order, Mapping):
            raise ServerError("order reply without an 'order'", system=self.system)
        return dict(order)

    def get_order(self, purchase_order_id: str) -> Order:
        return Order.from_raw(self.get_order_raw(purchase_order_id))

    def acknowledge(self, purchase_order_id: str) -> dict[str, Any]:
        """Acknowledge a whole purchase order (§7: no body); acknowledging twice is harmless."""
        path = f"{settings.ORDERS_PATH}/{_segment(purchase_order_id)}/acknowledge"
        return self.request_json("POST", path, record=purchase_order_id) or {}

    # -- returns (§8) -------------------------------------------------------------------------------
    def iter_return_pages_raw(self, *, modified_start: datetime | None = None, modified_end: datetime | None = None,
                              created_start: datetime | None = None, created_end: datetime | None = None,
                              status: str | None = None,
                              limit: int = settings.RETURNS_PAGE_LIMIT) -> Iterator[RawPage]:
        params = {"returnLastModifiedStartDate": modified_start, "returnLastModifiedEndDate": modified_end,
                  "returnCreationStartDate": created_start, "returnCreationEndDate": created_end}
        query: dict[str, Any] = {k: format_instant(v) for k, v in params.items() if v is not None}
        query |= {"status": status, "limit": _limit(limit, settings.RETURNS_PAGE_LIMIT)}
        return self._cursor_pages(settings.RETURNS_PATH, query, _return_page)

    def iter_returns(self, **filters: Any) -> Iterator[ReturnOrder]:
        for page in self.iter_return_pages_raw(**filters):
            yield from (ReturnOrder.from_raw(raw) for raw in page)

    # -- reconciliation reports (§9) ----------------------------------------------------------------
    def available_recon_dates(self, version: ReportVersion = "v1") -> list[str]:
        """Report dates exactly as Walmart spells them (``MMDDYYYY`` in the samples): pass them back as is."""
        reply = self.request_json("GET", settings.RECON_DATES_PATH, params=_version(version))
        dates = reply.get("availableApReportDates") if isinstance(reply, Mapping) else None
        return [str(d) for d in dates or []]

    def download_recon_file(self, report_date: str, into: IO[bytes], *, version: ReportVersion = "v1") -> str:
        """Stream one reconciliation file (a ZIP holding a CSV) into ``into``; return its file name."""
        params = {"reportDate": report_date, **_version(version)}
        return self.retryer()(self._download, settings.RECON_FILE_PATH, params, into, report_date)

    def _download(self, path: str, params: dict[str, str], into: IO[bytes], record: str) -> str:
        request = self._http.build_request("GET", path, params=params, headers={"Accept": "application/octet-stream"},
                                           timeout=settings.DOWNLOAD_TIMEOUT_SECONDS)
        self.pacer.before_request(request)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as error:
            raise TransportError(f"download failed: {type(error).__name__}", system=self.system,
                                 request=f"GET {path}") from None
        try:
            self.pacer.after_response(response)
            if not response.is_success:
                response.read()
                classify(response, secrets=self._secrets_now(), record=record)
            into.seek(0)
            into.truncate()
            for chunk in response.iter_bytes(1 << 16):
                into.write(chunk)
        except httpx.TransportError as error:
            raise TransportError(f"download cut off: {type(error).__name__}", system=self.system,
                                 request=f"GET {path}") from None
        finally:
            response.close()
        into.seek(0)
        return _filename(response.headers.get("Content-Disposition", "")) or f"{record}.zip"

    # -- health -------------------------------------------------------------------------------------
    def ping(self) -> dict[str, Any]:
        """One cheap authenticated call: ``{"ok": bool, ...}`` saying whether the credentials work."""
        result: dict[str, Any] = {"system": self.system, "base_url": self.base_url}
        since = datetime.now().astimezone() - timedelta(days=7)
        try:
            count = self.count_orders(created_start=since)
        except ConnectorError as error:
            return result | {"ok": False, "status": error.status, "error": type(error).__name__, "message": str(error)}
        return result | {"ok": True, "orders_last_7_days": count, "token_requests": self.auth.token_requests}

    # -- paging -------------------------------------------------------------------------------------
    def _cursor_pages(self, path: str, query: dict[str, Any],
                      unpack: Callable[[Any], tuple[RawPage, str | None]]) -> Iterator[RawPage]:
        params: dict[str, Any] = query
        while True:
            try:
                reply = self.request_json("GET", path, params=params)
            except NotFound as error:
                if _no_match(error):
                    return  # Walmart answers a list with no match as 404 CONTENT_NOT_FOUND
                raise
            records, cursor = unpack(reply)
            if records:
                yield records
            if not cursor:
                return
            # The cursor is the next page's whole query string, sent back unchanged (§7).
            params = dict(parse_qsl(cursor.lstrip("?"), keep_blank_values=True))


def _no_match(error: NotFound) -> bool:
    """A list query that matched nothing (CONTENT_NOT_FOUND), not a wrong path (URI_NOT_FOUND)."""
    return any(e.code.upper().startswith("CONTENT_NOT_FOUND") for e in getattr(error, "errors", ()))


def _buckets(clock: Callable[[], float], sleep: Callable[[float], None]) -> PerEndpointBuckets:
    default = TokenBucket(settings.DEFAULT_RATE_PER_MINUTE, 60.0, clock=clock, sleep=sleep)
    return PerEndpointBuckets(default, default_retry_after=settings.DEFAULT_RETRY_AFTER_SECONDS,
                              clock=clock, sleep=sleep)


def _order_page(reply: Any) -> tuple[RawPage, str | None]:
    body = (reply or {}).get("list") or {} if isinstance(reply, Mapping) else {}
    orders = (body.get("elements") or {}).get("order") or []
    return list(orders), (body.get("meta") or {}).get("nextCursor") or None


def _return_page(reply: Any) -> tuple[RawPage, str | None]:
    body = reply if isinstance(reply, Mapping) else {}
    return list(body.get("returnOrders") or []), (body.get("meta") or {}).get("nextCursor") or None


def _limit(value: int, ceiling: int) -> int:
    if not 1 <= value <= ceiling:
        raise ValueError(f"limit must be 1..{ceiling}, got {value}")
    return value


def _version(version: ReportVersion) -> dict[str, str]:
    return {"reportVersion": "v1"} if version == "v1" else {}


def _segment(value: str) -> str:
    text = str(value).strip()
    if not text or "/" in text:
        raise ValueError(f"not a Walmart id: {value!r}")
    return quote(text, safe="")


def _filename(disposition: str) -> str | None:
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip('"')
    return None

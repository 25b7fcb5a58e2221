"""HTTP client for TallyPrime's XML server (port 9000) or for our LAN agent in front of it.

HTTP 200 is not success (reference §2): every reply body is parsed. Errors are classified
once, here: `TallyUnavailable` may be retried; `TallyOutcomeUnknown` means an import may
have been committed and must be resolved by lookup before anything is re-sent.

Company login (TALLY_USERNAME / TALLY_PASSWORD). What we found, and how sure:
- Tally's developer docs describe no credentials for XML over HTTP: the port has no authentication,
  and company security (users, passwords, TallyVault) is enforced when a person opens the company in
  TallyPrime; requests then run in that session (reference §8) [V/R]. So a protected company that
  nobody opened is simply "not loaded" to us, and only a person can fix that.
- Several independent integrators (JavaScript and PHP clients found by code search) send the login
  as static variables `<SVUSERNAME>` and `<SVPASSWORD>` beside SVCURRENTCOMPANY, only when
  configured; one uses `<SVUSER>`. None cites Tally, and none shows Tally's reply to a wrong one [R/U].
- We therefore send SVUSERNAME/SVPASSWORD in every request's STATICVARIABLES when configured (a
  Tally that does not need them ignores unknown static variables [U]), and read any LINEERROR that
  names a password or access (`LOGIN_REFUSED_MARKERS`) as `CompanyLoginRequired`. Verify on a real
  protected company before go-live.
The login never reaches a log line, a repr or `on_exchange`: the audited request carries
`[redacted]` in its place, and any echo of it in a reply is blanked too.
"""

from __future__ import annotations

import logging
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

import httpx

from connectors.common.http import default_tls
from connectors.tally import codec, stock_xml
from connectors.tally.errors import (
    CompanyLoginRequired,
    CompanyNotLoaded,
    TallyAuthError,
    TallyError,
    TallyOutcomeUnknown,
    TallyProtocolError,
    TallyRejected,
    TallyUnavailable,
)
from connectors.tally.models import (
    CompanyRecord,
    ImportResult,
    LedgerRecord,
    Master,
    StockItemRecord,
    TallyStatus,
    Voucher,
    VoucherAmounts,
    VoucherId,
    VoucherRecord,
)
from connectors.tally.settings import (
    CLIENT_CONNECT_TIMEOUT_SECONDS,
    CLIENT_TIMEOUT_SECONDS,
    COMPANY_NOT_FOUND_TEXT,
    LOGIN_REFUSED_MARKERS,
    REQUEST_KIND_HEADER,
    Encoding,
    RequestKind,
)
from connectors.tally.stock_models import MasterIdentity, StockItemPrices
from connectors.tally.streaming import AuditCopy, decode_chunks
from connectors.tally.xml_build import REDACTED_LOGIN, Login, with_login
from connectors.tally.xml_export import COMPANY_FETCH
from connectors.tally.xml_parse import line_errors
from connectors.tally.xml_vouchers import RenderedVoucher

logger = logging.getLogger(__name__)

# Nothing reached the server: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


T = TypeVar("T")
SMALL_REPLY_CHARS = 1 << 16  # a streamed reply this short is also kept whole, to read a refused login from it


@dataclass(frozen=True)
class Exchange:
    """One request/response pair, handed to `on_exchange` for the audit trail (no credentials).

    A reply read as a stream (the voucher exports) is kept only zlib-compressed, in
    `deflated_response`; `response` inflates it when asked, so an audit sink that stores
    compressed bodies should take `deflated_response` as it is and never ask for `response`.
    """

    operation: str
    kind: RequestKind
    request: bytes
    plain_response: bytes | None
    status: int | None
    duration: float
    error: str | None
    deflated_response: bytes | None = None

    @property
    def response(self) -> bytes | None:
        if self.deflated_response is not None:
            return zlib.decompress(self.deflated_response)
        return self.plain_response


class TallyClient:
    """Typed access to one TallyPrime company, directly or through the LAN agent (`token` set).

    `username` / `password`: the company's login when it has security (see the module docstring).
    """

    def __init__(
        self,
        url: str,
        company: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = CLIENT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        encoding: Encoding = "utf-16",
        on_exchange: Callable[[Exchange], None] | None = None,
        ca_cert: str | None = None,
    ) -> None:
        self.url = url
        self.company_name = company
        self._token = token
        self._login = Login(username or "", password or "") if (username or password) else None
        self._encoding: Encoding = encoding
        self._on_exchange = on_exchange
        connect = min(timeout, CLIENT_CONNECT_TIMEOUT_SECONDS)
        # `ca_cert`: the agent's self-signed certificate (TALLY_CA_CERT): trusted alone, no public CA.
        verify = ssl.create_default_context(cafile=ca_cert) if ca_cert else default_tls()
        self._http = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout, connect=connect), verify=verify)

    def __repr__(self) -> str:
        return (f"TallyClient(url={self.url!r}, company={self.company_name!r}, via_agent={self._token is not None}, "
                f"login={self._login is not None})")

    def close(self) -> None:
        """Close the underlying HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> TallyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def ping(self) -> TallyStatus:
        """Whether Tally answers, which companies are loaded and whether ours is among them."""
        try:
            names = [c.name for c in self.companies()]
        except TallyUnavailable:
            return TallyStatus(running=False, company_loaded=False)
        except CompanyNotLoaded:
            return TallyStatus(running=True, company_loaded=False)
        return TallyStatus(running=True, company_loaded=self.company_name in names, companies=names)

    def check_login(self) -> None:
        """Ask one question about the configured company itself.

        Returns when Tally answers it; raises CompanyLoginRequired when Tally refuses the login
        (missing or wrong), CompanyNotLoaded when the company is not open, TallyUnavailable when
        Tally cannot be reached.
        """
        xml = codec.collection_request(self.company_name or None, "MLCompanies", "Company", COMPANY_FETCH)
        reply = self._post("check_login", "export", xml)
        if not reply.strip() or codec.is_server_running(reply):
            raise CompanyNotLoaded("no company is open in TallyPrime")
        codec.parse_companies(reply)

    def companies(self) -> list[CompanyRecord]:
        """All loaded companies (an empty list when none is loaded)."""
        reply = self._post("companies", "export", codec.company_request())
        if codec.is_server_running(reply):
            return []
        try:
            return codec.parse_companies(reply)
        except CompanyNotLoaded:
            return []

    def company(self) -> CompanyRecord:
        """The configured company; CompanyNotLoaded if it is not loaded (names match exactly, §9.3)."""
        loaded = self.companies()
        for record in loaded:
            if record.name == self.company_name:
                return record
        raise CompanyNotLoaded(f"company {self.company_name!r} is not loaded; loaded: {[c.name for c in loaded]}")

    def list_ledgers(self, *, with_balances: bool = False) -> list[LedgerRecord]:
        """All ledgers of the company."""
        return codec.parse_ledgers(self._post("list_ledgers", "export",
                                               codec.ledgers_request(self.company_name, with_balances=with_balances)))

    def list_stock_items(self, from_date: date | None = None, to_date: date | None = None) -> list[StockItemRecord]:
        """All stock items with closing quantity and value for the period."""
        xml = codec.stock_items_request(self.company_name, from_date, to_date)
        return codec.parse_stock_items(self._post("list_stock_items", "export", xml))

    def stock_item_prices(self, *, alter_id_after: int | None = None, as_of: date | None = None,
                          quantities: bool = True) -> Iterator[StockItemPrices]:
        """Stock items altered after the AlterID cursor (all if None) with rate lists and closing quantity."""
        xml = stock_xml.stock_prices_request(self.company_name, alter_id_after=alter_id_after, as_of=as_of,
                                             quantities=quantities)
        return stock_xml.iter_stock_prices(self._post("stock_item_prices", "export", xml))

    def stock_item_identities(self) -> Iterator[MasterIdentity]:
        """Every stock item's name, GUID, MasterId and AlterId: what a deletion check compares (§6)."""
        xml = stock_xml.stock_identities_request(self.company_name)
        return stock_xml.iter_identities(self._post("stock_item_identities", "export", xml))

    def stock_item_quantities(self, as_of: date | None = None) -> Iterator[tuple[str, Decimal | None]]:
        """(name, closing quantity) of every stock item as of `as_of`."""
        xml = stock_xml.stock_quantities_request(self.company_name, as_of)
        return stock_xml.iter_quantities(self._post("stock_item_quantities", "export", xml))

    def list_vouchers(
        self,
        voucher_type: str | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> list[VoucherRecord]:
        """Vouchers of a type within a date range (missing ends default to the books' span)."""
        xml = codec.vouchers_request(self.company_name, voucher_type, from_date, to_date,
                                     alter_id_after=alter_id_after, period=self._period(from_date, to_date))
        return codec.parse_vouchers(self._post("list_vouchers", "export", xml))

    def list_voucher_ids(
        self,
        voucher_type: str | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> list[VoucherId]:
        """As `list_vouchers`, but only who each voucher is: Tally sends no lines and we parse none."""
        return self._cut_export("list_voucher_ids", voucher_type, from_date, to_date, alter_id_after,
                                amounts=False, parse=codec.parse_voucher_ids)

    def list_voucher_amounts(
        self,
        voucher_type: str | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> list[VoucherAmounts]:
        """As `list_vouchers`, but of each line only its ledger, amount and party flag are parsed."""
        return self._cut_export("list_voucher_amounts", voucher_type, from_date, to_date, alter_id_after,
                                amounts=True, parse=codec.parse_voucher_amounts)

    def _cut_export(self, operation: str, voucher_type: str | None, from_date: date | None, to_date: date | None,
                    alter_id_after: int | None, *, amounts: bool, parse: Callable[[Iterable[str]], T]) -> T:
        xml = codec.voucher_ids_request(self.company_name, voucher_type, from_date, to_date,
                                        alter_id_after=alter_id_after, period=self._period(from_date, to_date),
                                        amounts=amounts)
        return self._post_streamed(operation, "export", xml, parse)

    def get_voucher(self, master_id: int) -> VoucherRecord | None:
        """The voucher with this MasterId, or None."""
        xml = codec.vouchers_request(self.company_name, master_id=master_id, period=self._period(None, None))
        found = codec.parse_vouchers(self._post("get_voucher", "export", xml))
        return found[0] if found else None

    def _period(self, from_date: date | None, to_date: date | None) -> tuple[date, date] | None:
        if from_date is not None and to_date is not None:
            return from_date, to_date
        # [U] reference §6: voucher collections follow SVFROMDATE/SVTODATE, so span the books.
        record = self.company()
        start = from_date or record.books_from
        end = to_date or max(record.last_voucher_date or date.today(), date.today())
        return None if start is None else (start, end)

    # -- writing -----------------------------------------------------------------------------

    def import_vouchers(self, vouchers: Sequence[Voucher | RenderedVoucher]) -> ImportResult:
        """Import vouchers; raises TallyRejected (with `.result`) unless every one landed cleanly."""
        xml = codec.build_voucher_import(self.company_name, vouchers)
        return self._check(codec.parse_import_response(self._post("import_vouchers", "import", xml)),
                           len(vouchers))

    def import_masters(self, masters: Sequence[Master]) -> ImportResult:
        """Import masters (ID All Masters); raises TallyRejected unless every one landed cleanly."""
        xml = codec.build_master_import(self.company_name, masters)
        return self._check(codec.parse_import_response(self._post("import_masters", "import", xml)),
                           len(masters))

    @staticmethod
    def _check(result: ImportResult, expected: int) -> ImportResult:
        if result.ok_for(expected):
            return result
        if any(COMPANY_NOT_FOUND_TEXT.lower() in e.lower() for e in result.line_errors):
            raise CompanyNotLoaded(result.line_errors[0])
        _raise_if_login_refused(result.line_errors)
        summary = (f"Tally accepted {result.created + result.altered + result.deleted + result.cancelled}"
                   f"/{expected} (errors {result.errors}, exceptions {result.exceptions})")
        raise TallyRejected(summary, result.line_errors, result)

    # -- transport ---------------------------------------------------------------------------

    def _post(self, operation: str, kind: RequestKind, xml: str) -> str:
        body = codec.encode_request(with_login(xml, self._login), self._encoding)
        started = time.monotonic()
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = self._send(body, kind)
            _raise_for_status(response, kind)
            reply = codec.decode_response(response.content, response.headers.get("content-type"))
            _raise_if_login_refused_reply(reply)
            return reply
        except Exception as exc:
            error = exc
            raise
        finally:
            self._audit(operation, kind, self._audited(xml, body), response, time.monotonic() - started, error)

    def _audited(self, xml: str, body: bytes) -> bytes:
        return body if self._login is None else codec.encode_request(with_login(xml, REDACTED_LOGIN), self._encoding)

    def _post_streamed(self, operation: str, kind: RequestKind, xml: str, parse: Callable[[Iterable[str]], T]) -> T:
        """As `_post`, but the reply is parsed as it arrives: `parse` gets its text in pieces, and the audit
        trail a compressed copy of its bytes, so a large export is never held whole (bytes or text)."""
        body = codec.encode_request(with_login(xml, self._login), self._encoding)
        started = time.monotonic()
        copy = AuditCopy(self._login_blanks())
        status: int | None = None
        error: Exception | None = None
        try:
            for attempt in range(RATE_LIMITED_RETRIES + 1):
                with self._stream_once(body, kind) as response:
                    status = response.status_code
                    if status == 429 and attempt < RATE_LIMITED_RETRIES:
                        wait = _retry_after(response)
                    else:
                        return self._parse_streamed(response, kind, copy, parse)
                time.sleep(wait)
            raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises
        except Exception as exc:
            error = exc
            raise
        finally:
            self._audit_exchange(operation, kind, self._audited(xml, body), status, copy.size,
                                 None if status is None else copy.finish(), time.monotonic() - started, error,
                                 deflated=True)

    @contextmanager
    def _stream_once(self, body: bytes, kind: RequestKind) -> Iterator[httpx.Response]:
        try:
            with self._http.stream("POST", self.url, content=body, headers=self._headers(kind)) as response:
                yield response
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, kind) from None

    def _parse_streamed(self, response: httpx.Response, kind: RequestKind, copy: AuditCopy,
                        parse: Callable[[Iterable[str]], T]) -> T:
        kept: list[str] = []  # the reply's text while it is small: a refused login is read from it
        kept_size = 0

        def raw() -> Iterator[bytes]:
            try:
                for chunk in response.iter_bytes():
                    copy.feed(chunk)
                    yield chunk
            except httpx.TransportError as exc:
                raise TallyUnavailable(f"{type(exc).__name__} while reading Tally's reply from {self.url}") from None

        def text(pieces: Iterable[str]) -> Iterator[str]:
            nonlocal kept_size
            for piece in pieces:
                if kept_size <= SMALL_REPLY_CHARS:
                    kept.append(piece)
                    kept_size += len(piece)
                yield piece

        if response.status_code >= 300:
            for _ in raw():
                pass
            _raise_for_status(response, kind)
        content_type = response.headers.get("content-type")
        try:
            return parse(text(decode_chunks(raw(), lambda head: codec.guess_encoding(head, content_type))))
        except TallyError:
            if kept_size <= SMALL_REPLY_CHARS:
                _raise_if_login_refused_reply("".join(kept))
            raise

    def _send(self, body: bytes, kind: RequestKind) -> httpx.Response:
        """POST once; a 429 from the LAN agent (it refuses before forwarding, so Tally never saw the
        request, import or not) is waited out per its Retry-After and sent again, a bounded number of times."""
        for _ in range(RATE_LIMITED_RETRIES):
            response = self._post_once(body, kind)
            if response.status_code != 429:
                return response
            time.sleep(_retry_after(response))
        return self._post_once(body, kind)

    def _headers(self, kind: RequestKind) -> dict[str, str]:
        headers = {"Content-Type": codec.content_type(self._encoding), REQUEST_KIND_HEADER: kind}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _post_once(self, body: bytes, kind: RequestKind) -> httpx.Response:
        try:
            return self._http.post(self.url, content=body, headers=self._headers(kind))
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, kind) from None

    def _transport_error(self, exc: httpx.HTTPError, kind: RequestKind) -> Exception:
        if isinstance(exc, _NOT_SENT):
            return TallyUnavailable(f"cannot reach Tally at {self.url}: {type(exc).__name__}")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return TallyProtocolError(f"bad Tally URL {self.url!r}: {exc}")
        if isinstance(exc, httpx.TransportError):
            reason = f"{type(exc).__name__} after the request was sent to {self.url}"
            if kind == "import":
                return TallyOutcomeUnknown(f"import outcome unknown: {reason}")
            return TallyUnavailable(reason)
        return exc

    def _audit(self, operation: str, kind: RequestKind, body: bytes, response: httpx.Response | None,
               duration: float, error: Exception | None) -> None:
        self._audit_exchange(operation, kind, body, None if response is None else response.status_code,
                             None if response is None else len(response.content),
                             None if response is None else self._blank_login(response.content), duration, error)

    def _audit_exchange(self, operation: str, kind: RequestKind, body: bytes, status: int | None,
                        received: int | None, reply: bytes | None, duration: float, error: Exception | None, *,
                        deflated: bool = False) -> None:
        outcome = "ok" if error is None else type(error).__name__
        logger.info("tally %s kind=%s sent=%dB received=%sB status=%s duration=%.3fs outcome=%s",
                    operation, kind, len(body), received, status, duration, outcome)
        if self._on_exchange is not None:
            self._on_exchange(Exchange(
                operation=operation, kind=kind, request=body, plain_response=None if deflated else reply,
                deflated_response=reply if deflated else None,
                status=status, duration=duration, error=None if error is None else f"{outcome}: {error}",
            ))


    def _blank_login(self, data: bytes) -> bytes:
        """`data` with any echo of the login replaced (UTF-8 and UTF-16LE), for the audit trail."""
        for value, marker in self._login_blanks():
            data = data.replace(value, marker)
        return data

    def _login_blanks(self) -> list[tuple[bytes, bytes]]:
        """(echo of the login, its marker) in each encoding, password first."""
        return [(value.encode(enc), "[redacted]".encode(enc))
                for value in (() if self._login is None else (self._login.password, self._login.username))
                if len(value) >= 3  # a one- or two-letter user name would blank half the reply
                for enc in ("utf-8", "utf-16-le")]


RATE_LIMITED_RETRIES = 20  # waits of at most MAX_RATE_LIMIT_WAIT each before the 429 is an error
MAX_RATE_LIMIT_WAIT = 30.0


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_RATE_LIMIT_WAIT, max(0.05, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _raise_if_login_refused(errors: Sequence[str]) -> None:
    refused = [e for e in errors if any(m in e.lower() for m in LOGIN_REFUSED_MARKERS)]
    if refused:
        raise CompanyLoginRequired(f"TallyPrime refused the company login: {refused[0]}")


def _raise_if_login_refused_reply(reply: str) -> None:
    """A refused login answers HTTP 200 with a LINEERROR (§2); cheap text test before parsing."""
    if "LINEERROR" not in reply or not any(m in reply.lower() for m in LOGIN_REFUSED_MARKERS):
        return
    try:
        _raise_if_login_refused(line_errors(codec.parse_xml(reply)))
    except TallyProtocolError:
        return  # not XML: left to the caller's own parsing


def _raise_for_status(response: httpx.Response, kind: RequestKind) -> None:
    """Map the agent's HTTP statuses; Tally itself answers 200 even when it rejects (§2)."""
    status = response.status_code
    if status < 300:
        return
    if status in (401, 403):
        raise TallyAuthError(f"the Tally agent refused our token (HTTP {status})")
    if status == 413:
        raise TallyProtocolError("request larger than the agent accepts; send smaller batches")
    if status == 429:  # still refused after waiting: never forwarded, so safe to send again later
        raise TallyUnavailable("the Tally agent keeps refusing our requests as too many (HTTP 429); "
                               "raise TALLY_AGENT_RATE_PER_MINUTE on the agent or run fewer syncs at once")
    if status in (502, 503):
        raise TallyUnavailable(f"Tally is unreachable or busy (HTTP {status})")
    if status >= 500:
        # The agent answers 504 {"error": "outcome_unknown"} when an import may have landed.
        if kind == "import":
            raise TallyOutcomeUnknown(f"import outcome unknown (HTTP {status})")
        raise TallyUnavailable(f"Tally did not answer in time (HTTP {status})")
    raise TallyProtocolError(f"unexpected HTTP {status} from {response.request.url}")

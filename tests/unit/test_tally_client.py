"""TallyClient against hand-built replies through httpx.MockTransport."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from connectors.tally import codec
from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import (
    CompanyNotLoaded,
    TallyAuthError,
    TallyOutcomeUnknown,
    TallyProtocolError,
    TallyRejected,
    TallyUnavailable,
)
from connectors.tally.models import LedgerEntry, Voucher

TOKEN = "s3cret-agent-token-0123456789abcdef"
COMPANY = "Ram & Shyam Traders"
OK = "<RESPONSE><CREATED>1</CREATED><ERRORS>0</ERRORS><EXCEPTIONS>0</EXCEPTIONS><LASTVCHID>42</LASTVCHID></RESPONSE>"
COMPANIES = ("<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DATA><COLLECTION>"
             '<COMPANY NAME="Ram &amp; Shyam Traders"><BOOKSFROM>20240401</BOOKSFROM>'
             "<LASTVOUCHERDATE>20250516</LASTVOUCHERDATE></COMPANY>"
             '<COMPANY NAME="Other Co"/></COLLECTION></DATA></BODY></ENVELOPE>')
EMPTY_COLLECTION = "<ENVELOPE><BODY><DATA><COLLECTION></COLLECTION></DATA></BODY></ENVELOPE>"

Handler = Callable[[httpx.Request], httpx.Response]


def journal() -> Voucher:
    return Voucher(voucher_type="Journal", date=date(2025, 4, 1), view="Accounting Voucher View",
                   ledger_entries=[LedgerEntry(ledger_name="Cash", amount=Decimal("-10.00")),
                                   LedgerEntry(ledger_name="Sales", amount=Decimal("10.00"))])


def reply(text: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=text.encode("utf-16-le"),
                          headers={"content-type": "text/xml; charset=utf-16"})


def client(handler: Handler, exchanges: list[Exchange] | None = None, **kwargs: object) -> TallyClient:
    return TallyClient("http://agent.lan:9400/", COMPANY, transport=httpx.MockTransport(handler),
                       on_exchange=None if exchanges is None else exchanges.append, **kwargs)  # type: ignore[arg-type]


def test_import_sends_utf16_with_kind_and_token_and_audits() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(OK)

    exchanges: list[Exchange] = []
    result = client(handler, exchanges, token=TOKEN).import_vouchers([journal()])
    assert result.created == 1 and result.last_vch_id == 42
    [request] = seen
    assert request.headers["content-type"] == "text/xml;charset=utf-16"
    assert request.headers["x-ml-request-kind"] == "import"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    root = etree.fromstring(request.content.decode("utf-16-le"))
    assert root.findtext(".//SVCURRENTCOMPANY") == COMPANY
    [exchange] = exchanges
    assert (exchange.operation, exchange.kind, exchange.status) == ("import_vouchers", "import", 200)
    assert exchange.error is None and exchange.response == OK.encode("utf-16-le")
    assert exchange.request == request.content and TOKEN.encode() not in exchange.request


def test_direct_to_tally_has_no_authorization_and_utf8_option() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=OK.encode())

    client(handler, encoding="utf-8").import_vouchers([journal()])
    assert "authorization" not in seen[0].headers
    assert seen[0].headers["content-type"] == "text/xml;charset=utf-8"
    assert seen[0].content.startswith(b"<ENVELOPE>")


def test_rejections_carry_the_result() -> None:
    bad = OK.replace("<EXCEPTIONS>0", "<EXCEPTIONS>1")
    with pytest.raises(TallyRejected) as caught:
        client(lambda r: reply(bad)).import_vouchers([journal()])
    assert caught.value.result is not None and caught.value.result.exceptions == 1
    with_error = ("<RESPONSE><CREATED>0</CREATED><ERRORS>1</ERRORS>"
                  "<LINEERROR>Ledger 'Cash' does not exist!</LINEERROR></RESPONSE>")
    with pytest.raises(TallyRejected) as caught:
        client(lambda r: reply(with_error)).import_vouchers([journal()])
    assert caught.value.line_errors == ["Ledger 'Cash' does not exist!"]
    no_company = "<RESPONSE><ERRORS>1</ERRORS><LINEERROR>Could not find Company 'X'</LINEERROR></RESPONSE>"
    with pytest.raises(CompanyNotLoaded):
        client(lambda r: reply(no_company)).import_vouchers([journal()])


def raising(exc: type[Exception]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)  # type: ignore[call-arg]
    return handler


def test_transport_errors_are_classified_by_what_may_have_landed() -> None:
    exchanges: list[Exchange] = []
    with pytest.raises(TallyUnavailable):
        client(raising(httpx.ConnectError), exchanges).import_vouchers([journal()])
    with pytest.raises(TallyOutcomeUnknown):
        client(raising(httpx.ReadTimeout), exchanges).import_vouchers([journal()])
    with pytest.raises(TallyOutcomeUnknown):
        client(raising(httpx.RemoteProtocolError), exchanges).import_vouchers([journal()])
    with pytest.raises(TallyUnavailable):
        client(raising(httpx.ReadTimeout), exchanges).list_ledgers()
    assert [e.error.split(":")[0] for e in exchanges if e.error] == [
        "TallyUnavailable", "TallyOutcomeUnknown", "TallyOutcomeUnknown", "TallyUnavailable"]
    assert all(e.response is None for e in exchanges)


@pytest.mark.parametrize(("status", "kind", "error"), [
    (401, "import", TallyAuthError), (403, "export", TallyAuthError), (413, "import", TallyProtocolError),
    (502, "import", TallyUnavailable), (503, "import", TallyUnavailable), (504, "import", TallyOutcomeUnknown),
    (500, "import", TallyOutcomeUnknown), (504, "export", TallyUnavailable), (500, "export", TallyUnavailable),
    (404, "export", TallyProtocolError),
])
def test_agent_statuses(status: int, kind: str, error: type[Exception]) -> None:
    tally = client(lambda r: httpx.Response(status, json={"error": "x"}), token=TOKEN)
    with pytest.raises(error) as caught:
        tally.import_vouchers([journal()]) if kind == "import" else tally.list_ledgers()
    assert TOKEN not in str(caught.value)


def test_http_200_is_not_success_by_itself() -> None:
    with pytest.raises(TallyProtocolError):
        client(lambda r: httpx.Response(200, text="<html><body>License Server</body></html>")).import_vouchers(
            [journal()])


def test_token_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tally = client(raising(httpx.ReadTimeout), token=TOKEN)
    assert TOKEN not in repr(tally)
    with pytest.raises(TallyOutcomeUnknown) as caught:
        tally.import_vouchers([journal()])
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert TOKEN not in caplog.text and "Cash" not in caplog.text


def test_ping() -> None:
    status = client(lambda r: reply(COMPANIES)).ping()
    assert status.running and status.company_loaded and status.companies == [COMPANY, "Other Co"]
    assert client(lambda r: reply("")).ping().model_dump() == {
        "running": True, "company_loaded": False, "companies": []}
    assert not client(raising(httpx.ConnectError)).ping().running
    other = COMPANIES.replace("Ram &amp; Shyam Traders", "Ram &amp; Shyam Traders ")
    assert not client(lambda r: reply(other)).ping().company_loaded  # names match exactly (§9.3)


def test_list_vouchers_spans_the_books_when_dates_are_missing() -> None:
    seen: list[etree._Element] = []

    def handler(request: httpx.Request) -> httpx.Response:
        root = etree.fromstring(request.content.decode("utf-16-le"))
        seen.append(root)
        return reply(COMPANIES if root.findtext("HEADER/ID") == "MLCompanies" else EMPTY_COLLECTION)

    assert client(handler).list_vouchers("Sales Order", from_date=date(2025, 4, 1)) == []
    assert client(handler).get_voucher(1534) is None
    _, vouchers, _, lookup = seen
    assert vouchers.findtext(".//SVFROMDATE") == "20250401"
    assert vouchers.findtext(".//SVTODATE") >= "20250516"
    assert vouchers.findtext(".//SYSTEM[@NAME='mlType']") == '$VoucherTypeName = "Sales Order"'
    assert lookup.findtext(".//SVFROMDATE") == "20240401"
    assert lookup.findtext(".//SYSTEM[@NAME='mlMasterId']") == "$MasterId = 1534"


def test_company_not_loaded() -> None:
    with pytest.raises(CompanyNotLoaded, match="Other Co"):
        TallyClient("http://x", "Missing Co", transport=httpx.MockTransport(lambda r: reply(COMPANIES))).company()
    assert codec.is_server_running("<RESPONSE>TallyPrime Server is Running</RESPONSE>")
    assert client(lambda r: reply("<RESPONSE>TallyPrime Server is Running</RESPONSE>")).companies() == []

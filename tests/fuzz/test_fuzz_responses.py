"""Hostile response bodies for every response parser: only the connector's own errors come out.

ShipStation (JSON): HTML error pages, truncated or deeply nested JSON, wrong shapes, wrong encodings.
TallyPrime (XML): truncated XML, entity bombs, external entities, DOCTYPEs, wrong encodings, HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.common.errors import ConnectorError
from connectors.common.ratelimit import TokenBucket
from connectors.shipstation.client import ShipStationClient
from connectors.tally import codec
from connectors.tally.errors import TallyError
from connectors.tally.xml_parse import parse_import_response

GOOD_PAGE = b'{"orders": [], "total": 0, "page": 1, "pages": 0}'
JSON_BODIES = st.one_of(
    st.sampled_from([
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        b'{"orders": [{"orderId": 1, "orderNumber": "A"', b"", b"null", b"[]", b'"orders"', b"{}",
        b'{"orders": "none"}', b'{"orders": [1, "x", null]}', b'{"orders": null, "pages": "many"}',
        b'{"orders": [], "page": -1, "pages": 1e400}', b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf{}",
        b'{"a": ' * 500 + b"1" + b"}" * 500, b"NaN", b'{"orders": [Infinity]}',
    ]),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
)
STATUSES = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503])
CONTENT_TYPES = st.sampled_from(["application/json", "text/html", "text/plain; charset=latin-1", ""])


def client_answering(status: int, body: bytes, content_type: str) -> ShipStationClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type, "Retry-After": "0"})

    return ShipStationClient(api_key="k" * 16, api_secret="s" * 16, base_url="https://ssapi.example.test",
                             transport=httpx.MockTransport(answer), max_retries=0, sleep=lambda _s: None,
                             rate_limiter=TokenBucket(10_000, 1.0, sleep=lambda _s: None))


@given(STATUSES, JSON_BODIES, CONTENT_TYPES)
def test_shipstation_hostile_bodies_raise_only_connector_errors(status: int, body: bytes, content_type: str) -> None:
    with client_answering(status, body, content_type) as client:
        for call in (lambda: list(client.iter_order_pages_raw(datetime(2026, 3, 1, tzinfo=UTC),
                                                               datetime(2026, 3, 2, tzinfo=UTC))),
                     lambda: client.get_order_raw(1), lambda: client.get_order(1),
                     lambda: client.latest_modify_date(datetime(2026, 3, 1, tzinfo=UTC))):
            try:
                call()
            except ConnectorError:
                pass


def test_shipstation_error_page_in_a_wrong_charset() -> None:
    with client_answering(502, b"<html>Bad Gateway</html>", "text/html; charset=utf-16") as client:
        with pytest.raises(ConnectorError):
            client.get_order_raw(1)


def test_shipstation_deeply_nested_json() -> None:
    with client_answering(200, b"[" * 100_000 + b"]" * 100_000, "application/json") as client:
        with pytest.raises(ConnectorError):
            client.get_order_raw(1)


BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><ENVELOPE><BODY>&lol3;</BODY></ENVELOPE>')
XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ENVELOPE><NAME>&e;</NAME></ENVELOPE>'
PARAM_XXE = '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><ENVELOPE/>'
COLLECTION = ('<ENVELOPE><BODY><DATA><COLLECTION><LEDGER NAME="A &amp; B"><PARENT>Sundry Debtors</PARENT>'
              '<MASTERID>12</MASTERID><GUID>g-1</GUID><ALTERID>3</ALTERID></LEDGER></COLLECTION></DATA></BODY>'
              '</ENVELOPE>')
XML_TEXTS = st.one_of(
    st.sampled_from([BOMB, XXE, PARAM_XXE, COLLECTION, COLLECTION[: len(COLLECTION) // 2], "", "   ",
                     "<html><body><h1>404</h1></body></html>", "<RESPONSE>TallyPrime Server is Running</RESPONSE>",
                     "<ENVELOPE><LINEERROR>Could not find Company 'X'</LINEERROR></ENVELOPE>",
                     "<RESPONSE><CREATED>x</CREATED><ERRORS>-1</ERRORS></RESPONSE>",
                     "<ENVELOPE>" * 10_000 + "</ENVELOPE>" * 10_000, "<!-- only a comment -->",
                     "<ENVELOPE>&#4; Not Applicable<UDF:X>1</UDF:X> & bare</ENVELOPE>",
                     "<\x00!DOCTYPE x [<!ENTITY e 'a'>]><ENVELOPE>&e;</ENVELOPE>", "<?xml-stylesheet href='x'?><A/>"]),
    st.text(max_size=300),
    st.text(alphabet="<>/&;#!-[]ENVELOPCLTIYRSADX \"'=", max_size=200),
)
ENCODINGS = st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-16", "latin-1", "cp1252"])
HEADERS = st.sampled_from(["text/xml;charset=utf-16", "text/xml;charset=utf-8", "text/xml; charset=bogus-9", None,
                           "text/html"])
PARSERS = [codec.parse_companies, codec.parse_ledgers, codec.parse_stock_items, codec.parse_vouchers,
           codec.parse_voucher_ids, parse_import_response, codec.is_server_running, codec.parse_xml]


@given(XML_TEXTS, ENCODINGS, HEADERS)
def test_tally_hostile_replies_raise_only_tally_errors(text: str, encoding: str, header: str | None) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    try:
        decoded = codec.decode_response(data, header)
    except TallyError:
        return
    for parse in PARSERS:
        try:
            parse(decoded)
        except TallyError:
            pass


def test_entities_are_never_expanded_or_fetched() -> None:
    for hostile in (BOMB, XXE, PARAM_XXE):
        for parse in PARSERS:
            try:
                result = parse(hostile)
            except TallyError:
                continue
            assert "root:" not in repr(result) and "lollol" not in repr(result)

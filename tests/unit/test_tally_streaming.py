"""Voucher exports read as they arrive: the same records as a whole reply, whatever the chunking, with
the audit trail's copy compressed as the bytes come and the login blanked even across chunks."""

from __future__ import annotations

import sqlite3
import zlib
from contextlib import nullcontext
from datetime import date

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.tally import codec, xml_parse
from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import CompanyLoginRequired, CompanyNotLoaded, TallyProtocolError, TallyUnavailable
from connectors.tally.streaming import AuditCopy, decode_chunks
from state.audit import AUDIT_SCHEMA, AuditTrail
from tests.unit.test_tally_voucher_amounts import ACCOUNTING, ORDER, reply

UDF = '<VOUCHER VCHTYPE="Sales Order" xmlns:UDF="TallyUDF"><DATE>20260404</DATE><UDF:NOTE.LIST>x</UDF:NOTE.LIST>' \
      '<VOUCHERTYPENAME>Sales Order</VOUCHERTYPENAME><MASTERID>9</MASTERID><ALTERID>443</ALTERID>' \
      '<NARRATION>Tea &amp; cups \x04 [ext:ss-order-9]</NARRATION>' \
      '<ALLLEDGERENTRIES.LIST><LEDGERNAME>Asha \u0905</LEDGERNAME><AMOUNT>1.00</AMOUNT></ALLLEDGERENTRIES.LIST>' \
      '</VOUCHER>'
BODY = reply(*(ORDER, ACCOUNTING, UDF) * 40)


def cut(data, sizes):
    """`data` in pieces of the given sizes, cycling."""
    out, at, i = [], 0, 0
    while at < len(data):
        out.append(data[at:at + sizes[i % len(sizes)]])
        at += sizes[i % len(sizes)]
        i += 1
    return out


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-16-le+bom", "utf-16-le", "utf-8+bom", "utf-8"]))
def test_chunked_replies_parse_to_the_same_records_as_whole_ones(sizes, encoding) -> None:
    name, bom = encoding.split("+")[0], "+bom" in encoding
    data = (b"\xff\xfe" if bom and name == "utf-16-le" else b"\xef\xbb\xbf" if bom else b"") + BODY.encode(name)
    whole = codec.parse_voucher_amounts(codec.decode_response(data, "text/xml; charset=" + name))
    text = list(decode_chunks(cut(data, sizes), lambda head: codec.guess_encoding(head, "text/xml; charset=" + name)))
    assert "".join(text) == BODY
    assert codec.parse_voucher_amounts(text) == whole and len(whole) == 120
    assert codec.parse_voucher_ids(iter(text)) == codec.parse_voucher_ids(BODY)


def test_slices_of_a_stream_are_cut_after_a_tag_so_no_repair_straddles_them(monkeypatch) -> None:
    monkeypatch.setattr(xml_parse, "_SLICE_CHARS", 97)  # many slices, cut inside sentinels and UDF tags
    pieces = cut(BODY, [13, 1, 250])
    assert codec.parse_voucher_amounts(pieces) == codec.parse_voucher_amounts(BODY)
    slices = list(xml_parse._arriving_slices(pieces))
    assert len(slices) > 100 and all(s.endswith(">") for s in slices[:-1])


def test_a_blank_or_broken_stream_is_refused_as_a_whole_one_is() -> None:
    with pytest.raises(CompanyNotLoaded):
        codec.parse_voucher_ids(["  ", "\r\n", ""])
    with pytest.raises(TallyProtocolError):
        codec.parse_voucher_ids(cut(BODY[:5000], [300]))
    with pytest.raises(xml_parse.HostileXmlError):
        codec.parse_voucher_ids(['<!DOCTYPE x [<!ENTITY a "b">]>', BODY])


def test_the_audit_copy_blanks_a_login_split_across_chunks_and_inflates_to_the_reply() -> None:
    data = ("<X>s3cret-pw</X>" * 50 + "<U>asha</U>").encode("utf-16-le")
    blanks = [(v.encode(e), "[redacted]".encode(e)) for v in ("s3cret-pw", "asha") for e in ("utf-8", "utf-16-le")]
    for sizes in ([1], [3, 5], [7, 11, 2], [len(data)]):
        copy = AuditCopy(blanks)
        for piece in cut(data, sizes):
            copy.feed(piece)
        stored = zlib.decompress(copy.finish())
        assert stored == ("<X>[redacted]</X>" * 50 + "<U>[redacted]</U>").encode("utf-16-le")
        assert copy.size == len(data)


def client(handler, exchanges: list[Exchange], **login) -> TallyClient:
    return TallyClient("http://tally.lan:9000/", "Demo", transport=httpx.MockTransport(handler),
                       on_exchange=exchanges.append, **login)


def test_a_streamed_export_reaches_the_audit_compressed_and_whole(tmp_path) -> None:
    body = b"\xff\xfe" + BODY.replace("Asha", "clerk").encode("utf-16-le")
    exchanges: list[Exchange] = []
    with client(lambda request: httpx.Response(200, content=body), exchanges, username="clerk",
                password="pw-123") as tally:
        found = tally.list_voucher_amounts("Sales Order", date(2026, 4, 1), date(2026, 4, 30))
    assert len(found) == 120
    [exchange] = exchanges
    assert exchange.plain_response is None and len(exchange.deflated_response) < len(body) / 5
    assert exchange.response == body.replace("clerk".encode("utf-16-le"), "[redacted]".encode("utf-16-le"))
    conn = sqlite3.connect(tmp_path / "audit.sqlite", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.executescript(AUDIT_SCHEMA)
    trail = AuditTrail(conn, lambda: nullcontext(conn))
    trail.record(system="tally", kind="export", request=b"q", response_deflated=exchange.deflated_response)
    trail.secrets = ("Sales Order",)
    trail.record(system="tally", kind="export", request=b"q", response_deflated=exchange.deflated_response)
    first, scrubbed = trail.records()
    assert first.response == exchange.response and "Sales Order".encode("utf-16-le") in first.response
    assert "Sales Order".encode("utf-16-le") not in scrubbed.response and len(scrubbed.response) > 1000


def test_a_refused_login_and_a_reply_cut_off_midway_raise_as_before() -> None:
    refused = "<RESPONSE><LINEERROR>Could not set 'SVCurrentCompany' to 'Demo'. Access denied</LINEERROR></RESPONSE>"
    exchanges: list[Exchange] = []
    with client(lambda request: httpx.Response(200, content=refused.encode("utf-16-le")), exchanges,
                username="clerk", password="wrong") as tally, pytest.raises(CompanyLoginRequired):
        tally.list_voucher_ids("Sales Order", date(2026, 4, 1), date(2026, 4, 30))

    def broken(request: httpx.Request) -> httpx.Response:
        def stream():
            yield BODY[:4000].encode("utf-8")
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, content=stream())

    with client(broken, exchanges) as tally, pytest.raises(TallyUnavailable, match="ReadError"):
        tally.list_voucher_ids("Sales Order", date(2026, 4, 1), date(2026, 4, 30))
    assert exchanges[-1].error.startswith("TallyUnavailable") and exchanges[-1].response.startswith(b"<ENVELOPE>")

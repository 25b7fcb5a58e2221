"""The cheap identity read-back: a FETCH list cut to `VoucherId`, parsed as a stream, still hardened."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from lxml import etree

from connectors.tally import codec, xml_parse
from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import CompanyNotLoaded, HostileXmlError, TallyProtocolError, TallyRejected
from connectors.tally.models import VoucherId, VoucherRecord
from connectors.tally.xml_export import VOUCHER_ID_FETCH
from connectors.tally.xml_parse import stream_objects

HEAD = "<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DESC></DESC><DATA><COLLECTION>"
TAIL = "</COLLECTION></DATA></BODY></ENVELOPE>"
CUT = """<VOUCHER REMOTEID="" VCHTYPE="Sales Order" ACTION="Create">
 <DATE TYPE="Date">20260402</DATE><VOUCHERTYPENAME TYPE="String">Sales Order</VOUCHERTYPENAME>
 <VOUCHERNUMBER TYPE="String">SO-1</VOUCHERNUMBER>
 <NARRATION TYPE="String">राम &amp; Co ₹ [ext:ss-1]</NARRATION>
 <MASTERID TYPE="Number"> 7</MASTERID><ALTERID TYPE="Number"> 441</ALTERID>
 <ISCANCELLED TYPE="Logical">No</ISCANCELLED></VOUCHER>
<VOUCHER VCHTYPE="Sales Order"><DATE>20260403</DATE><VOUCHERNUMBER>&#4; Not Applicable</VOUCHERNUMBER>
 <NARRATION>&#4;</NARRATION><MASTERID> 8</MASTERID><ALTERID> 442</ALTERID><ISCANCELLED>Yes</ISCANCELLED></VOUCHER>"""
LINES = """<REFERENCE>WC-1</REFERENCE><PARTYLEDGERNAME>Acme &amp; Sons</PARTYLEDGERNAME><GUID>g-7</GUID>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>Acme &amp; Sons</LEDGERNAME><AMOUNT>-354.00</AMOUNT>
 <NARRATION>a line's own narration is not the voucher's</NARRATION></ALLLEDGERENTRIES.LIST>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><AMOUNT>354.00</AMOUNT></ALLLEDGERENTRIES.LIST>
 <UDF:PARTNO.LIST xmlns:UDF="TallyUDF"><UDF:PARTNO>PN\x01-7</UDF:PARTNO></UDF:PARTNO.LIST>"""
EXPECTED = [
    VoucherId(master_id=7, alter_id=441, voucher_type="Sales Order", date=date(2026, 4, 2), voucher_number="SO-1",
              narration="राम & Co ₹ [ext:ss-1]"),
    VoucherId(master_id=8, alter_id=442, voucher_type="Sales Order", date=date(2026, 4, 3), is_cancelled=True),
]
BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
EXTERNAL = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def reply(objects: str = CUT) -> str:
    return HEAD + objects + TAIL


def full(objects: str = CUT) -> str:
    """The same vouchers as a Tally that ignored the FETCH list would send them: lines and all."""
    return reply(objects.replace("</VOUCHER>", LINES + "</VOUCHER>"))


def identity(record: VoucherRecord) -> VoucherId:
    fields = record.model_dump(include=set(VoucherId.model_fields))
    return VoucherId(**fields)


# -- the request -----------------------------------------------------------------------------------


def test_request_fetches_only_the_identity_fields_with_the_same_filters() -> None:
    args = ("Demo & Co", "Sales Order", date(2026, 4, 1), date(2026, 4, 30))
    cut = etree.fromstring(codec.voucher_ids_request(*args, alter_id_after=440).encode())
    whole = etree.fromstring(codec.vouchers_request(*args, alter_id_after=440).encode())

    assert cut.findtext("BODY/DESC/TDL/TDLMESSAGE/COLLECTION/FETCH").split(",") == VOUCHER_ID_FETCH
    assert "AllLedgerEntries" not in VOUCHER_ID_FETCH and "Guid" not in VOUCHER_ID_FETCH
    assert cut.findtext("HEADER/ID") == "MLVoucherIds"
    formulas = [(f.get("NAME"), f.text) for f in cut.iterfind("BODY/DESC/TDL/TDLMESSAGE/SYSTEM")]
    assert formulas == [(f.get("NAME"), f.text) for f in whole.iterfind("BODY/DESC/TDL/TDLMESSAGE/SYSTEM")]
    assert ("mlAlterId", "$AlterId > 440") in formulas
    assert cut.findtext("BODY/DESC/STATICVARIABLES/SVFROMDATE") == "20260401"


# -- parsing ---------------------------------------------------------------------------------------


def test_identities_from_a_cut_reply() -> None:
    assert codec.parse_voucher_ids(reply()) == EXPECTED


@pytest.mark.parametrize("encoded", [
    (b"\xff\xfe" + reply().encode("utf-16-le"), None),
    (reply().encode("utf-16-le"), "text/xml; charset=utf-16"),
    (b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>' + reply().encode(), "application/xml"),
    ('<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16-le") + reply().encode("utf-16-le"), None),
], ids=["utf16-bom", "utf16-header", "utf8-bom-declared", "utf16-declared"])
def test_identities_survive_every_encoding_tally_uses(encoded: tuple[bytes, str | None]) -> None:
    assert codec.parse_voucher_ids(codec.decode_response(*encoded)) == EXPECTED


def test_a_full_reply_reads_the_same_identities_and_agrees_with_the_full_parser() -> None:
    assert codec.parse_voucher_ids(full()) == EXPECTED
    assert [identity(r) for r in codec.parse_vouchers(full())] == EXPECTED


@pytest.mark.parametrize("slice_chars", [1, 7, 64, 300])
def test_slicing_never_changes_the_result(monkeypatch: pytest.MonkeyPatch, slice_chars: int) -> None:
    # Slices end just after a ">"; sentinels, UDF tags, control characters and bare "&" must not care.
    body = full(CUT.replace("SO-1", "SO & 1\x02")) + "\n"
    whole = codec.parse_vouchers(body), codec.parse_voucher_ids(body)
    monkeypatch.setattr(xml_parse, "_SLICE_CHARS", slice_chars)
    assert (codec.parse_vouchers(body), codec.parse_voucher_ids(body)) == whole
    assert whole[1][0].voucher_number == "SO & 1"


def test_each_voucher_is_dropped_once_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml_parse, "_SLICE_CHARS", 50)
    body = full(CUT * 50)
    held = [len(obj.getparent()) for obj in stream_objects(body, "VOUCHER")]
    assert len(held) == 100 and max(held) <= 2  # the one being read and, at most, one not yet reached


def test_an_undeclared_entity_is_read_literally_never_expanded() -> None:
    [first, _] = codec.parse_voucher_ids(reply(CUT.replace("[ext:ss-1]", "&xxe; &lol3;")))
    assert first.narration == "राम & Co ₹ &xxe; &lol3;"


@pytest.mark.parametrize("doctype", [BILLION_LAUGHS, EXTERNAL, "<\x01!DOCTYPE r>", "<!&#4;DOCTYPE r>"],
                         ids=["entity-bomb", "external-entity", "behind-a-control-char", "behind-a-sentinel"])
def test_hostile_bodies_are_refused(doctype: str) -> None:
    body = doctype + reply(CUT.replace("[ext:ss-1]", "&lol3;&xxe;"))
    for parse in (codec.parse_voucher_ids, codec.parse_vouchers):
        with pytest.raises(HostileXmlError):
            parse(body)
        with pytest.raises(HostileXmlError):
            parse(codec.decode_response(body.encode("utf-16")))


def test_a_doctype_deep_in_the_body_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml_parse, "_SLICE_CHARS", 64)
    with pytest.raises(HostileXmlError):
        codec.parse_voucher_ids(reply(CUT * 20 + EXTERNAL + CUT))


@pytest.mark.parametrize("cut_at", [len(HEAD) + 40, len(reply()) // 2, len(reply()) - 5])
def test_truncated_xml_is_a_protocol_error_not_a_short_list(cut_at: int) -> None:
    with pytest.raises(TallyProtocolError, match="not well-formed"):
        codec.parse_voucher_ids(reply()[:cut_at])


def test_replies_that_are_not_vouchers() -> None:
    with pytest.raises(CompanyNotLoaded):
        codec.parse_voucher_ids(" \r\n ")
    errors = "<LINEERROR>Could not find Company 'X'</LINEERROR>"
    with pytest.raises(CompanyNotLoaded):
        codec.parse_voucher_ids(reply(errors))
    with pytest.raises(TallyRejected) as rejected:
        codec.parse_voucher_ids(reply("<LINEERROR>Unknown field</LINEERROR>"))
    assert rejected.value.line_errors == ["Unknown field"]
    with pytest.raises(TallyRejected, match="STATUS 0"):
        codec.parse_voucher_ids(reply().replace("<STATUS>1</STATUS>", "<STATUS>0</STATUS>"))
    with pytest.raises(TallyProtocolError, match="not a collection reply"):
        codec.parse_voucher_ids("<RESPONSE>TallyPrime Server is Running</RESPONSE>")
    with pytest.raises(TallyProtocolError, match="unreadable VOUCHER"):
        codec.parse_voucher_ids(reply(CUT.replace("<MASTERID> 8</MASTERID>", "")))
    assert codec.parse_voucher_ids(reply("")) == []


# -- the client ------------------------------------------------------------------------------------


def test_client_sends_the_cut_request_and_returns_identities() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(codec.decode_response(request.content))
        return httpx.Response(200, content=b"\xff\xfe" + full().encode("utf-16-le"),
                              headers={"content-type": "text/xml; charset=utf-16"})

    exchanges: list[Exchange] = []
    with TallyClient("http://tally.lan:9000/", "Demo & Co", transport=httpx.MockTransport(handler),
                     on_exchange=exchanges.append) as client:
        found = client.list_voucher_ids("Sales Order", date(2026, 4, 1), date(2026, 4, 30), alter_id_after=440)
    assert found == EXPECTED
    assert f"<FETCH>{','.join(VOUCHER_ID_FETCH)}</FETCH>" in sent[0] and "AllLedgerEntries" not in sent[0]
    assert [(e.operation, e.kind) for e in exchanges] == [("list_voucher_ids", "export")]

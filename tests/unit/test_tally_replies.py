"""Parsing what TallyPrime sends back: hostile XML, sanitising, import replies, collections."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.tally import codec
from connectors.tally.errors import CompanyNotLoaded, HostileXmlError, TallyProtocolError, TallyRejected
from connectors.tally.models import ImportResult

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<RESPONSE><CREATED>&lol3;</CREATED></RESPONSE>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><RESPONSE><LINEERROR>&xxe;</LINEERROR></RESPONSE>"""
PARAMETER_ENTITY = """<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><RESPONSE/>"""
PLAIN_DOCTYPE = """<!doctype html><html><body>Tally license server</body></html>"""

LEGACY_OK = """<RESPONSE><CREATED>1</CREATED><ALTERED>0</ALTERED><DELETED>0</DELETED>
 <LASTVCHID>9191</LASTVCHID><LASTMID>0</LASTMID><COMBINED>0</COMBINED><IGNORED>0</IGNORED>
 <ERRORS>0</ERRORS><CANCELLED>0</CANCELLED><EXCEPTIONS>0</EXCEPTIONS></RESPONSE>"""
VERSIONED_ERROR_UNDER_DATA = """<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER>
<BODY><DESC></DESC><DATA><LINEERROR>Ledger 'Acme Retail' does not exist!</LINEERROR>
<IMPORTRESULT><CREATED>1</CREATED><ALTERED>0</ALTERED><DELETED>0</DELETED><LASTVCHID> 77</LASTVCHID>
<LASTMID>0</LASTMID><COMBINED>0</COMBINED><IGNORED>0</IGNORED><ERRORS>1</ERRORS><CANCELLED>0</CANCELLED>
<EXCEPTIONS>0</EXCEPTIONS></IMPORTRESULT></DATA></BODY></ENVELOPE>"""
VERSIONED_ERROR_IN_RESULT = """<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>0</STATUS></HEADER>
<BODY><DATA><IMPORTRESULT><CREATED>0</CREATED><ERRORS>1</ERRORS><EXCEPTIONS>0</EXCEPTIONS>
<LINEERROR>Voucher totals do not match! Dr: 354.00 Dr Cr: 353.00 Cr Diff: 1.00 Dr</LINEERROR>
</IMPORTRESULT></DATA></BODY></ENVELOPE>"""


def collection(objects: str) -> str:
    return ("<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DESC></DESC>"
            f"<DATA><COLLECTION>{objects}</COLLECTION></DATA></BODY></ENVELOPE>")


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, PLAIN_DOCTYPE])
def test_hostile_xml_is_refused_before_parsing(payload: str) -> None:
    with pytest.raises(HostileXmlError):
        codec.parse_import_response(payload)
    with pytest.raises(HostileXmlError):  # also after a UTF-16 round trip
        codec.parse_xml(codec.decode_response(payload.encode("utf-16")))
    with pytest.raises(HostileXmlError):
        codec.parse_ledgers(payload)


def test_sanitises_what_tally_really_emits() -> None:
    reply = collection(
        '<STOCKITEM NAME="WIDGET-A" xmlns:UDF="TallyUDF"><PARENT>&#4; Primary</PARENT>'
        "<CATEGORY>&#4; Not Applicable</CATEGORY><BASEUNITS>Nos</BASEUNITS>"
        "<CLOSINGBALANCE TYPE=\"Quantity\">(-)3 Nos</CLOSINGBALANCE>"
        "<CLOSINGVALUE TYPE=\"Amount\">(-)150.00</CLOSINGVALUE><MASTERID> 12</MASTERID><ALTERID> 441</ALTERID>"
        "<UDF:PARTNO.LIST UDF:TYPE=\"String\"><UDF:PARTNO>PN\x01-7</UDF:PARTNO></UDF:PARTNO.LIST>"
        "<NARRATION>Tom & Jerry \x1f&#x1F;&#8; ok &nbsp;</NARRATION></STOCKITEM>"
    )
    [item] = codec.parse_stock_items(reply)
    assert (item.name, item.parent, item.base_unit) == ("WIDGET-A", None, "Nos")
    assert (item.closing_qty, item.closing_value) == (Decimal(-3), Decimal("-150.00"))
    assert (item.master_id, item.alter_id) == (12, 441)
    root = codec.parse_xml(reply)
    assert root.findtext(".//UDF_PARTNO.LIST/UDF_PARTNO") == "PN-7"
    assert root.findtext(".//NARRATION") == "Tom & Jerry  ok &nbsp;"
    assert codec.sanitise("<A>&#4; Primary Batch</A>") == "<A> Primary Batch</A>"
    assert codec.sanitise("<A>UDF:x = 1 xmlns:UDF=\"y\"</A>") == "<A>UDF:x = 1 xmlns:UDF=\"y\"</A>"


def test_junk_is_a_protocol_error() -> None:
    for junk in ("<html><body>License server</body>", "not xml at all", "<RESPONSE><CREATED>x</CREATED>"):
        with pytest.raises(TallyProtocolError):
            codec.parse_import_response(junk)
    with pytest.raises(TallyProtocolError, match="Unknown Request"):
        codec.parse_import_response("<RESPONSE>Unknown Request, cannot be processed</RESPONSE>")
    with pytest.raises(TallyProtocolError, match="not a collection reply"):
        codec.parse_ledgers("<RESPONSE>TallyPrime Server is Running</RESPONSE>")


def test_legacy_import_reply() -> None:
    result = codec.parse_import_response(LEGACY_OK)
    assert result == ImportResult(created=1, last_vch_id=9191, last_mid=0)
    assert result.ok_for(1) and not result.ok_for(2)


def test_versioned_import_reply_collects_line_errors_wherever_they_are() -> None:
    under_data = codec.parse_import_response(VERSIONED_ERROR_UNDER_DATA)
    assert under_data.line_errors == ["Ledger 'Acme Retail' does not exist!"]
    assert (under_data.created, under_data.errors, under_data.last_vch_id, under_data.status) == (1, 1, 77, 1)
    assert not under_data.ok_for(1)
    in_result = codec.parse_import_response(VERSIONED_ERROR_IN_RESULT)
    assert in_result.line_errors[0].startswith("Voucher totals do not match!")
    assert in_result.status == 0 and not in_result.ok_for(0)


def test_line_error_without_counters_and_utf16_reply() -> None:
    reply = ("<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>0</STATUS></HEADER><BODY><DATA>"
             "<LINEERROR>Could not find Company 'राम &amp; Co'</LINEERROR></DATA></BODY></ENVELOPE>")
    result = codec.parse_import_response(codec.decode_response(b"\xff\xfe" + reply.encode("utf-16-le")))
    assert result.line_errors == ["Could not find Company 'राम & Co'"] and result.created == 0


@pytest.mark.parametrize(("result", "expected", "ok"), [
    (ImportResult(created=1), 1, True),
    (ImportResult(created=1, exceptions=1), 1, False),
    (ImportResult(created=1, errors=1), 1, False),
    (ImportResult(created=1, line_errors=["x"]), 1, False),
    (ImportResult(created=1, altered=1), 2, True),
    (ImportResult(deleted=1, cancelled=1), 2, True),
    (ImportResult(created=0, ignored=1), 1, False),
    (ImportResult(created=1, status=0), 1, False),
    (ImportResult(created=2), 1, False),
])
def test_ok_for(result: ImportResult, expected: int, ok: bool) -> None:
    assert result.ok_for(expected) is ok


def test_counter_words_are_not_errors() -> None:
    # Reference §5: never judge by the word "ERROR" in the text; ERRORS 0 is success.
    reply = LEGACY_OK.replace("<IGNORED>", "<REMARK>ERROR-free, no LINEERROR</REMARK><IGNORED>")
    assert codec.parse_import_response(reply).ok_for(1)


def test_empty_body_means_no_company_loaded() -> None:
    with pytest.raises(CompanyNotLoaded):
        codec.parse_import_response("  ")
    with pytest.raises(CompanyNotLoaded):
        codec.parse_ledgers("")
    reply = ("<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>0</STATUS></HEADER><BODY><DATA>"
             "<LINEERROR>Could not find Company ''</LINEERROR></DATA></BODY></ENVELOPE>")
    with pytest.raises(CompanyNotLoaded):
        codec.parse_vouchers(reply)
    with pytest.raises(TallyRejected):
        codec.parse_vouchers(reply.replace("Could not find Company ''", "Unknown field"))


def test_server_banner_is_recognised() -> None:
    assert codec.is_server_running("<RESPONSE>TallyPrime Server is Running</RESPONSE>")
    assert not codec.is_server_running(LEGACY_OK)
    assert not codec.is_server_running("<html>")


def test_ledgers_with_aliases_single_and_list_forms() -> None:
    reply = collection(
        '<LEDGER NAME="Acme Retail" RESERVEDNAME=""><LANGUAGENAME.LIST><NAME.LIST TYPE="String">'
        "<NAME>Acme Retail</NAME><NAME>ACME-001</NAME></NAME.LIST></LANGUAGENAME.LIST>"
        "<PARENT TYPE=\"String\">Sundry Debtors</PARENT><GUID>g-1</GUID><MASTERID TYPE=\"Number\"> 5</MASTERID>"
        "<CLOSINGBALANCE TYPE=\"Amount\">-500.00</CLOSINGBALANCE></LEDGER>"
        '<LEDGER NAME="Cash"><PARENT>Cash-in-Hand</PARENT></LEDGER>'
    )
    acme, cash = codec.parse_ledgers(reply)
    assert (acme.name, acme.aliases, acme.parent, acme.master_id) == ("Acme Retail", ["ACME-001"], "Sundry Debtors", 5)
    assert acme.closing_balance == Decimal("-500.00")
    assert (cash.name, cash.aliases, cash.guid) == ("Cash", [], None)
    assert codec.parse_ledgers(collection("")) == []


def test_companies() -> None:
    reply = collection(
        '<COMPANY NAME="Ram &amp; Shyam Traders"><GUID>c-1</GUID><BOOKSFROM TYPE="Date">20250401</BOOKSFROM>'
        "<LASTVOUCHERDATE>20250516</LASTVOUCHERDATE><ALTMSTID> 120</ALTMSTID><ALTVCHID> 9191</ALTVCHID></COMPANY>"
    )
    [company] = codec.parse_companies(reply)
    assert company.name == "Ram & Shyam Traders"
    assert (company.books_from, company.last_voucher_date) == (date(2025, 4, 1), date(2025, 5, 16))
    assert (company.alt_mst_id, company.alt_vch_id) == (120, 9191)


def test_voucher_export_with_placeholders_and_all_ledger_entries() -> None:
    reply = collection(
        '<VOUCHER REMOTEID="" VCHTYPE="Sales" ACTION="Create"><DATE TYPE="Date">20250416</DATE>'
        "<GUID>g-9</GUID><VOUCHERTYPENAME>Sales</VOUCHERTYPENAME><ISCANCELLED>Yes</ISCANCELLED>"
        "<ALLLEDGERENTRIES.LIST><LEDGERNAME>Acme</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>"
        "<AMOUNT>-354.00</AMOUNT><BILLALLOCATIONS.LIST><NAME>INV-3001</NAME><BILLTYPE>New Ref</BILLTYPE>"
        "<AMOUNT>-354.00</AMOUNT></BILLALLOCATIONS.LIST><BANKALLOCATIONS.LIST>   </BANKALLOCATIONS.LIST>"
        "</ALLLEDGERENTRIES.LIST><ALLLEDGERENTRIES.LIST>  </ALLLEDGERENTRIES.LIST>"
        "<ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><AMOUNT>354.00</AMOUNT></ALLLEDGERENTRIES.LIST>"
        "</VOUCHER>"
    )
    [voucher] = codec.parse_vouchers(reply)
    assert voucher.is_cancelled and voucher.remote_id is None and voucher.guid == "g-9"
    assert [(e.ledger_name, e.amount) for e in voucher.ledger_entries] == [
        ("Acme", Decimal("-354.00")), ("Sales", Decimal("354.00"))]
    assert voucher.ledger_entries[0].bill_allocations[0].name == "INV-3001"

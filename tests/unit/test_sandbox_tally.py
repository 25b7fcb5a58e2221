"""The TallyPrime simulator over real HTTP on loopback; request XML is written by hand here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import etree

from sandbox.runner import ServedApp
from sandbox.tally import TallyState, create_app
from sandbox.tally.model import GODOWN, LEDGER, STOCKITEM, VOUCHERTYPE, Batch, InventoryLine, LedgerLine, Voucher

COMPANY = "Sharma & Sons Retail Pvt Ltd"
COMPANY_XML = "Sharma &amp; Sons Retail Pvt Ltd"
SPEC: dict[str, Any] = {
    "company": COMPANY, "books_from": "2025-04-01",
    "groups": [{"name": "Online Customers", "parent": "Sundry Debtors"}],
    "ledgers": [
        {"name": "Sales", "parent": "Sales Accounts"}, {"name": "Purchase", "parent": "Purchase Accounts"},
        {"name": "Acme Retail", "parent": "Online Customers"},
        {"name": "Chai Suppliers", "parent": "Sundry Creditors"},
    ],
    "units": [{"name": "Nos", "decimal_places": 0}], "godowns": [{"name": "Main Location"}],
    "stock_groups": [{"name": "Finished Goods"}],
    "stock_items": [{"name": "TEA-GRN-250", "aliases": ["8901234000017"], "parent": "Finished Goods",
                     "unit": "Nos", "opening_qty": Decimal("120"), "opening_rate": Decimal("80.00")}],
    "voucher_types": ["Sales Order", "Purchase Order", "Delivery Note", "Sales", "Receipt", "Credit Note",
                      "Journal"],
}


# ---- a tiny client written for the test ---------------------------------------------------

@dataclass
class Tally:
    url: str

    def post(self, xml: str, *, utf16: bool = False, bom: bool = False, timeout: float = 10) -> httpx.Response:
        body = ("\ufeff" if bom else "") + xml
        data = body.encode("utf-16-le") if utf16 else body.encode("utf-8")
        charset = "utf-16" if utf16 else "utf-8"
        headers = {"Content-Type": f"text/xml;charset={charset}"}
        response = httpx.post(self.url + "/", content=data, headers=headers, timeout=timeout)
        assert response.status_code == 200  # Tally answers 200 even when it rejects (reference §2)
        return response

    def control(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = f"{self.url}/__sandbox/{path}"
        response = httpx.post(url, json=payload) if payload is not None else httpx.get(url)
        return response.json()

    def vouchers(self) -> list[dict[str, Any]]:
        return self.control("vouchers")

    def stock(self) -> str:
        return self.control("stock")["TEA-GRN-250"]


@contextmanager
def running_tally(import_delay: float = 0.0) -> Iterator[Tally]:
    with ServedApp(create_app(TallyState.from_masters(SPEC), import_delay=import_delay)) as served:
        yield Tally(served.base_url)


@pytest.fixture()
def tally() -> Iterator[Tally]:
    with running_tally() as served:
        yield served


def parse(response: httpx.Response) -> etree._Element:
    utf16 = "utf-16" in response.headers["content-type"]
    text = response.content.decode("utf-16-le" if utf16 else "utf-8")
    return etree.fromstring(text.replace("&#4;", "").encode())  # a client strips Tally's sentinel


def counters(root: etree._Element) -> dict[str, int]:
    holder = root if root.tag == "RESPONSE" else root.find("BODY/DATA/IMPORTRESULT")
    return {c.tag: int(c.text) for c in holder if c.tag != "LINEERROR"}


def line_errors(root: etree._Element) -> list[str]:
    return [e.text or "" for e in root.iter("LINEERROR")]


def rows(response: httpx.Response, tag: str) -> list[etree._Element]:
    return list(parse(response).iterfind(f"BODY/DATA/COLLECTION/{tag}"))


def status(root: etree._Element) -> str | None:
    return root.findtext("HEADER/STATUS")


# ---- request XML ---------------------------------------------------------------------------

def order(number: str, *, qty: int = 5, rate: str = "100.00", vtype: str = "Sales Order",
          party: str = "Acme Retail", item: str = "TEA-GRN-250", day: str = "20250410",
          party_amount: str | None = None, attrs: str = 'ACTION="Create"', narration: str = "") -> str:
    amount = f"{Decimal(rate) * qty:.2f}"
    return f"""<VOUCHER VCHTYPE="{vtype}" {attrs} OBJVIEW="Invoice Voucher View">
 <DATE>{day}</DATE><VOUCHERTYPENAME>{vtype}</VOUCHERTYPENAME>
 <VOUCHERNUMBER>{number}</VOUCHERNUMBER><REFERENCE>CUST-PO-77</REFERENCE>
 <PARTYLEDGERNAME>{party}</PARTYLEDGERNAME><NARRATION>{narration}</NARRATION>
 <PERSISTEDVIEW>Invoice Voucher View</PERSISTEDVIEW><ISINVOICE>No</ISINVOICE>
 <ALLINVENTORYENTRIES.LIST>
  <STOCKITEMNAME>{item}</STOCKITEMNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>
  <RATE>{rate}/Nos</RATE><AMOUNT>{amount}</AMOUNT>
  <ACTUALQTY> {qty} Nos</ACTUALQTY><BILLEDQTY> {qty} Nos</BILLEDQTY>
  <BATCHALLOCATIONS.LIST>
   <GODOWNNAME>Main Location</GODOWNNAME><BATCHNAME>Primary Batch</BATCHNAME>
   <AMOUNT>{amount}</AMOUNT><ACTUALQTY> {qty} Nos</ACTUALQTY><BILLEDQTY> {qty} Nos</BILLEDQTY>
  </BATCHALLOCATIONS.LIST>
  <ACCOUNTINGALLOCATIONS.LIST>
   <LEDGERNAME>Sales</LEDGERNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE><AMOUNT>{amount}</AMOUNT>
  </ACCOUNTINGALLOCATIONS.LIST>
 </ALLINVENTORYENTRIES.LIST>
 <LEDGERENTRIES.LIST>
  <LEDGERNAME>{party}</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>
  <ISPARTYLEDGER>Yes</ISPARTYLEDGER><AMOUNT>{party_amount or "-" + amount}</AMOUNT>
 </LEDGERENTRIES.LIST>
</VOUCHER>"""


PURCHASE_ORDER_4 = """<VOUCHER VCHTYPE="Purchase Order" ACTION="Create" OBJVIEW="Invoice Voucher View">
 <DATE>20250412</DATE><VOUCHERTYPENAME>Purchase Order</VOUCHERTYPENAME><VOUCHERNUMBER>4</VOUCHERNUMBER>
 <PARTYLEDGERNAME>Chai Suppliers</PARTYLEDGERNAME>
 <ALLINVENTORYENTRIES.LIST>
  <STOCKITEMNAME>TEA-GRN-250</STOCKITEMNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>
  <RATE>70.00/Nos</RATE><AMOUNT>-700.00</AMOUNT><ACTUALQTY> 10 Nos</ACTUALQTY><BILLEDQTY> 10 Nos</BILLEDQTY>
  <ACCOUNTINGALLOCATIONS.LIST>
   <LEDGERNAME>Purchase</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE><AMOUNT>-700.00</AMOUNT>
  </ACCOUNTINGALLOCATIONS.LIST>
 </ALLINVENTORYENTRIES.LIST>
 <LEDGERENTRIES.LIST>
  <LEDGERNAME>Chai Suppliers</LEDGERNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE><AMOUNT>700.00</AMOUNT>
 </LEDGERENTRIES.LIST>
</VOUCHER>"""


def import_vouchers(*vouchers: str, company: str = COMPANY_XML) -> str:
    return f"""<ENVELOPE>
 <HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE><ID>Vouchers</ID></HEADER>
 <BODY>
  <DESC><STATICVARIABLES><SVCURRENTCOMPANY>{company}</SVCURRENTCOMPANY></STATICVARIABLES></DESC>
  <DATA><TALLYMESSAGE xmlns:UDF="TallyUDF">{"".join(vouchers)}</TALLYMESSAGE></DATA>
 </BODY>
</ENVELOPE>"""


def legacy_import(report: str, *objects: str, company: str = COMPANY_XML) -> str:
    return f"""<ENVELOPE><HEADER><TALLYREQUEST>Import Data</TALLYREQUEST></HEADER>
<BODY><IMPORTDATA>
 <REQUESTDESC><REPORTNAME>{report}</REPORTNAME>
  <STATICVARIABLES><SVCURRENTCOMPANY>{company}</SVCURRENTCOMPANY></STATICVARIABLES></REQUESTDESC>
 <REQUESTDATA><TALLYMESSAGE xmlns:UDF="TallyUDF">{"".join(objects)}</TALLYMESSAGE></REQUESTDATA>
</IMPORTDATA></BODY></ENVELOPE>"""


def export_collection(collection_id: str, tdl: str, statics: str = "", company: str = COMPANY_XML) -> str:
    return f"""<ENVELOPE>
 <HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST>
  <TYPE>Collection</TYPE><ID>{collection_id}</ID></HEADER>
 <BODY><DESC>
  <STATICVARIABLES><SVCURRENTCOMPANY>{company}</SVCURRENTCOMPANY>
   <SVEXPORTFORMAT>$$SysName:XML</SVEXPORTFORMAT>{statics}</STATICVARIABLES>
  <TDL><TDLMESSAGE>{tdl}</TDLMESSAGE></TDL>
 </DESC></BODY>
</ENVELOPE>"""


STOCK_TDL = """<COLLECTION NAME="Items"><TYPE>StockItem</TYPE>
 <FETCH>Parent,BaseUnits,ClosingBalance,ClosingValue,LanguageName</FETCH></COLLECTION>"""


def created_id(tally: Tally, xml: str) -> int:
    root = parse(tally.post(xml))
    assert counters(root)["CREATED"] == 1, line_errors(root)
    return counters(root)["LASTVCHID"]


# ---- the running banner, envelopes --------------------------------------------------------

def test_get_and_empty_post_answer_the_running_banner(tally: Tally) -> None:
    assert httpx.get(tally.url + "/").text == "<RESPONSE>TallyPrime Server is Running</RESPONSE>"
    assert tally.post("").text == "<RESPONSE>TallyPrime Server is Running</RESPONSE>"


@pytest.mark.parametrize("body", [
    "this is not xml",
    "<ENVELOPE><HEADER><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE><ID>Vouchers</ID></HEADER></ENVELOPE>",
    "<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Fetch</TALLYREQUEST></HEADER></ENVELOPE>",
    "<REQUEST><HEADER><VERSION>1</VERSION></HEADER></REQUEST>",
])
def test_malformed_envelope_is_an_unknown_request(tally: Tally, body: str) -> None:
    root = parse(tally.post(body))
    assert status(root) == "0"
    assert line_errors(root) == ["Unknown Request, cannot be processed"]


@pytest.mark.parametrize("hostile", [
    """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
    <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
    <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
    <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
    <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
    <ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>
    <ID>Vouchers</ID></HEADER><BODY><DATA><TALLYMESSAGE><VOUCHER><NARRATION>&lol4;</NARRATION>
    </VOUCHER></TALLYMESSAGE></DATA></BODY></ENVELOPE>""",
    """<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
    <ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST><TYPE>Function</TYPE>
    <ID>&xxe;</ID></HEADER></ENVELOPE>""",
])
def test_hostile_xml_is_refused_without_expanding(tally: Tally, hostile: str) -> None:
    started = time.monotonic()
    response = tally.post(hostile)
    assert time.monotonic() - started < 2
    assert "lollol" not in response.text and "root:" not in response.text
    assert line_errors(parse(response)) == ["Unknown Request, cannot be processed"]
    assert tally.vouchers() == []


def test_legacy_import_answers_a_bare_response(tally: Tally) -> None:
    root = parse(tally.post(legacy_import("Vouchers", order("SO-1"))))
    assert root.tag == "RESPONSE"
    assert list(counters(root)) == ["CREATED", "ALTERED", "DELETED", "LASTVCHID", "LASTMID", "COMBINED",
                                    "IGNORED", "ERRORS", "CANCELLED", "EXCEPTIONS"]
    assert counters(root)["CREATED"] == 1


def test_versioned_import_answers_an_envelope_with_status(tally: Tally) -> None:
    root = parse(tally.post(import_vouchers(order("SO-1"))))
    assert root.tag == "ENVELOPE" and root.findtext("HEADER/VERSION") == "1" and status(root) == "1"
    assert counters(root)["CREATED"] == 1 and counters(root)["LASTVCHID"] == tally.vouchers()[0]["master_id"]


def test_vouchers_cannot_be_imported_as_masters(tally: Tally) -> None:
    root = parse(tally.post(legacy_import("All Masters", order("SO-1"))))
    assert counters(root)["EXCEPTIONS"] == 1 and tally.vouchers() == []


# ---- vouchers ------------------------------------------------------------------------------

def test_balanced_sales_order_is_created_and_moves_no_stock(tally: Tally) -> None:
    master_id = created_id(tally, import_vouchers(order("SO-1001")))
    [voucher] = tally.vouchers()
    assert voucher["master_id"] == master_id and voucher["type"] == "Sales Order"
    assert voucher["number"] == "SO-1001" and voucher["party"] == "Acme Retail"
    assert voucher["guid"].count("-") == 5 and len(voucher["guid"].rsplit("-", 1)[1]) == 8
    assert tally.stock() == "120"  # orders do not move stock


def test_the_same_voucher_twice_is_stored_twice(tally: Tally) -> None:
    twice = order("SO-1", attrs='ACTION="Create" REMOTEID="ss-order-77"')
    first, second = created_id(tally, import_vouchers(twice)), created_id(tally, import_vouchers(twice))
    vouchers = tally.vouchers()
    assert first != second and len(vouchers) == 2
    assert {v["remote_id"] for v in vouchers} == {"ss-order-77"}
    assert vouchers[0]["guid"] != vouchers[1]["guid"]


def test_unbalanced_voucher_is_rejected(tally: Tally) -> None:
    root = parse(tally.post(import_vouchers(order("SO-1", party_amount="-400.00"))))
    assert counters(root)["ERRORS"] == 1 and counters(root)["CREATED"] == 0 and status(root) == "0"
    assert line_errors(root) == ["Voucher totals do not match! Dr: 400.00 Cr: 500.00 Diff: 100.00"]
    assert tally.vouchers() == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"party": "Nobody"}, "Ledger 'Nobody' does not exist!"),
    ({"item": "TEA-BLK-100"}, "Stock Item 'TEA-BLK-100' does not exist!"),
    ({"item": "8901234000017"}, "Stock Item '8901234000017' does not exist!"),  # an alias is not a name
    ({"vtype": "Sales Ordr"}, "Voucher Type 'Sales Ordr' does not exist!"),
    ({"vtype": "Payment"}, "Voucher Type 'Payment' does not exist!"),  # not enabled in this company
    ({"day": "10-04-2025"}, "Voucher date is missing for 'Sales Order' voucher 'SO-1'"),
    ({"day": "20250331"}, "Voucher date '31-Mar-2025' is before the Books Beginning date '1-Apr-2025'!"),
])
def test_voucher_referencing_what_tally_lacks_is_an_error(tally: Tally, changes: dict[str, str],
                                                          message: str) -> None:
    root = parse(tally.post(import_vouchers(order("SO-1", **changes))))  # type: ignore[arg-type]
    assert counters(root)["ERRORS"] == 1 and line_errors(root) == [message]
    assert tally.vouchers() == []


def test_sign_flag_disagreeing_with_amount_is_rejected(tally: Tally) -> None:
    party_as_credit = "<ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>"
    flipped = order("SO-1").replace("<ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>", party_as_credit)
    root = parse(tally.post(import_vouchers(flipped)))
    assert counters(root)["ERRORS"] == 1 and "ISDEEMEDPOSITIVE No disagrees" in line_errors(root)[0]


def test_batch_with_a_bad_middle_voucher_keeps_the_others(tally: Tally) -> None:
    root = parse(tally.post(import_vouchers(order("SO-1"), order("SO-2", party="Nobody"), order("SO-3"))))
    assert counters(root)["CREATED"] == 2 and counters(root)["ERRORS"] == 1 and status(root) == "1"
    assert line_errors(root) == ["Ledger 'Nobody' does not exist!"]
    vouchers = tally.vouchers()
    assert [v["number"] for v in vouchers] == ["SO-1", "SO-3"]
    assert counters(root)["LASTVCHID"] == vouchers[-1]["master_id"]


def test_alter_by_master_id_replaces_the_voucher_and_bumps_alter_id(tally: Tally) -> None:
    master_id = created_id(tally, import_vouchers(order("SO-1")))
    [before] = tally.vouchers()
    alter = order("SO-1", qty=3, attrs=f'ACTION="Alter" TAGNAME="MasterId" TAGVALUE="{master_id}"')
    root = parse(tally.post(import_vouchers(alter)))
    assert counters(root)["ALTERED"] == 1 and counters(root)["CREATED"] == 0
    [after] = tally.vouchers()
    assert (after["guid"], after["master_id"]) == (before["guid"], before["master_id"])
    assert after["alter_id"] > before["alter_id"]
    assert after["inventory_entries"][0]["actual_qty"] == "3"


def test_alter_without_identifying_attribute_creates_a_duplicate(tally: Tally) -> None:
    created_id(tally, import_vouchers(order("SO-1")))
    root = parse(tally.post(import_vouchers(order("SO-1", attrs='ACTION="Alter"'))))
    assert counters(root)["CREATED"] == 1 and len(tally.vouchers()) == 2


def test_alter_by_date_and_number_ignores_the_voucher_type(tally: Tally) -> None:
    purchase_id = created_id(tally, import_vouchers(PURCHASE_ORDER_4))
    sales_id = created_id(tally, import_vouchers(order("4", day="20250412")))
    alter = order("4", qty=2, day="20250412",
                  attrs='DATE="20250412" TAGNAME="Voucher Number" TAGVALUE="4" ACTION="Alter"')
    assert counters(parse(tally.post(import_vouchers(alter))))["ALTERED"] == 1
    by_id = {v["master_id"]: v for v in tally.vouchers()}
    assert by_id[purchase_id]["type"] == "Sales Order"  # the purchase order was overwritten
    assert by_id[purchase_id]["inventory_entries"][0]["actual_qty"] == "2"
    assert by_id[sales_id]["inventory_entries"][0]["actual_qty"] == "5"  # the intended one is untouched


def test_cancel_keeps_the_voucher_and_restores_stock(tally: Tally) -> None:
    master_id = created_id(tally, import_vouchers(order("DN-1", vtype="Delivery Note")))
    assert tally.stock() == "115"
    cancel = (f'<VOUCHER DATE="20250410" TAGNAME="MasterId" TAGVALUE="{master_id}" VCHTYPE="Delivery Note" '
              'ACTION="Cancel"><NARRATION>Order cancelled on ShipStation</NARRATION></VOUCHER>')
    root = parse(tally.post(import_vouchers(cancel)))
    assert counters(root)["CANCELLED"] == 1
    [voucher] = tally.vouchers()
    assert voucher["cancelled"] is True and voucher["narration"] == "Order cancelled on ShipStation"
    assert tally.stock() == "120"
    tdl = '<COLLECTION NAME="V"><TYPE>Voucher</TYPE><FETCH>IsCancelled</FETCH></COLLECTION>'
    [row] = rows(tally.post(export_collection("V", tdl)), "VOUCHER")
    assert row.findtext("ISCANCELLED") == "Yes" and row.find("ISCANCELLED").get("TYPE") == "Logical"


def test_delete_by_date_and_number_removes_the_voucher(tally: Tally) -> None:
    created_id(tally, import_vouchers(order("DN-1", vtype="Delivery Note")))
    delete = ('<VOUCHER DATE="20250410" TAGNAME="Voucher Number" TAGVALUE="DN-1" VCHTYPE="Delivery Note" '
              'ACTION="Delete"/>')
    assert counters(parse(tally.post(import_vouchers(delete))))["DELETED"] == 1
    assert tally.vouchers() == [] and tally.stock() == "120"
    root = parse(tally.post(import_vouchers(delete)))
    assert line_errors(root) == ["Voucher does not exist!"]


# ---- masters -------------------------------------------------------------------------------

MASTERS = """
<LEDGER NAME="Bharat Traders" ACTION="Create">
 <LANGUAGENAME.LIST><NAME.LIST TYPE="String">
  <NAME>Bharat Traders</NAME><NAME>BT-01</NAME>
 </NAME.LIST></LANGUAGENAME.LIST>
 <PARENT>Sundry Debtors</PARENT><OPENINGBALANCE>-5000.00</OPENINGBALANCE>
</LEDGER>
<LEDGER NAME="BT-01" ACTION="Create"><NAME>BT-01</NAME><PARENT>Sundry Debtors</PARENT></LEDGER>
<GROUP NAME="Marketplaces" ACTION="Create"><NAME>Marketplaces</NAME><PARENT>Primary</PARENT></GROUP>
<LEDGER NAME="Flipkart" ACTION="Create"><NAME>Flipkart</NAME><PARENT>Marketplaces</PARENT></LEDGER>
<UNIT NAME="Box of 10" ACTION="Create"><NAME>Box of 10</NAME><ISSIMPLEUNIT>Yes</ISSIMPLEUNIT></UNIT>
<UNIT NAME="Pcs" ACTION="Create"><NAME>Pcs</NAME><ISSIMPLEUNIT>Yes</ISSIMPLEUNIT><DECIMALPLACES>0</DECIMALPLACES></UNIT>
"""


def test_master_import_applies_tallys_rules(tally: Tally) -> None:
    root = parse(tally.post(legacy_import("All Masters", MASTERS)))
    assert counters(root)["CREATED"] == 2 and counters(root)["ERRORS"] == 4
    assert line_errors(root) == [
        "Ledger 'Bharat Traders' already exists!",  # BT-01 is taken as an alias
        "Parent group 'Primary' does not exist!",  # Primary must be sent as an empty PARENT
        "Parent group 'Marketplaces' does not exist!",
        "Master name contains invalid characters",
    ]
    masters = tally.control("masters")
    assert {"name": "Bharat Traders", "aliases": ["BT-01"]}.items() <= masters["LEDGER"][-1].items()
    assert counters(root)["LASTMID"] == masters["UNIT"][-1]["master_id"]
    by_alias = order("SO-1", party="BT-01")
    assert line_errors(parse(tally.post(import_vouchers(by_alias)))) == ["Ledger 'BT-01' does not exist!"]


# ---- encodings and companies ---------------------------------------------------------------

DEVANAGARI_LEDGER = "शर्मा &amp; संस ट्रेडर्स"


def test_utf16_request_round_trips_devanagari_and_ampersand(tally: Tally) -> None:
    ledger = (f'<LEDGER NAME="{DEVANAGARI_LEDGER}" ACTION="Create"><NAME>{DEVANAGARI_LEDGER}</NAME>'
              "<PARENT>Sundry Debtors</PARENT></LEDGER>")
    reply = tally.post(legacy_import("All Masters", ledger), utf16=True)
    assert reply.headers["content-type"] == "text/xml; charset=utf-16"
    assert counters(parse(reply))["CREATED"] == 1
    voucher = order("SO-1", party=DEVANAGARI_LEDGER, narration="ग्राहक &amp; ऑर्डर ₹500")
    assert counters(parse(tally.post(import_vouchers(voucher), utf16=True, bom=True)))["CREATED"] == 1
    tdl = """<COLLECTION NAME="V"><TYPE>Voucher</TYPE><FETCH>PartyLedgerName,Narration</FETCH></COLLECTION>"""
    exported = tally.post(export_collection("V", tdl), utf16=True)
    [row] = rows(exported, "VOUCHER")
    assert row.findtext("PARTYLEDGERNAME") == "शर्मा & संस ट्रेडर्स"
    assert row.findtext("NARRATION") == "ग्राहक & ऑर्डर ₹500"
    assert "&amp;" in exported.content.decode("utf-16-le")


def test_company_must_be_loaded(tally: Tally) -> None:
    tally.control("company", {"loaded": False})
    root = parse(tally.post(import_vouchers(order("SO-1"))))
    assert status(root) == "0" and line_errors(root) == [f"Could not find Company '{COMPANY}'"]
    assert tally.post(export_collection("Items", STOCK_TDL)).content == b""  # empty body, reference §1
    tally.control("company", {"loaded": True})
    assert counters(parse(tally.post(import_vouchers(order("SO-1")))))["CREATED"] == 1


@pytest.mark.parametrize("name", ["Sharma &amp; Sons Retail Pvt Ltd ", "sharma &amp; sons retail pvt ltd",
                                  "Sharma &amp;amp; Sons Retail Pvt Ltd"])
def test_company_names_match_exactly(tally: Tally, name: str) -> None:
    expected = "Could not find Company '" + name.replace("&amp;", "&") + "'"
    assert line_errors(parse(tally.post(import_vouchers(order("SO-1"), company=name)))) == [expected]
    assert line_errors(parse(tally.post(export_collection("Items", STOCK_TDL, company=name)))) == [expected]


def test_omitted_company_means_the_active_one_and_functions_name_it(tally: Tally) -> None:
    assert counters(parse(tally.post(import_vouchers(order("SO-1"), company=""))))["CREATED"] == 1
    function = """<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST><TYPE>Function</TYPE>
    <ID>$$CurrentSimpleCompany</ID></HEADER><BODY><DESC><STATICVARIABLES/></DESC></BODY></ENVELOPE>"""
    assert parse(tally.post(function)).findtext("BODY/DATA/RESULT") == COMPANY


# ---- exports -------------------------------------------------------------------------------

VOUCHER_TDL = """<COLLECTION NAME="VchSince"><TYPE>Voucher</TYPE>
 <FETCH>Date,VoucherTypeName,VoucherNumber,AlterId,MasterId,Guid</FETCH>
 <FETCH>AllInventoryEntries</FETCH><FILTER>fType,fRange</FILTER></COLLECTION>
<SYSTEM TYPE="Formulae" NAME="fType">$VoucherTypeName = "Sales Order" AND NOT $IsCancelled</SYSTEM>
<SYSTEM TYPE="Formulae" NAME="fRange">$Date &gt;= $$Date:"20250406" AND $Date &lt;= $$Date:"20250415"</SYSTEM>"""


def test_voucher_collection_filtered_by_type_and_date(tally: Tally) -> None:
    for number, day, vtype in [("SO-1", "20250405", "Sales Order"), ("SO-2", "20250410", "Sales Order"),
                               ("DN-1", "20250410", "Delivery Note"), ("SO-3", "20250414", "Sales Order"),
                               ("SO-4", "20250420", "Sales Order"), ("SO-5", "20250411", "Sales Order")]:
        created_id(tally, import_vouchers(order(number, day=day, vtype=vtype)))
    so5 = next(v for v in tally.vouchers() if v["number"] == "SO-5")
    cancel = f'<VOUCHER TAGNAME="MasterId" TAGVALUE="{so5["master_id"]}" ACTION="Cancel"/>'
    tally.post(import_vouchers(cancel))
    response = tally.post(export_collection("VchSince", VOUCHER_TDL))
    found = rows(response, "VOUCHER")
    assert [r.findtext("VOUCHERNUMBER") for r in found] == ["SO-2", "SO-3"]
    first = found[0]
    assert first.find("DATE").get("TYPE") == "Date" and first.findtext("DATE") == "20250410"
    assert first.findtext("ALTERID").startswith(" ") and first.find("MASTERID").get("TYPE") == "Number"
    assert first.find("NARRATION") is None  # only fetched fields come back
    batch = first.find("ALLINVENTORYENTRIES.LIST/BATCHALLOCATIONS.LIST")
    assert batch.findtext("GODOWNNAME") == "Main Location"
    assert "<TRACKINGNUMBER TYPE=\"String\">&#4; Not Applicable</TRACKINGNUMBER>" in response.text
    assert first.findtext("ALLINVENTORYENTRIES.LIST/ACTUALQTY") == " 5 Nos"

    by_period = export_collection("Plain", '<COLLECTION NAME="Plain"><TYPE>Voucher</TYPE><FETCH>VoucherNumber'
                                  "</FETCH></COLLECTION>",
                                  "<SVFROMDATE>20250410</SVFROMDATE><SVTODATE>20250411</SVTODATE>")
    numbers = [r.findtext("VOUCHERNUMBER") for r in rows(tally.post(by_period), "VOUCHER")]
    assert numbers == ["SO-2", "DN-1", "SO-5"]


def test_stock_item_collection_reports_closing_balance_for_the_period(tally: Tally) -> None:
    created_id(tally, import_vouchers(order("DN-1", vtype="Delivery Note", day="20250410")))
    created_id(tally, import_vouchers(order("DN-2", vtype="Delivery Note", qty=10, day="20250420")))
    created_id(tally, import_vouchers(order("SO-9", qty=50, day="20250410")))  # orders move nothing
    upto = "<SVFROMDATE>20250401</SVFROMDATE><SVTODATE>20250415</SVTODATE>"
    [item] = rows(tally.post(export_collection("Items", STOCK_TDL, upto)), "STOCKITEM")
    assert item.get("NAME") == "TEA-GRN-250"
    assert item.findtext("CLOSINGBALANCE") == " 115 Nos" and item.find("CLOSINGBALANCE").get("TYPE") == "Quantity"
    assert item.findtext("CLOSINGVALUE") == "-9200.00"
    assert (item.findtext("BASEUNITS"), item.findtext("PARENT")) == ("Nos", "Finished Goods")
    assert [n.text for n in item.iterfind("LANGUAGENAME.LIST/NAME.LIST/NAME")] == ["TEA-GRN-250", "8901234000017"]
    [item] = rows(tally.post(export_collection("Items", STOCK_TDL)), "STOCKITEM")
    assert item.findtext("CLOSINGBALANCE") == " 105 Nos"


def test_company_collection_and_legacy_collection_export(tally: Tally) -> None:
    created_id(tally, import_vouchers(order("SO-1")))
    legacy = """<ENVELOPE><HEADER><TALLYREQUEST>Export Data</TALLYREQUEST></HEADER><BODY><EXPORTDATA>
    <REQUESTDESC><REPORTNAME>Collection</REPORTNAME>
    <TDL><TDLMESSAGE><COLLECTION NAME="Cmp"><TYPE>Company</TYPE>
     <FETCH>Name,Guid,BooksFrom,AltMstId,AltVchId</FETCH></COLLECTION></TDLMESSAGE></TDL>
    </REQUESTDESC></EXPORTDATA></BODY></ENVELOPE>"""
    [company] = rows(tally.post(legacy), "COMPANY")
    assert company.get("NAME") == COMPANY and company.findtext("BOOKSFROM") == "20250401"
    assert company.findtext("ALTVCHID") == f" {tally.vouchers()[0]['alter_id']}"
    assert company.findtext("GUID") and int(company.findtext("ALTMSTID")) > 0


def test_unsupported_formula_is_a_clear_line_error(tally: Tally) -> None:
    tdl = """<COLLECTION NAME="V"><TYPE>Voucher</TYPE><FILTER>f</FILTER></COLLECTION>
    <SYSTEM TYPE="Formulae" NAME="f">$$IsEmpty:$Reference</SYSTEM>"""
    [message] = line_errors(parse(tally.post(export_collection("V", tdl))))
    assert message.startswith("[sandbox] Formula 'f' is not simulated")


# ---- one request at a time -----------------------------------------------------------------

def test_concurrent_requests_are_served_one_after_the_other() -> None:
    with running_tally(import_delay=0.4) as tally:
        spans: list[tuple[float, float]] = []

        def post(number: str) -> None:
            started = time.monotonic()
            tally.post(import_vouchers(order(number)))
            spans.append((started, time.monotonic()))

        threads = [threading.Thread(target=post, args=(n,)) for n in ("SO-1", "SO-2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        (_, first_end), (_, second_end) = sorted(spans, key=lambda s: s[1])
        assert second_end - first_end >= 0.35  # the second waited for the first's delay
        assert len(tally.vouchers()) == 2


def test_a_client_that_gives_up_still_finds_the_voucher_committed() -> None:
    with running_tally(import_delay=1.0) as tally:
        with pytest.raises(httpx.ReadTimeout):
            tally.post(import_vouchers(order("SO-1")), timeout=0.3)
        assert [v["number"] for v in tally.vouchers()] == ["SO-1"]  # committed before the answer


def test_holds_100k_vouchers_and_answers_imports_and_dated_exports_without_walking_the_books() -> None:
    """With 100,000 vouchers loaded, imports land and a one-day export walks only that day's vouchers (the
    date index a period-bounded collection is served from), counted by the simulator, not timed."""
    state = TallyState.from_masters(SPEC)
    company = state.active
    assert company is not None
    types = [company.master(VOUCHERTYPE, "Sales Order"), company.master(VOUCHERTYPE, "Delivery Note")]
    party, item = company.master(LEDGER, "Acme Retail"), company.master(STOCKITEM, "TEA-GRN-250")
    godown = company.master(GODOWN, "Main Location")
    assert party and item and godown and all(types)
    for i in range(100_000):  # loaded through the model: building 100k through HTTP would be slow
        line = InventoryLine(item, False, Decimal("100.00"), Decimal(1), Decimal(1), batches=[Batch(godown)])
        company.add_voucher(Voucher(types[i % 2], date(2025, 4, 1) + timedelta(days=i % 365), f"N-{i}",  # type: ignore[arg-type]
                                    ledger_lines=[LedgerLine(party, Decimal("-100.00"), True, True)],
                                    inventory_lines=[line]))
    with ServedApp(create_app(state)) as served:
        tally = Tally(served.base_url)
        root = parse(tally.post(import_vouchers(*(order(f"SO-{n}") for n in range(50)))))
        assert counters(root)["CREATED"] == 50
        tdl = """<COLLECTION NAME="Day"><TYPE>Voucher</TYPE><FETCH>VoucherNumber,MasterId</FETCH>
        <FILTER>fDay</FILTER></COLLECTION>
        <SYSTEM TYPE="Formulae" NAME="fDay">$Date = $$Date:"20250601" AND $VoucherTypeName = "Delivery Note"</SYSTEM>"""
        found = rows(tally.post(export_collection("Day", tdl)), "VOUCHER")
        assert len(found) == 137
        walked = httpx.get(f"{served.base_url}/__sandbox/stats").json()["vouchers_walked"]
        assert 137 <= walked <= 2 * 137 + 50  # that day's two types (and today's 50 orders), not 100,000


# ---- control plane -------------------------------------------------------------------------

def test_control_plane_edits_and_deletes_like_an_accountant(tally: Tally) -> None:
    master_id = created_id(tally, import_vouchers(order("DN-1", vtype="Delivery Note")))
    [before] = tally.vouchers()
    edited = tally.control(f"vouchers/{master_id}/edit", {"narration": "fixed by hand",
                                                         "item_quantities": {"TEA-GRN-250": "4"},
                                                         "ledger_amounts": {"Acme Retail": "-400.00"}})
    assert edited["alter_id"] > before["alter_id"] and edited["narration"] == "fixed by hand"
    assert tally.stock() == "116"
    refused = httpx.post(f"{tally.url}/__sandbox/vouchers/{master_id}/edit",
                         json={"ledger_amounts": {"Acme Retail": "-1.00"}})
    assert refused.status_code == 422 and "Voucher totals do not match" in refused.json()["error"]
    assert tally.control(f"vouchers/{master_id}/delete", {}) == {"deleted": master_id}
    assert tally.vouchers() == [] and tally.stock() == "120"
    assert tally.control("stats")["import"] == 1

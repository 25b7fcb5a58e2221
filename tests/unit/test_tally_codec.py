"""Building Tally requests: golden XML, escaping, encoding, round trips and a property test."""

from __future__ import annotations

import codecs
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from connectors.tally import codec
from connectors.tally.models import (
    Godown,
    Group,
    InventoryEntry,
    Ledger,
    LedgerEntry,
    OrderRef,
    StockItem,
    Unit,
    Voucher,
)
from connectors.tally.xml_build import voucher_element

GOLDEN = Path(__file__).parent / "golden"
AWKWARD = ["Ram & Shyam <Traders>", "राम कुमार", "José", 'Quote "q" \'s\' ₹']


def canonical(xml: str | bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False)
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
    return etree.tostring(root, method="c14n")


def sales_order() -> Voucher:
    return Voucher(
        voucher_type="Sales Order", date=date(2025, 4, 10), voucher_number="SO-1001", reference="SS-88231",
        party_ledger="Acme Retail", narration="ShipStation order 88231 [ext:ss-88231]", remote_id="ml-ss-88231",
        inventory_entries=[
            InventoryEntry(stock_item="WIDGET-A", quantity=Decimal(5), unit="Nos", rate=Decimal(100),
                           amount=Decimal("500.00"), godown="Main Location", order_no="SO-1001",
                           order_due_date=date(2025, 4, 20), accounting_ledger="Sales Account"),
            InventoryEntry(stock_item="GADGET-B", quantity=Decimal(2), unit="Nos", rate=Decimal(250),
                           amount=Decimal("500.00"), godown="Main Location", order_no="SO-1001",
                           accounting_ledger="Sales Account", description="Blue, gift wrapped"),
        ],
        ledger_entries=[
            LedgerEntry(ledger_name="Acme Retail", amount=Decimal("-1121.00"), is_party=True),
            LedgerEntry(ledger_name="Shipping Charges", amount=Decimal("50.00")),
            LedgerEntry(ledger_name="Discount Allowed", amount=Decimal("-100.00")),
            LedgerEntry(ledger_name="Output IGST 18%", amount=Decimal("171.00")),
        ],
    )


def as_collection_reply(vouchers: list[Voucher]) -> str:
    """Wrap built VOUCHER elements the way a collection export returns them."""
    root = etree.fromstring(b"<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER>"
                            b"<BODY><DESC/><DATA><COLLECTION/></DATA></BODY></ENVELOPE>")
    collection = root.find("BODY/DATA/COLLECTION")
    for number, voucher in enumerate(vouchers, start=1):
        el = voucher_element(voucher)
        etree.SubElement(el, "GUID").text = f"43cd646b-0000-0000-0000-ae276a3ef875-{number:08x}"
        etree.SubElement(el, "MASTERID", TYPE="Number").text = f" {number}"
        etree.SubElement(el, "ALTERID", TYPE="Number").text = f" {440 + number}"
        collection.append(el)
    return etree.tostring(root, encoding="unicode")


def test_sales_order_matches_golden_xml() -> None:
    built = codec.build_voucher_import("Demo Traders Pvt Ltd", [sales_order()])
    assert canonical(built) == canonical((GOLDEN / "tally_sales_order.xml").read_bytes())
    assert sales_order().balance() == 0


@pytest.mark.parametrize("action", ["Alter", "Cancel", "Delete"])
def test_alter_cancel_delete_identify_by_master_id(action: str) -> None:
    voucher = sales_order().model_copy(update={"action": action, "master_id": 1534})
    el = etree.fromstring(codec.build_voucher_import("Demo", [voucher])).find(".//VOUCHER")
    assert (el.get("DATE"), el.get("TAGNAME"), el.get("TAGVALUE")) == ("20250410", "MasterId", "1534")
    assert (el.get("VCHTYPE"), el.get("ACTION")) == ("Sales Order", action)
    if action == "Delete":
        assert len(el) == 0
    if action == "Alter":  # reference §3.7: the complete voucher, not a diff
        assert len(el.findall("ALLINVENTORYENTRIES.LIST")) == 2


def test_voucher_validation() -> None:
    entries = [LedgerEntry(ledger_name="Cash", amount=Decimal("-10.00")),
               LedgerEntry(ledger_name="Sales", amount=Decimal("9.99"))]
    with pytest.raises(ValidationError, match="does not balance"):
        Voucher(voucher_type="Journal", date=date(2025, 4, 1), ledger_entries=entries)
    with pytest.raises(ValidationError, match="master_id"):
        Voucher(voucher_type="Sales", action="Alter", date=date(2025, 4, 1))
    with pytest.raises(ValidationError, match="2 decimal places"):
        LedgerEntry(ledger_name="Cash", amount=Decimal("1.005"))
    assert LedgerEntry(ledger_name="Cash", amount=Decimal("-1")).is_deemed_positive
    assert not LedgerEntry(ledger_name="Cash", amount=Decimal("1")).is_deemed_positive


def test_accounting_view_uses_all_ledger_entries_and_order_refs() -> None:
    receipt = Voucher(
        voucher_type="Receipt", date=date(2025, 5, 1), view="Accounting Voucher View",
        order_refs=[OrderRef(order_no="SO-1001", basic_order_date=date(2025, 4, 10))],
        ledger_entries=[LedgerEntry(ledger_name="Acme Retail", amount=Decimal("354.00"), is_party=True),
                        LedgerEntry(ledger_name="HDFC Bank", amount=Decimal("-354.00"))],
    )
    el = etree.fromstring(codec.build_voucher_import("Demo", [receipt])).find(".//VOUCHER")
    assert [e.findtext("ISDEEMEDPOSITIVE") for e in el.findall("ALLLEDGERENTRIES.LIST")] == ["No", "Yes"]
    assert el.find("LEDGERENTRIES.LIST") is None
    assert el.findtext("INVOICEORDERLIST.LIST/BASICPURCHASEORDERNO") == "SO-1001"
    assert el.findtext("INVOICEORDERLIST.LIST/BASICORDERDATE") == "20250410"


def test_round_trip_through_a_collection_export() -> None:
    voucher = sales_order()
    [record] = codec.parse_vouchers(as_collection_reply([voucher]))
    assert (record.master_id, record.alter_id, record.remote_id) == (1, 441, "ml-ss-88231")
    assert (record.voucher_type, record.date, record.voucher_number) == ("Sales Order", voucher.date, "SO-1001")
    assert (record.reference, record.party_ledger, record.narration) == ("SS-88231", "Acme Retail", voucher.narration)
    assert record.ledger_entries == voucher.ledger_entries
    assert record.inventory_entries == voucher.inventory_entries


@pytest.mark.parametrize("name", AWKWARD)
def test_awkward_names_are_escaped_everywhere(name: str) -> None:
    voucher = Voucher(
        voucher_type="Sales Order", date=date(2025, 4, 10), party_ledger=name,
        ledger_entries=[LedgerEntry(ledger_name=name, amount=Decimal("-1.00"), is_party=True)],
        inventory_entries=[InventoryEntry(stock_item=name, quantity=Decimal(1), unit="Nos", rate=Decimal(1),
                                          amount=Decimal("1.00"), accounting_ledger=name)],
    )
    built = codec.build_voucher_import(name, [voucher])
    if "&" in name:
        assert "Ram &amp; Shyam &lt;Traders&gt;" in built
    for encoding in ("utf-16", "utf-8"):
        decoded = codec.decode_response(codec.encode_request(built, encoding))
        root = codec.parse_xml(decoded)
        assert root.findtext("BODY/DESC/STATICVARIABLES/SVCURRENTCOMPANY") == name
        assert root.findtext(".//PARTYLEDGERNAME") == name
        assert root.findtext(".//ACCOUNTINGALLOCATIONS.LIST/LEDGERNAME") == name
    export = codec.vouchers_request(name, voucher_type="Sales Order")
    assert etree.fromstring(export).findtext(".//SVCURRENTCOMPANY") == name


def test_masters_envelope() -> None:
    masters = [
        StockItem(name="WIDGET-A", parent="Finished Goods", base_unit="Nos", aliases=["8901234567890"],
                  part_no="PN-7781"),
        Ledger(name="Ram & Shyam <Traders>", parent="Sundry Debtors", aliases=["ACME-001"], is_bill_wise_on=True,
               address=["12 MG Road", "Pune"], state="Maharashtra", gstin="27ABCDE1234F1Z5",
               applicable_from=date(2025, 4, 1)),
        Group(name="Online Customers", parent="Sundry Debtors"),
        Unit(name="Nos", formal_name="Numbers"),
        Godown(name="WH Pune", parent="Primary"),
        Ledger(name="Old", parent=None, action="Delete"),
    ]
    root = etree.fromstring(codec.build_master_import("Demo", masters))
    assert root.findtext("HEADER/ID") == "All Masters"
    objects = [m[0] for m in root.findall("BODY/DATA/TALLYMESSAGE")]
    assert [o.tag for o in objects] == ["GROUP", "UNIT", "GODOWN", "STOCKITEM", "LEDGER", "LEDGER"]
    ledger = objects[4]
    assert ledger.get("NAME") == "Ram & Shyam <Traders>"
    assert [n.text for n in ledger.findall("LANGUAGENAME.LIST/NAME.LIST/NAME")] == [
        "Ram & Shyam <Traders>", "ACME-001"]
    assert ledger.findtext("LEDGSTREGDETAILS.LIST/GSTIN") == "27ABCDE1234F1Z5"
    assert objects[2].find("PARENT").text is None  # reference §4: Primary is an empty PARENT
    assert objects[3].findtext("MAILINGNAME.LIST/MAILINGNAME") == "PN-7781"
    assert (objects[5].get("ACTION"), objects[5].findtext("NAME")) == ("Delete", "Old")


def test_collection_request_shape_and_formula_grammar() -> None:
    xml = codec.collection_request("Demo", "VchSince", "Voucher", ["Date", "AlterId"],
                                   {"fSince": "$AlterId > 12345", "fLive": "NOT $IsCancelled"},
                                   date(2025, 4, 1), date(2025, 4, 30))
    root = etree.fromstring(xml)
    assert root.findtext("HEADER/TYPE") == "Collection" and root.findtext("HEADER/ID") == "VchSince"
    assert root.findtext(".//COLLECTION[@NAME='VchSince']/FILTER") == "fSince,fLive"
    assert root.findtext(".//SYSTEM[@NAME='fSince']") == "$AlterId > 12345"
    assert root.find(".//SYSTEM[@NAME='fLive']").get("TYPE") == "Formulae"
    assert root.find(".//SVFROMDATE").get("TYPE") == "Date"
    assert "$AlterId &gt; 12345" in xml
    assert codec.compare("Date", ">=", date(2025, 4, 1)) == '$Date >= $$Date:"20250401"'
    assert codec.all_of(codec.compare("MasterId", "=", 7), "NOT $IsCancelled") == "$MasterId = 7 AND NOT $IsCancelled"


@pytest.mark.parametrize("formula", [
    '$Name = "a" OR $$SysInfo:x', '$Name = "a"" + "b"', "$Name", "$$LicenseInfo:Serial = 1",
    '$Name = "x$y"', "$Date = 2025-04-01", "$Name = ##SVCurrentCompany", "$Amount > 1; $X < 2",
])
def test_formulas_outside_the_grammar_are_refused(formula: str) -> None:
    with pytest.raises(ValueError):
        codec.collection_request("Demo", "C", "Voucher", ["Date"], {"f": formula})


def test_names_in_tdl_are_refused_when_they_could_inject() -> None:
    with pytest.raises(ValueError):
        codec.vouchers_request("Demo", voucher_type='Sales" OR $$X:"')
    with pytest.raises(ValueError):
        codec.collection_request("Demo", "C<x>", "Voucher", ["Date"])
    with pytest.raises(ValueError):
        codec.collection_request("Demo", "C", "Voucher", ["Date,GUID"])


def test_utf16_encoding_and_decoding() -> None:
    text = "<RESPONSE>राम ₹ José</RESPONSE>"
    body = codec.encode_request(text)
    assert body == text.encode("utf-16-le") and not body.startswith(codecs.BOM_UTF16_LE)
    assert codec.content_type() == "text/xml;charset=utf-16"
    assert codec.encode_request(text, "utf-8") == text.encode()
    for data in (body, codecs.BOM_UTF16_LE + body, codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
                 text.encode("utf-16-be"), text.encode(), codecs.BOM_UTF8 + text.encode()):
        assert codec.decode_response(data) == text
    assert codec.decode_response(b"", "text/xml; charset=utf-16") == ""


def test_quantities_and_rates_parse() -> None:
    assert codec.parse_quantity(" 5 Nos") == (Decimal(5), "Nos")
    assert codec.parse_quantity(" 2.5 Kgs = 5 Nos") == (Decimal("2.5"), "Kgs")
    assert codec.parse_quantity("(-)3 Nos") == (Decimal(-3), "Nos")
    assert codec.parse_rate("100.00/Nos") == (Decimal("100.00"), "Nos")
    with pytest.raises(ValueError):
        codec.parse_quantity(" 1 Box 5 Nos")


# -- property: any voucher survives build -> export -> parse with its amounts and balance ------

_NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
                min_size=1, max_size=24)
_CENTS = st.integers(min_value=-10**10, max_value=10**10).map(lambda c: Decimal(c).scaleb(-2))
_POSITIVE = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def vouchers(draw: st.DrawFn) -> Voucher:
    unit = draw(st.sampled_from(["Nos", "Kgs", "mts", "EA", "बॉक्स"]))
    items = [
        InventoryEntry(stock_item=draw(_NAME), quantity=draw(_POSITIVE), unit=unit, rate=draw(_POSITIVE),
                       amount=draw(_CENTS), godown=draw(st.none() | _NAME), order_no=draw(st.none() | _NAME),
                       accounting_ledger=draw(st.none() | _NAME))
        for _ in range(draw(st.integers(0, 4)))
    ]
    others = [LedgerEntry(ledger_name=draw(_NAME), amount=draw(_CENTS)) for _ in range(draw(st.integers(0, 4)))]
    total = sum((e.amount for e in [*items, *others]), Decimal(0))
    party = LedgerEntry(ledger_name=draw(_NAME), amount=-total, is_party=True)
    return Voucher(voucher_type=draw(_NAME), date=draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))),
                   voucher_number=draw(st.none() | _NAME), party_ledger=party.ledger_name,
                   narration=draw(st.none() | _NAME), ledger_entries=[party, *others], inventory_entries=items)


@settings(max_examples=150, deadline=None)
@given(vouchers())
def test_property_amounts_and_balance_survive_a_round_trip(voucher: Voucher) -> None:
    reply = codec.decode_response(codec.encode_request(as_collection_reply([voucher])))
    [record] = codec.parse_vouchers(reply)
    assert [e.amount for e in record.ledger_entries] == [e.amount for e in voucher.ledger_entries]
    assert [e.amount for e in record.inventory_entries] == [e.amount for e in voucher.inventory_entries]
    assert record.ledger_entries == voucher.ledger_entries
    assert record.inventory_entries == voucher.inventory_entries
    balance = sum((e.amount for e in [*record.ledger_entries, *record.inventory_entries]), Decimal(0))
    assert balance == voucher.balance() == 0
    assert (record.voucher_type, record.date, record.voucher_number) == (
        voucher.voucher_type, voucher.date, voucher.voucher_number)

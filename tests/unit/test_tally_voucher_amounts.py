"""The voucher check's read-back: identity, party and line amounts, parsed in one pass per voucher.

What it reads must agree with the full `VoucherRecord` parse of the same reply, on every voucher.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.tally import codec
from connectors.tally.client import TallyClient
from connectors.tally.errors import HostileXmlError, TallyProtocolError
from connectors.tally.models import VoucherAmounts, VoucherRecord
from connectors.tally.xml_export import VOUCHER_AMOUNT_FETCH, VOUCHER_ID_FETCH

HEAD = "<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DESC></DESC><DATA><COLLECTION>"
TAIL = "</COLLECTION></DATA></BODY></ENVELOPE>"
ORDER = """<VOUCHER REMOTEID="" VCHTYPE="Sales Order" ACTION="Create">
 <DATE TYPE="Date">20260402</DATE><VOUCHERTYPENAME>Sales Order</VOUCHERTYPENAME><VOUCHERNUMBER>SO-1</VOUCHERNUMBER>
 <PARTYLEDGERNAME>Ram &amp; Shyam</PARTYLEDGERNAME><NARRATION>order [ext:ss-order-1]</NARRATION>
 <MASTERID> 7</MASTERID><ALTERID> 441</ALTERID><ISCANCELLED>No</ISCANCELLED>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>Ram &amp; Shyam</LEDGERNAME><ISPARTYLEDGER>Yes</ISPARTYLEDGER>
  <AMOUNT>-354.00</AMOUNT><BILLALLOCATIONS.LIST><NAME>SO-1</NAME><AMOUNT>-1.00</AMOUNT></BILLALLOCATIONS.LIST>
 </ALLLEDGERENTRIES.LIST>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>Shipping</LEDGERNAME><AMOUNT>4.00</AMOUNT></ALLLEDGERENTRIES.LIST>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>&#4; Not Applicable</LEDGERNAME><AMOUNT>99.00</AMOUNT></ALLLEDGERENTRIES.LIST>
 <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Tea</STOCKITEMNAME><RATE>100.00/Nos</RATE><AMOUNT>300.00</AMOUNT>
  <ACTUALQTY> 3 Nos</ACTUALQTY><BATCHALLOCATIONS.LIST><GODOWNNAME>Main</GODOWNNAME><AMOUNT>7.00</AMOUNT>
  </BATCHALLOCATIONS.LIST></ALLINVENTORYENTRIES.LIST>
 <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Cup</STOCKITEMNAME><RATE>50.00/Nos</RATE><AMOUNT>50.00</AMOUNT>
  <ACTUALQTY> 1 Nos</ACTUALQTY></ALLINVENTORYENTRIES.LIST>
 <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>&#4;</STOCKITEMNAME><AMOUNT>5.00</AMOUNT></ALLINVENTORYENTRIES.LIST>
</VOUCHER>"""
ACCOUNTING = """<VOUCHER VCHTYPE="Receipt"><DATE>20260403</DATE><VOUCHERTYPENAME>Receipt</VOUCHERTYPENAME>
 <MASTERID>8</MASTERID><ALTERID>442</ALTERID><ISCANCELLED>Yes</ISCANCELLED>
 <LEDGERENTRIES.LIST><LEDGERNAME>Bank</LEDGERNAME><AMOUNT>(-)12.50</AMOUNT></LEDGERENTRIES.LIST>
 <LEDGERENTRIES.LIST><LEDGERNAME>Walmart</LEDGERNAME><AMOUNT>12.50</AMOUNT></LEDGERENTRIES.LIST>
</VOUCHER>"""


def reply(*objects: str) -> str:
    return HEAD + "".join(objects) + TAIL


def agrees(amounts: VoucherAmounts, record: VoucherRecord) -> None:
    assert (amounts.master_id, amounts.alter_id, amounts.date, amounts.voucher_type, amounts.voucher_number,
            amounts.narration, amounts.is_cancelled, amounts.party_ledger) == (
        record.master_id, record.alter_id, record.date, record.voucher_type, record.voucher_number,
        record.narration, record.is_cancelled, record.party_ledger)
    assert amounts.ledger_lines == tuple((e.ledger_name, e.amount, e.is_party) for e in record.ledger_entries)
    assert amounts.inventory_amount == sum((e.amount for e in record.inventory_entries), Decimal(0))


def test_the_request_fetches_identity_party_and_lines_with_the_same_filters() -> None:
    args = ("Demo & Co", "Sales Order", date(2026, 4, 1), date(2026, 4, 30))
    cut = etree.fromstring(codec.voucher_ids_request(*args, alter_id_after=3, amounts=True).encode())
    ids = etree.fromstring(codec.voucher_ids_request(*args, alter_id_after=3).encode())
    assert cut.findtext("HEADER/ID") == "MLVoucherAmounts"
    fetch = cut.findtext("BODY/DESC/TDL/TDLMESSAGE/COLLECTION/FETCH").split(",")
    assert fetch == VOUCHER_AMOUNT_FETCH and set(VOUCHER_ID_FETCH) < set(fetch)
    assert {"PartyLedgerName", "AllLedgerEntries", "AllInventoryEntries"} <= set(fetch) and "GUID" not in fetch
    path = "BODY/DESC/TDL/TDLMESSAGE/SYSTEM"
    assert [(f.get("NAME"), f.text) for f in cut.iterfind(path)] == [(f.get("NAME"), f.text)
                                                                     for f in ids.iterfind(path)]


def test_amounts_of_an_invoice_view_voucher() -> None:
    [found] = codec.parse_voucher_amounts(reply(ORDER))
    assert found.party_ledger == "Ram & Shyam" and found.narration == "order [ext:ss-order-1]"
    assert found.ledger_lines == (("Ram & Shyam", Decimal("-354.00"), True), ("Shipping", Decimal("4.00"), False))
    assert found.inventory_amount == Decimal("350.00")  # a line with a blank item is not a stock line
    assert (found.master_id, found.alter_id, found.is_cancelled) == (7, 441, False)


def test_accounting_lines_are_the_fallback_and_amounts_keep_their_sign() -> None:
    [found] = codec.parse_voucher_amounts(reply(ACCOUNTING))
    assert found.ledger_lines == (("Bank", Decimal("-12.50"), False), ("Walmart", Decimal("12.50"), False))
    assert found.inventory_amount == 0 and found.is_cancelled and found.party_ledger is None


def test_it_reads_what_the_full_parse_reads() -> None:
    text = reply(ORDER, ACCOUNTING)
    for amounts, record in zip(codec.parse_voucher_amounts(text), codec.parse_vouchers(text), strict=True):
        agrees(amounts, record)


LINE = st.tuples(st.sampled_from(["Asha", "Sales", "Tax & Duty", "राम"]),
                 st.decimals(min_value=-10_000, max_value=10_000, places=2), st.booleans())


@settings(max_examples=40, deadline=None)
@given(ledgers=st.lists(LINE, max_size=5), stock=st.lists(st.decimals(min_value=0, max_value=9_999, places=2),
                                                          max_size=4),
       all_view=st.booleans())
def test_any_voucher_reads_as_the_full_parse_reads_it(ledgers, stock, all_view) -> None:
    tag = "ALLLEDGERENTRIES.LIST" if all_view else "LEDGERENTRIES.LIST"
    lines = "".join(f"<{tag}><LEDGERNAME>{name.replace('&', '&amp;')}</LEDGERNAME><AMOUNT>{amount}</AMOUNT>"
                    f"<ISPARTYLEDGER>{'Yes' if party else 'No'}</ISPARTYLEDGER></{tag}>"
                    for name, amount, party in ledgers)
    items = "".join(f"<ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Tea</STOCKITEMNAME><RATE>{a}/Nos</RATE>"
                    f"<ACTUALQTY> 1 Nos</ACTUALQTY><AMOUNT>{a}</AMOUNT></ALLINVENTORYENTRIES.LIST>" for a in stock)
    text = reply(f"<VOUCHER><DATE>20260401</DATE><MASTERID>1</MASTERID><ALTERID>2</ALTERID>{lines}{items}</VOUCHER>")
    [amounts], [record] = codec.parse_voucher_amounts(text), codec.parse_vouchers(text)
    agrees(amounts, record)


def test_hostile_and_broken_replies_are_refused() -> None:
    with pytest.raises(HostileXmlError):
        codec.parse_voucher_amounts('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + reply(ORDER))
    with pytest.raises(TallyProtocolError, match="lacks DATE"):
        codec.parse_voucher_amounts(reply("<VOUCHER><MASTERID>1</MASTERID></VOUCHER>"))
    with pytest.raises(TallyProtocolError):
        codec.parse_voucher_amounts(reply(ORDER)[:-40])


def test_the_client_asks_for_amounts_and_parses_them() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content.decode("utf-16-le"))
        return httpx.Response(200, content=reply(ORDER).encode("utf-8"),
                              headers={"content-type": "text/xml; charset=utf-8"})

    client = TallyClient("http://tally.test:9000", "Demo", transport=httpx.MockTransport(handler))
    [found] = client.list_voucher_amounts("Sales Order", date(2026, 4, 1), date(2026, 4, 30), alter_id_after=5)
    assert found.master_id == 7 and "MLVoucherAmounts" in seen[0] and "$AlterId &gt; 5" in seen[0]

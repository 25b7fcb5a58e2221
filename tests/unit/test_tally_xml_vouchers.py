"""Vouchers written as text: escaped exactly as lxml escapes, and read back as they were sent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from connectors.tally import codec
from connectors.tally.models import BillAllocation, InventoryEntry, LedgerEntry, OrderRef, Voucher
from connectors.tally.xml_vouchers import escape_attr, escape_text, rendered, voucher_xml

# every character class that matters: markup, quotes, white space, controls, non-ASCII, surrogates
_CHARS = st.characters()
_TEXTS = st.text(st.one_of(st.sampled_from(list("&<>\"'\t\n\r\x00\x01\x1f\x7f\ufffe\uffff\ud800é₹राम")), _CHARS),
                 max_size=30)


def lxml_text(text: str) -> str:
    el = etree.Element("X")
    el.text = text
    return etree.tostring(el, encoding="unicode")[3:-4]


def lxml_attr(text: str) -> str:
    return etree.tostring(etree.Element("X", A=text), encoding="unicode")[6:-3]


@pytest.mark.parametrize(("ours", "lxmls"), [(escape_text, lxml_text), (escape_attr, lxml_attr)])
@given(text=_TEXTS)
def test_text_and_attributes_are_escaped_as_lxml_escapes_them(ours, lxmls, text: str) -> None:
    try:
        expected = lxmls(text)
    except ValueError:
        with pytest.raises(ValueError, match="XML compatible"):
            ours(text)
        return
    assert ours(text) == expected


_NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(list("&<>\"'\t\n\r")),
                 min_size=1, max_size=20)


@given(name=_NAMES, other=_NAMES, unit=_NAMES, description=st.none() | _NAMES, centre=st.none() | _NAMES)
def test_a_voucher_reads_back_as_it_was_written(name: str, other: str, unit: str, description: str | None,
                                                centre: str | None) -> None:
    voucher = Voucher(
        voucher_type=name, date=date(2026, 2, 6), voucher_number=other, reference=name, party_ledger=name,
        narration=f"{other} [ext:ss-order-1]", remote_id=other,
        order_refs=[OrderRef(order_no=other, basic_order_date=date(2026, 2, 1))],
        inventory_entries=[InventoryEntry(stock_item=other, quantity=Decimal("2.5"), unit=unit, rate=Decimal("3.2"),
                                          amount=Decimal("8.00"), godown=name, order_no=other,
                                          accounting_ledger=name, description=description, cost_centre=centre)],
        ledger_entries=[LedgerEntry(ledger_name=name, amount=Decimal("-9.00"), is_party=True,
                                    bill_allocations=[BillAllocation(name=other, amount=Decimal("-9.00"))]),
                        LedgerEntry(ledger_name=other, amount=Decimal("1.00"), cost_centre=centre)],
    )
    el = etree.fromstring(codec.build_voucher_import(name, [voucher]).encode()).find("BODY/DATA/TALLYMESSAGE/VOUCHER")
    assert (el.get("VCHTYPE"), el.get("REMOTEID")) == (name, other)
    texts = [(e.tag, e.text or "") for e in el.iter() if len(e) == 0]
    assert ("PARTYLEDGERNAME", name) in texts and ("VOUCHERNUMBER", other) in texts
    assert ("STOCKITEMNAME", other) in texts and ("GODOWNNAME", name) in texts
    assert ("ACTUALQTY", f" 2.5 {unit}") in texts and ("RATE", f"3.20/{unit}") in texts
    assert ("NAME", other) in texts and ("BASICPURCHASEORDERNO", other) in texts
    assert el.findtext("NARRATION") == voucher.narration
    if centre:
        assert [e.text for e in el.iter("NAME")].count(centre) == (2 if centre != other else 3)
    if description is not None:
        assert [e.text or "" for e in el.iter("BASICUSERDESCRIPTION")] == (description.splitlines() or [""])


@pytest.mark.parametrize("action", ["Alter", "Cancel", "Delete"])
def test_identity_actions_are_written_as_lxml_wrote_them(action: str) -> None:
    voucher = Voucher(voucher_type='Sales "A" & B', action=action, master_id=42, date=date(2026, 2, 6),
                      narration="x < y", ledger_entries=[], inventory_entries=[])
    written = voucher_xml(voucher)
    assert etree.tostring(etree.fromstring(written), encoding="unicode") == written
    assert f'TAGVALUE="42" VCHTYPE="Sales &quot;A&quot; &amp; B" ACTION="{action}"' in written
    assert ("<NARRATION>x &lt; y</NARRATION>" in written) == (action != "Delete")


@given(name=_NAMES, other=_NAMES, centre=st.none() | _NAMES)
def test_a_voucher_written_once_is_sent_as_the_model_would_be_for_every_action(name: str, other: str,
                                                                                 centre: str | None) -> None:
    voucher = Voucher(
        voucher_type=name, date=date(2026, 2, 6), voucher_number=other, party_ledger=name, narration=other,
        remote_id=other, inventory_entries=[InventoryEntry(stock_item=other, quantity=Decimal(2), unit="Nos",
                                                           rate=Decimal(4), amount=Decimal("8.00"), godown=name)],
        ledger_entries=[LedgerEntry(ledger_name=name, amount=Decimal("-9.00"), is_party=True),
                        LedgerEntry(ledger_name=other, amount=Decimal("1.00"), cost_centre=centre)])
    written = rendered(voucher)
    assert voucher_xml(written) == voucher_xml(voucher)
    assert written.balance() == voucher.balance() == 0
    assert (written.date, written.voucher_number) == (voucher.date, voucher.voucher_number)
    for action in ("Alter", "Cancel", "Delete"):
        update = {"action": action, "master_id": 42}
        assert voucher_xml(written.model_copy(update=update)) == voucher_xml(voucher.model_copy(update=update))
    with pytest.raises(ValueError, match="Alter needs master_id"):
        written.model_copy(update={"action": "Alter"})
    assert codec.build_voucher_import(name, [written, voucher]).count(voucher_xml(voucher)) == 2

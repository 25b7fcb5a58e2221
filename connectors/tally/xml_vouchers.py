"""VOUCHER elements written straight to text: the same bytes lxml serialises, without an element per tag.

A voucher import was built as some 55 lxml elements a voucher, each a Python call, and then serialised
(86 us a voucher). Here a line of a voucher is one f-string, joined once. Escaping is lxml's (libxml2's)
own: in text `&`, `<`, `>` and carriage return (`&#13;`, so a parser does not turn it into a newline);
in attributes also `"`, tab and newline. A string XML 1.0 cannot hold (a control character, a lone
surrogate) is refused with the ValueError lxml gives, before anything is sent (the models refuse them
earlier, naming the field).
`tests/unit/test_tally_xml_vouchers.py` holds both escapes to lxml's byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.tally.models import NOT_XML_CHARS, InventoryEntry, LedgerEntry, Voucher
from connectors.tally.settings import INVOICE_VIEW
from connectors.tally.xml_values import fmt_amount, fmt_date, fmt_quantity, fmt_rate

PRIMARY_COST_CATEGORY = "Primary Cost Category"  # Tally's default category (reference §4 COSTCENTRE sample)

_NOT_XML = re.compile(f"[{NOT_XML_CHARS}]")  # what the models refuse, refused again here before sending
_TEXT_SPECIAL = re.compile(f"[&<>\r{NOT_XML_CHARS}]")
_ATTR_SPECIAL = re.compile(f"[&<>\"\t\n\r{NOT_XML_CHARS}]")
_NOT_XML_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def escape_text(text: str) -> str:
    """Element text as lxml writes it."""
    if _TEXT_SPECIAL.search(text) is None:
        return text
    _refuse_not_xml(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape_attr(text: str) -> str:
    """An attribute value (without its quotes) as lxml writes it."""
    if _ATTR_SPECIAL.search(text) is None:
        return text
    _refuse_not_xml(text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _refuse_not_xml(text: str) -> None:
    if _NOT_XML.search(text):
        raise ValueError(_NOT_XML_MESSAGE)


def _el(tag: str, text: str) -> str:
    return f"<{tag}>{escape_text(text)}</{tag}>"


def _opt(tag: str, text: str | None) -> str:
    return "" if text is None else f"<{tag}>{escape_text(text)}</{tag}>"


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


@dataclass(frozen=True, slots=True)
class RenderedVoucher:
    """A `Voucher` already written (`rendered`): what a target reads of one (date, number, balance) and its
    lines as XML, for vouchers mapped in another process than the one that sends them (text crosses a
    process boundary for a fraction of what the model costs to pickle). `model_copy` turns it into the
    Alter, Cancel or Delete of the same voucher, as `Voucher.model_copy` does; its lines are written once."""

    voucher_type: str
    date: date
    voucher_number: str | None
    narration: str | None
    remote_id: str | None
    view: str
    body: str  # the lines, as `_voucher_body` writes them
    net: Decimal  # `Voucher.balance()`
    action: str = "Create"
    master_id: int | None = None

    def balance(self) -> Decimal:
        return self.net

    def model_copy(self, *, update: Mapping[str, Any]) -> RenderedVoucher:
        copy = replace(self, **update)
        if copy.action != "Create" and copy.master_id is None:  # as `Voucher` refuses it
            raise ValueError(f"{copy.action} needs master_id to identify the voucher")
        return copy


def rendered(v: Voucher) -> RenderedVoucher:
    """`v` written once, to be sent as `voucher_xml` would write it (any action, through `model_copy`)."""
    parts: list[str] = []
    _voucher_body(parts, v)
    return RenderedVoucher(v.voucher_type, v.date, v.voucher_number, v.narration, v.remote_id, v.view, "".join(parts),
                           v.balance(), v.action, v.master_id)


# Dates, amounts and Yes/No are digits and letters: only names, numbers and units are escaped.
def voucher_xml(v: Voucher | RenderedVoucher) -> str:
    """One VOUCHER element; Delete is attributes only, Cancel adds date, type and narration."""
    attrs = "".join(f' {name}="{escape_attr(value)}"' for name, value in _voucher_attrs(v))
    if v.action == "Delete":
        return f"<VOUCHER{attrs}/>"
    head = f"<VOUCHER{attrs}><DATE>{fmt_date(v.date)}</DATE>{_el('VOUCHERTYPENAME', v.voucher_type)}"
    if v.action == "Cancel":
        return f"{head}{_opt('NARRATION', v.narration)}</VOUCHER>"
    if isinstance(v, RenderedVoucher):
        return f"{head}{v.body}</VOUCHER>"
    parts = [head]
    _voucher_body(parts, v)
    parts.append("</VOUCHER>")
    return "".join(parts)


def _voucher_attrs(v: Voucher | RenderedVoucher) -> list[tuple[str, str]]:
    attrs: list[tuple[str, str]] = []
    if v.action != "Create":
        # Reference §3.7: identify by MasterId; date+number ignores the voucher type.
        attrs += [("DATE", fmt_date(v.date)), ("TAGNAME", "MasterId"), ("TAGVALUE", str(v.master_id))]
    if v.remote_id:
        attrs.append(("REMOTEID", v.remote_id))
    attrs += [("VCHTYPE", v.voucher_type), ("ACTION", v.action)]
    if v.action in ("Create", "Alter"):
        attrs.append(("OBJVIEW", v.view))
    return attrs


def _voucher_body(parts: list[str], v: Voucher) -> None:
    reference_date = "" if v.reference_date is None else f"<REFERENCEDATE>{fmt_date(v.reference_date)}</REFERENCEDATE>"
    parts.append(f"{_opt('VOUCHERNUMBER', v.voucher_number)}{_opt('REFERENCE', v.reference)}{reference_date}"
                 f"{_opt('PARTYLEDGERNAME', v.party_ledger)}{_el('PERSISTEDVIEW', v.view)}"
                 f"<ISINVOICE>{_yes_no(v.is_invoice)}</ISINVOICE>{_opt('NARRATION', v.narration)}")
    for ref in v.order_refs:
        parts.append(f"<INVOICEORDERLIST.LIST><BASICORDERDATE>{fmt_date(ref.basic_order_date)}</BASICORDERDATE>"
                     f"{_el('BASICPURCHASEORDERNO', ref.order_no)}</INVOICEORDERLIST.LIST>")
    for item in v.inventory_entries:
        _inventory(parts, item)
    ledger_tag = "LEDGERENTRIES.LIST" if v.view == INVOICE_VIEW else "ALLLEDGERENTRIES.LIST"
    for entry in v.ledger_entries:
        _ledger_entry(parts, entry, ledger_tag)


def _ledger_entry(parts: list[str], entry: LedgerEntry, tag: str) -> None:
    """A ledger line; ISDEEMEDPOSITIVE follows the sign of the amount (reference §3)."""
    party = "<ISPARTYLEDGER>Yes</ISPARTYLEDGER>" if entry.is_party else ""
    parts.append(f"<{tag}>{_el('LEDGERNAME', entry.ledger_name)}"
                 f"<ISDEEMEDPOSITIVE>{_yes_no(entry.is_deemed_positive)}</ISDEEMEDPOSITIVE>{party}"
                 f"<AMOUNT>{fmt_amount(entry.amount)}</AMOUNT>")
    for bill in entry.bill_allocations:
        parts.append(f"<BILLALLOCATIONS.LIST>{_el('NAME', bill.name)}{_el('BILLTYPE', bill.bill_type)}"
                     f"{_opt('BILLCREDITPERIOD', bill.credit_period)}<AMOUNT>{fmt_amount(bill.amount)}</AMOUNT>"
                     "</BILLALLOCATIONS.LIST>")
    _cost_centre(parts, entry.cost_centre, entry.amount)
    parts.append(f"</{tag}>")


def _cost_centre(parts: list[str], name: str | None, amount: Decimal) -> None:
    """The whole line to one cost centre of the primary category (reference §3: CATEGORYALLOCATIONS.LIST)."""
    if name:
        parts.append(f"<CATEGORYALLOCATIONS.LIST><CATEGORY>{PRIMARY_COST_CATEGORY}</CATEGORY>"
                     f"<ISDEEMEDPOSITIVE>{_yes_no(amount < 0)}</ISDEEMEDPOSITIVE>"
                     f"<COSTCENTREALLOCATIONS.LIST>{_el('NAME', name)}<AMOUNT>{fmt_amount(amount)}</AMOUNT>"
                     "</COSTCENTREALLOCATIONS.LIST></CATEGORYALLOCATIONS.LIST>")


def _inventory(parts: list[str], item: InventoryEntry) -> None:
    """An ALLINVENTORYENTRIES.LIST line with its batch and accounting allocations."""
    parts.append(f"<ALLINVENTORYENTRIES.LIST>{_el('STOCKITEMNAME', item.stock_item)}")
    if item.description is not None:
        # Reference §3: a flat BASICUSERDESCRIPTION is silently ignored; it must be a list.
        lines = "".join(_el("BASICUSERDESCRIPTION", line) for line in item.description.splitlines() or [""])
        parts.append(f'<BASICUSERDESCRIPTION.LIST TYPE="String">{lines}</BASICUSERDESCRIPTION.LIST>')
    deemed_positive = f"<ISDEEMEDPOSITIVE>{_yes_no(item.is_deemed_positive)}</ISDEEMEDPOSITIVE>"
    amount = f"<AMOUNT>{fmt_amount(item.amount)}</AMOUNT>"
    quantity = escape_text(fmt_quantity(item.quantity, item.unit))
    quantities = f"<ACTUALQTY>{quantity}</ACTUALQTY><BILLEDQTY>{quantity}</BILLEDQTY>"
    due = "" if item.order_due_date is None else f"<ORDERDUEDATE>{fmt_date(item.order_due_date)}</ORDERDUEDATE>"
    parts.append(f"{deemed_positive}{_el('RATE', fmt_rate(item.rate, item.unit))}{amount}{quantities}"
                 f"<BATCHALLOCATIONS.LIST>{_opt('GODOWNNAME', item.godown)}{_el('BATCHNAME', item.batch)}"
                 f"{_opt('ORDERNO', item.order_no)}{due}{_opt('TRACKINGNUMBER', item.tracking_number)}"
                 f"{amount}{quantities}</BATCHALLOCATIONS.LIST>")
    if item.accounting_ledger is not None:
        parts.append(f"<ACCOUNTINGALLOCATIONS.LIST>{_el('LEDGERNAME', item.accounting_ledger)}"
                     f"{deemed_positive}{amount}")
        _cost_centre(parts, item.cost_centre, item.amount)
        parts.append("</ACCOUNTINGALLOCATIONS.LIST>")
    parts.append("</ALLINVENTORYENTRIES.LIST>")

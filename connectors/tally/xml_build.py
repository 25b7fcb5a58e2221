"""Build TallyPrime import envelopes (vouchers and masters) with lxml.

Every piece of user text goes through lxml element text or attributes, never string
concatenation, so `&`, `<`, quotes and non-ASCII names are escaped correctly everywhere,
SVCURRENTCOMPANY included (reference §7 "Escaping").

A company login (`Login`) travels as `SVUSERNAME` / `SVPASSWORD` beside SVCURRENTCOMPANY in
STATICVARIABLES. Tally's own docs say nothing of it ([U]); several independent integrators send it
this way ([R]); see `connectors/tally/client.py` for what was found and how sure it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from connectors.tally.models import Ledger, Master, StockItem, Unit, Voucher
from connectors.tally.settings import ENVELOPE_VERSION
from connectors.tally.xml_values import fmt_amount, fmt_bool, fmt_date
from connectors.tally.xml_vouchers import RenderedVoucher, voucher_xml

Element = etree._Element

# Reference §4: dependencies first (Group -> Ledger; Unit/Stock Group/Godown -> Stock Item).
_MASTER_RANK = {"GROUP": 0, "STOCKGROUP": 0, "UNIT": 0, "GODOWN": 0, "LEDGER": 1, "STOCKITEM": 1}


def sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    """Append a child element; lxml escapes `text` and `attrs`."""
    child = etree.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _opt(parent: Element, tag: str, text: str | None) -> None:
    if text is not None:
        sub(parent, tag, text)


def to_text(root: Element) -> str:
    """Serialise an element tree as a str without XML declaration."""
    return etree.tostring(root, encoding="unicode")


@dataclass(frozen=True)
class Login:
    """A TallyPrime company user; both parts are secrets and never show in a repr."""

    username: str = field(repr=False)
    password: str = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.username or self.password)


REDACTED_LOGIN = Login("[redacted]", "[redacted]")  # what the audit trail keeps in place of a login
_LOGIN_TAGS = ("SVUSERNAME", "SVPASSWORD")
_OWN_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False)


def add_login(static: Element, login: Login | None) -> None:
    """Put `login` into a STATICVARIABLES element (replacing any there); nothing when it is empty."""
    for old in [c for c in static if c.tag in _LOGIN_TAGS]:
        static.remove(old)
    if login:
        sub(static, "SVUSERNAME", login.username)
        sub(static, "SVPASSWORD", login.password)


def with_login(xml: str, login: Login | None) -> str:
    """A request we built (`envelope`), with `login` in its BODY/DESC/STATICVARIABLES."""
    if not login:
        return xml
    root = etree.fromstring(xml.encode("utf-8"), _OWN_XML)
    body = root.find("BODY")
    body = body if body is not None else sub(root, "BODY")
    desc = body.find("DESC")
    desc = desc if desc is not None else sub(body, "DESC")
    static = desc.find("STATICVARIABLES")
    add_login(static if static is not None else sub(desc, "STATICVARIABLES"), login)
    return to_text(root)


def envelope(request: str, type_: str, id_: str, company: str | None,
             login: Login | None = None) -> tuple[Element, Element]:
    """Versioned envelope (reference §2) with an optional company login; returns (ENVELOPE, BODY/DESC)."""
    root = etree.Element("ENVELOPE")
    header = sub(root, "HEADER")
    sub(header, "VERSION", ENVELOPE_VERSION)
    sub(header, "TALLYREQUEST", request)
    sub(header, "TYPE", type_)
    sub(header, "ID", id_)
    desc = sub(sub(root, "BODY"), "DESC")
    static = sub(desc, "STATICVARIABLES")
    if company is not None:
        sub(static, "SVCURRENTCOMPANY", company)
    add_login(static, login)
    return root, desc


def _import_envelope(company: str, id_: str, objects: Sequence[str]) -> str:
    """The envelope around objects already written as text (`voucher_xml`, or serialised elements)."""
    if not objects:
        raise ValueError("nothing to import")
    root, desc = envelope("Import", "Data", id_, company)
    # Reference §2 Skeleton B: TALLYMESSAGE sits under BODY/DATA, never under DESC.
    sub(desc.getparent(), "DATA")
    head, _, tail = to_text(root).rpartition("<DATA/>")
    return "".join([head, "<DATA>", *(f"<TALLYMESSAGE>{obj}</TALLYMESSAGE>" for obj in objects), "</DATA>", tail])


def build_voucher_import(company: str, vouchers: Sequence[Voucher | RenderedVoucher]) -> str:
    """Import envelope (ID Vouchers) for `vouchers` into `company`."""
    return _import_envelope(company, "Vouchers", [voucher_xml(v) for v in vouchers])


def voucher_element(v: Voucher) -> Element:
    """One VOUCHER element (as `build_voucher_import` writes it), for callers that want a tree."""
    return etree.fromstring(voucher_xml(v), _OWN_XML)


def build_master_import(company: str, masters: Sequence[Master]) -> str:
    """Import envelope (ID All Masters); creations are ordered parents-first, deletions last."""
    def key(master: Master) -> tuple[int, int]:
        rank = _MASTER_RANK[master.kind]
        return (1, -rank) if master.action == "Delete" else (0, rank)

    return _import_envelope(company, "All Masters", [to_text(master_element(m)) for m in sorted(masters, key=key)])


def _parent(el: Element, parent: str | None) -> None:
    # Reference §4: "Primary" must be sent as an empty PARENT; the literal is rejected.
    sub(el, "PARENT", None if parent in (None, "", "Primary") else parent)


def master_element(master: Master) -> Element:
    """One master element (LEDGER, STOCKITEM, UNIT, GODOWN, GROUP, STOCKGROUP)."""
    current = master.original_name or master.name
    el = etree.Element(master.kind, NAME=current, ACTION=master.action)
    if master.action == "Delete":
        sub(el, "NAME", current)
        return el
    if isinstance(master, Ledger | StockItem):
        names = sub(sub(el, "LANGUAGENAME.LIST"), "NAME.LIST", TYPE="String")
        for name in [master.name, *master.aliases]:
            sub(names, "NAME", name)
    else:
        sub(el, "NAME", master.name)
    if isinstance(master, Ledger):
        _ledger_body(el, master)
    elif isinstance(master, StockItem):
        _stock_item_body(el, master)
    elif isinstance(master, Unit):
        sub(el, "ISSIMPLEUNIT", "Yes")
        _opt(el, "ORIGINALNAME", master.formal_name)
        sub(el, "DECIMALPLACES", str(master.decimal_places))
    else:
        _parent(el, master.parent)
    return el


def _ledger_body(el: Element, ledger: Ledger) -> None:
    _parent(el, ledger.parent)
    if ledger.is_bill_wise_on is not None:
        sub(el, "ISBILLWISEON", fmt_bool(ledger.is_bill_wise_on))
    _opt(el, "BILLCREDITPERIOD", ledger.credit_period)
    if ledger.opening_balance is not None:
        sub(el, "OPENINGBALANCE", fmt_amount(ledger.opening_balance))
    applicable = None if ledger.applicable_from is None else fmt_date(ledger.applicable_from)
    if any((ledger.mailing_name, ledger.address, ledger.state, ledger.country, ledger.pincode)):
        # Reference §4: dated LEDMAILINGDETAILS.LIST is the TallyPrime 3.0+ structure.
        mailing = sub(el, "LEDMAILINGDETAILS.LIST")
        _opt(mailing, "APPLICABLEFROM", applicable)
        _opt(mailing, "MAILINGNAME", ledger.mailing_name)
        if ledger.address:
            lines = sub(mailing, "ADDRESS.LIST", TYPE="String")
            for line in ledger.address:
                sub(lines, "ADDRESS", line)
        _opt(mailing, "STATE", ledger.state)
        _opt(mailing, "COUNTRY", ledger.country)
        _opt(mailing, "PINCODE", ledger.pincode)
    if ledger.gstin or ledger.gst_registration_type:
        gst = sub(el, "LEDGSTREGDETAILS.LIST")
        _opt(gst, "APPLICABLEFROM", applicable)
        _opt(gst, "GSTREGISTRATIONTYPE", ledger.gst_registration_type)
        _opt(gst, "PLACEOFSUPPLY", ledger.state)
        _opt(gst, "GSTIN", ledger.gstin)
    _opt(el, "EMAIL", ledger.email)


def _stock_item_body(el: Element, item: StockItem) -> None:
    _parent(el, item.parent)
    sub(el, "BASEUNITS", item.base_unit)
    if item.part_no is not None:
        # Reference §4: Part No lives in MAILINGNAME.LIST.
        sub(sub(el, "MAILINGNAME.LIST", TYPE="String"), "MAILINGNAME", item.part_no)
    _opt(el, "DESCRIPTION", item.description)

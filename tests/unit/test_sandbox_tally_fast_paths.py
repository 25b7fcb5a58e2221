"""The Tally simulator's fast paths write and read exactly what the general ones do (issue 15).

Exports write a voucher's leaves as strings (`typed_line`, `typed_writer`) instead of nodes, and each object
of a collection as one text written for its depth (`written`, `write_node`, `leaves_frames`); imports read
a line's children in one pass (`scan`) and text without the sentinel work when there is no `&#4;`
(`value`). Each is checked here against the plain definition it replaces, on generated input.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sandbox.tally import TallyState, formulas, voucher_build, xmlio
from sandbox.tally.company import Company
from sandbox.tally.dispatch import answer
from sandbox.tally.fields import Context, inventory_line_text, ledger_line_text
from sandbox.tally.model import Batch, InventoryLine, LedgerLine, Master
from sandbox.tally.raw import raw_to_e
from sandbox.tally.replies import Rejected
from sandbox.tally.values import parse_quantity
from sandbox.tally.xmlio import (
    SENTINEL,
    E,
    escape,
    first_children,
    interleave,
    kids,
    leaves_frames,
    parse,
    scan,
    scan_values,
    text,
    to_xml,
    typed,
    typed_line,
    value,
    write_node,
    written,
)

_TEXT = st.text(alphabet=st.sampled_from(list("ab &<>\"'\r\n\t") + [SENTINEL, "\ue004", "é", "ह"]), max_size=12)
_TAGS = st.sampled_from(["AMOUNT", "LEDGERNAME", "UDF:NOTE", "X.LIST"])
_TYPES = st.sampled_from(["String", "Amount", "Logical", "Quantity", 'Odd "type" & <co>'])


@given(leaves=st.lists(st.tuples(_TAGS, _TEXT, _TYPES), max_size=5))
def test_a_typed_leaf_written_at_once_is_the_typed_node_written_later(leaves: list[tuple[str, str, str]]) -> None:
    as_nodes = E("VOUCHER", kids=[E("L", kids=[typed(*leaf) for leaf in leaves])])
    as_lines = E("VOUCHER", kids=[E("L", kids=[typed_line(*leaf) for leaf in leaves])])
    assert to_xml(as_lines) == to_xml(as_nodes)


_NODE = st.recursive(
    st.builds(lambda tag, t, attrs: E(tag, t or None, attrs or None), _TAGS, _TEXT,
              st.dictionaries(st.sampled_from(["TYPE", "NAME"]), _TEXT, max_size=2))
    | st.builds(typed_line, _TAGS, _TEXT, _TYPES),
    lambda inner: st.builds(lambda tag, ks: E(tag, kids=ks), _TAGS, st.lists(inner, max_size=4)),
    max_leaves=12,
)


@given(node=_NODE, depth=st.integers(1, 40))
def test_a_subtree_written_for_its_depth_is_the_subtree_written_in_place(node: E | str, depth: int) -> None:
    def nest(kid: E | str, levels: int) -> E:
        for _ in range(levels):
            kid = E("P", kids=[kid])
        return kid

    # `depth` parents above the kid: the kid sits at `depth` and is written there as one text
    assert to_xml(nest(written(node, depth), depth)) == to_xml(nest(node, depth))


@given(leaves=st.lists(st.tuples(_TAGS, _TEXT, _TYPES), min_size=1, max_size=5), more=st.lists(_NODE, max_size=3),
       depth=st.integers(0, 40), tag=st.sampled_from(["ALLLEDGERENTRIES.LIST", "{X}", "B"]))
def test_a_line_written_from_its_format_is_the_node_written(leaves: list[tuple[str, str, str]], more: list[E | str],
                                                          depth: int, tag: str) -> None:
    as_node = E(tag, kids=[typed(*leaf) for leaf in leaves] + more)
    frames, inner, end = leaves_frames(tag, tuple((leaf, type_) for leaf, _, type_ in leaves), depth)
    line = interleave(frames, [escape(t) for _, t, _ in leaves]) + "".join(inner + written(k, depth + 1) for k in more)
    line += end
    assert line == written(as_node, depth)
    assert write_node(tag, "", [typed_line(*leaf) for leaf in leaves] + [written(k, depth + 1) for k in more],
                      depth) == line


def _reference_value(el: etree._Element | None) -> str:
    raw = text(el)
    return "" if raw.lstrip().startswith(SENTINEL) else raw


_CHILD_TEXT = st.lists(st.sampled_from(list("ab 0 \t") + ["&#4;", "&amp;", "\ue004", "é"]), max_size=8).map("".join)
_CHILD = st.tuples(st.sampled_from(["A", "B", "C", "D.LIST", "!--"]), _CHILD_TEXT)


@given(children=st.lists(_CHILD, max_size=8), known=st.frozensets(st.sampled_from(["A", "B", "D.LIST", "Z"])))
def test_one_pass_over_children_finds_what_separate_passes_find(children: list[tuple[str, str]],
                                                                 known: frozenset[str]) -> None:
    body = "".join(f"<!-- {t} -->" if tag == "!--" else f"<{tag}>{t}</{tag}>" for tag, t in children)
    el = parse(f"<LINE>{body}</LINE>")
    first, rest = scan(el, known)
    assert first == first_children(el)
    assert rest == [c for c in kids(el) if c.tag not in known]
    assert scan_values(el, known) == ({tag: value(c) for tag, c in first.items() if tag in known}, rest)
    for child in [*kids(el), None]:
        assert value(child) == _reference_value(child)


COMPANY = "Fast Paths Pvt Ltd"
SPEC = {
    "company": COMPANY, "books_from": "2025-04-01",
    "ledgers": [{"name": "Sales", "parent": "Sales Accounts"}, {"name": "Acme", "parent": "Sundry Debtors"}],
    "units": [{"name": "Nos", "decimal_places": 0}], "godowns": [{"name": "Main Location"}],
    "stock_items": [{"name": "TEA", "unit": "Nos", "opening_qty": Decimal(10), "opening_rate": Decimal(5)}],
}
_VOUCHER = """<VOUCHER VCHTYPE="Sales" ACTION="Create"><DATE>20250410</DATE><VOUCHERNUMBER>{n}</VOUCHERNUMBER>
<PARTYLEDGERNAME>Acme</PARTYLEDGERNAME>
<ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>TEA</STOCKITEMNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>
 <AMOUNT>{amount}</AMOUNT><ACTUALQTY>{qty}</ACTUALQTY><LINENOTE>{note}</LINENOTE>
 <BATCHALLOCATIONS.LIST><GODOWNNAME>Main Location</GODOWNNAME><AMOUNT>{amount}</AMOUNT><ACTUALQTY>{qty}</ACTUALQTY>
  <BATCHNOTE>{note}</BATCHNOTE></BATCHALLOCATIONS.LIST>
 <ACCOUNTINGALLOCATIONS.LIST><LEDGERNAME>Sales</LEDGERNAME><AMOUNT>{amount}</AMOUNT><ALLOCNOTE>x</ALLOCNOTE>
 </ACCOUNTINGALLOCATIONS.LIST></ALLINVENTORYENTRIES.LIST>
<LEDGERENTRIES.LIST><LEDGERNAME>Acme</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE><AMOUNT>-{amount}</AMOUNT>
 <PARTYNOTE>{note}</PARTYNOTE></LEDGERENTRIES.LIST></VOUCHER>"""
_IMPORT = ("<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>"
           "<ID>Vouchers</ID></HEADER><BODY><DESC></DESC><DATA><TALLYMESSAGE>{}</TALLYMESSAGE></DATA></BODY></ENVELOPE>")
_EXPORT = ("<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST><TYPE>Collection</TYPE>"
           "<ID>V</ID></HEADER><BODY><DESC><TDL><TDLMESSAGE><COLLECTION NAME=\"V\"><TYPE>Voucher</TYPE>"
           "<FETCH>VoucherNumber, AllLedgerEntries, AllInventoryEntries, IsCancelled, LineNote</FETCH></COLLECTION>"
           "</TDLMESSAGE></TDL></DESC></BODY></ENVELOPE>")


@settings(max_examples=30, deadline=None)
@given(amount=st.decimals("0.01", "99999.99", places=2), qty=st.sampled_from([" 3 Nos", "2", " 2.6 Nos", "7.4999"]),
       note=st.sampled_from(["", "a &amp; b", "&#4; Not Applicable", "line\u00e9"]))
def test_a_voucher_keeps_every_unmodelled_child_of_its_lines_through_import_and_export(amount: Decimal, qty: str,
                                                                                        note: str) -> None:
    state = TallyState.from_masters(SPEC)
    body = _IMPORT.format(_VOUCHER.format(n="S-1", amount=amount, qty=qty, note=note)).encode()
    imported = etree.fromstring(answer(state, body, "text/xml").body)
    assert imported.findtext("BODY/DATA/IMPORTRESULT/CREATED") == "1", etree.tostring(imported)
    reply = answer(state, _EXPORT.encode(), "text/xml").body.decode()
    root = etree.fromstring(reply.replace("&#4;", "").encode())
    voucher = root.find("BODY/DATA/COLLECTION/VOUCHER")
    line = voucher.find("ALLINVENTORYENTRIES.LIST")
    written = note.replace("&amp;", "&").replace("&#4;", "")
    assert (line.findtext("LINENOTE"), line.findtext("BATCHALLOCATIONS.LIST/BATCHNOTE")) == (written, written)
    assert line.findtext("ACCOUNTINGALLOCATIONS.LIST/ALLOCNOTE") == "x"
    assert voucher.findtext("ALLLEDGERENTRIES.LIST/PARTYNOTE") == written
    assert line.findtext("ACTUALQTY").split() == [str(round(Decimal(qty.split()[0]))), "Nos"]
    assert voucher.findtext("ISCANCELLED") == "No" and "\r\n  <DATA>\r\n" in reply
    _assert_indented_by_depth(reply)


def _assert_indented_by_depth(reply: str) -> None:
    """Each line of a reply is one element (or its end), indented by one space per ancestor."""
    depth = 0
    lines = reply.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        stripped = line.lstrip(" ")
        closing = stripped.startswith("</")
        depth -= closing
        assert len(line) - len(stripped) == depth, line
        opens_only = not closing and "</" not in stripped and not stripped.endswith("/>")
        depth += opens_only
    assert depth == 0


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.decimals("-3", "3", places=1), st.dates(),
    st.sampled_from(["", "yes", " No", "abc", "ABC", "12.5", "20250401", "1-Apr-2025", "Sales Order", "sales order"]),
)


@given(left=_VALUES, constant=_VALUES, op=st.sampled_from(sorted(formulas._OPS)))
def test_a_comparison_with_a_constant_tests_as_the_general_comparison(left: object, constant: object, op: str) -> None:
    general = formulas._compare(formulas._OPS[op], lambda obj: obj, lambda obj: constant)
    assert formulas._compare_constant(formulas._OPS[op], lambda obj: obj, constant)(left) == general(left)


# ---- a voucher's lines, written as one text each, against the same lines as nodes -------------------------

_NAME = st.text(alphabet=st.sampled_from(list("aZ &<>'") + [SENTINEL, "é"]), min_size=1, max_size=6)
_MONEY = st.sampled_from([Decimal("-0"), Decimal(0), Decimal("0.005"), Decimal("-0.015"), Decimal("38"),
                          Decimal("38.00"), Decimal("-1425.60"), Decimal("2.675"), Decimal("1E+3")])
_QTY = st.sampled_from([Decimal("-0"), Decimal(0), Decimal(2), Decimal("2.0"), Decimal("2.5"), Decimal("-7.4999")])
_RAW = st.recursive(st.tuples(st.sampled_from(["NOTE", "UDF:X"]), _NAME),
                    lambda inner: st.tuples(st.sampled_from(["DEEP.LIST"]), st.lists(inner, min_size=1, max_size=2)
                                            .map(tuple)), max_leaves=3)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _qty(value: Decimal, unit: str, places: int) -> str:
    shown = str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    return f" {shown} {unit}" if unit else f" {shown}"


def _ledger_node(line: LedgerLine, tag: str) -> E:
    return E(tag, kids=[typed("LEDGERNAME", line.ledger.name, "String"),
                        typed("ISDEEMEDPOSITIVE", "Yes" if line.deemed_positive else "No", "Logical"),
                        typed("ISPARTYLEDGER", "Yes" if line.is_party else "No", "Logical"),
                        typed("AMOUNT", _money(line.amount), "Amount"), *map(raw_to_e, line.extra)])


def _item_node(line: InventoryLine, tag: str, unit: str, places: int) -> E:
    def batch(b: Batch) -> E:
        due = [typed("ORDERDUEDATE", b.order_due_date, "Date")] if b.order_due_date else []
        return E("BATCHALLOCATIONS.LIST", kids=[
            typed("GODOWNNAME", b.godown.name, "String"), typed("BATCHNAME", b.batch_name, "String"),
            typed("ORDERNO", b.order_no or f"{SENTINEL} Not Applicable", "String"),
            typed("TRACKINGNUMBER", b.tracking_number or f"{SENTINEL} Not Applicable", "String"), *due,
            typed("AMOUNT", "" if b.amount is None else _money(b.amount), "Amount"),
            *(typed(t, "" if q is None else _qty(q, unit, places), "Quantity")
              for t, q in (("ACTUALQTY", b.actual_qty), ("BILLEDQTY", b.billed_qty))),
            *map(raw_to_e, b.extra)])

    rate = "" if line.rate is None else f"{_money(line.rate)}/{unit}" if unit else _money(line.rate)
    return E(tag, kids=[
        typed("STOCKITEMNAME", line.item.name, "String"),
        typed("ISDEEMEDPOSITIVE", "Yes" if line.deemed_positive else "No", "Logical"), typed("RATE", rate, "Rate"),
        typed("AMOUNT", _money(line.amount), "Amount"), typed("ACTUALQTY", _qty(line.actual_qty, unit, places),
                                                            "Quantity"),
        typed("BILLEDQTY", _qty(line.billed_qty, unit, places), "Quantity"), *map(raw_to_e, line.extra),
        *map(batch, line.batches), *(_ledger_node(a, "ACCOUNTINGALLOCATIONS.LIST") for a in line.allocations)])


def _master(kind: str, name: str, **values: object) -> Master:
    return Master(kind, name, 1, "g", 1, **values)  # type: ignore[arg-type]


_LEDGER_LINE = st.builds(lambda name, amount, positive, party, extra: LedgerLine(
    _master("LEDGER", name), amount, positive, party, extra=tuple(extra)),
    _NAME, _MONEY, st.booleans(), st.booleans(), st.lists(_RAW, max_size=2))
_BATCH = st.builds(lambda godown, name, order, tracking, due, amount, actual, billed, extra: Batch(
    _master("GODOWN", godown), name, order, tracking, due, amount, actual, billed, tuple(extra)),
    _NAME, _NAME, st.sampled_from(["", "PH-5001", "a&b"]), st.sampled_from(["", "1Z<9>"]),
    st.sampled_from(["", "20260301"]), st.none() | _MONEY, st.none() | _QTY, st.none() | _QTY,
    st.lists(_RAW, max_size=1))


@settings(max_examples=150, deadline=None)
@given(ledger_lines=st.lists(st.tuples(_LEDGER_LINE, st.sampled_from(["ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST"])),
                             max_size=3),
       item=st.tuples(_NAME, st.booleans(), _MONEY, _QTY, _QTY, st.none() | _MONEY),
       batches=st.lists(_BATCH, max_size=2), allocations=st.lists(_LEDGER_LINE, max_size=2),
       extra=st.lists(_RAW, max_size=2), unit=st.sampled_from(["Nos", "", "Box & <Crate>"]),
       places=st.integers(0, 3), depth=st.integers(1, 8))
def test_a_voucher_s_lines_written_as_text_are_the_lines_written_as_nodes(
        ledger_lines: list[tuple[LedgerLine, str]], item: tuple, batches: list[Batch], allocations: list[LedgerLine],
        extra: list, unit: str, places: int, depth: int) -> None:
    company = Company.create("Lines", date(2025, 4, 1))
    if unit:
        company.add_master("UNIT", unit, decimal_places=places)
    name, positive, amount, actual, billed, rate = item
    line = InventoryLine(_master("STOCKITEM", name, base_unit=unit), positive, amount, actual, billed, rate,
                         batches, allocations, extra=tuple(extra))
    for ledger_line, tag in ledger_lines:
        assert ledger_line_text(ledger_line, tag, depth) == written(_ledger_node(ledger_line, tag), depth)
    shown = places if unit else 0  # an item whose unit has no master is written with no places
    assert (inventory_line_text(line, "ALLINVENTORYENTRIES.LIST", Context(company), depth)
            == written(_item_node(line, "ALLINVENTORYENTRIES.LIST", unit, shown), depth))


def _reference_quantity(item: Master, places: int | None, raw: str) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        qty, unit = parse_quantity(raw)
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc
    if unit and unit != item.base_unit:
        raise Rejected(f"[sandbox] Unit '{unit}' is not the base unit '{item.base_unit}' of Stock Item '{item.name}'")
    return qty if places is None else qty.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _outcome(read: Callable[[], Decimal | None]) -> tuple[str, object]:
    try:
        found = read()
    except Rejected as exc:
        return "rejected", (exc.message, exc.structural)
    except ArithmeticError as exc:
        return "error", type(exc)
    return "read", None if found is None else (found, str(found))


@settings(max_examples=200)
@given(raw=st.sampled_from(["", "  ", " 2 Nos", "2", " 2.5 Box", "7.4999 Nos", "abc", " -0 Nos", "9" * 40 + " Nos",
                            "9" * 40 + " Box", " 1.005"]),
       places=st.none() | st.integers(0, 3), item=st.sampled_from(["TEA", "JAM"]))
def test_a_quantity_read_through_the_cache_is_the_quantity_read_plainly(raw: str, places: int | None,
                                                                        item: str) -> None:
    master = _master("STOCKITEM", item, base_unit="Nos")
    for _ in range(2):  # the second read comes from the cache
        assert _outcome(lambda: voucher_build._quantity(master, places, raw)) == _outcome(
            lambda: _reference_quantity(master, places, raw))


def _reference_parse(source: str) -> tuple[str, bytes | None]:
    """xmlio.parse as plainly defined: patterns searched in the text, then the text encoded and parsed."""
    if xmlio._HOSTILE.search(source):
        return "refused", None
    body = xmlio._CHARREF4.sub("\ue004", xmlio._DECLARATION.sub("", source, count=1))
    try:
        return "parsed", etree.tostring(etree.fromstring(body.encode("utf-8"), etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
            remove_pis=True)))
    except etree.XMLSyntaxError:
        return "refused", None


_PIECES = st.sampled_from(["<A>", "</A>", "x", "&#4;", "&#x04;", "&#X4;", "&#0004;", "&#44;", "&amp;", "é", "ह",
                           "\u2028", " ", "<!-- c -->", "<!DOCTYPE A>", "<! entity", "<!", "<?xml version='1.0'?>",
                           "<?xml <!DOCTYPE ?>", "&#", "\ue004"])


@settings(max_examples=300)
@given(pieces=st.lists(_PIECES, max_size=8))
def test_a_request_parsed_with_its_patterns_found_in_bytes_is_the_request_parsed_plainly(pieces: list[str]) -> None:
    source = "".join(pieces)
    for body in (source, f"<A>{source}</A>", f"<?xml version='1.0'?>\u2028<A>{source}</A>"):
        try:
            outcome: tuple[str, bytes | None] = ("parsed", etree.tostring(xmlio.parse(body)))
        except xmlio.XmlRefused:
            outcome = ("refused", None)
        assert outcome == _reference_parse(body)

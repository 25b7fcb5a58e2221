"""The Tally simulator's fast paths write and read exactly what the general ones do (issue 15).

Exports write a voucher's leaves as strings (`typed_line`, `typed_writer`) instead of nodes, and each object
of a collection as one text written for its depth (`written`, `write_node`, `leaves_format`); imports read
a line's children in one pass (`scan`) and text without the sentinel work when there is no `&#4;`
(`value`). Each is checked here against the plain definition it replaces, on generated input.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sandbox.tally import TallyState, formulas
from sandbox.tally.dispatch import answer
from sandbox.tally.xmlio import (
    SENTINEL,
    E,
    escape,
    first_children,
    kids,
    leaves_format,
    parse,
    scan,
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
    form, inner, end = leaves_format(tag, tuple((leaf, type_) for leaf, _, type_ in leaves), depth)
    line = form.format(*(escape(t) for _, t, _ in leaves)) + "".join(inner + written(k, depth + 1) for k in more) + end
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

"""The Tally simulator's reply writer and element helpers, as Tally writes and reads (reference §6, §7)."""

from __future__ import annotations

from lxml import etree

from sandbox.tally.xmlio import SENTINEL, E, child, child_value, first_children, kids, parse, to_xml, typed


def test_replies_are_written_with_one_space_indent_crlf_and_tally_escapes() -> None:
    tree = E("ENVELOPE", kids=[
        E("HEADER", kids=[typed("STATUS", "1", "Number")]),
        E("VOUCHER", attrs={"VCHTYPE": 'Sales "Order" & <co>', "REMOTEID": ""}, kids=[
            typed("NARRATION", "Ram & Shyam <Traders>", "String"),
            typed("ORDERNO", f"{SENTINEL} Not Applicable", "String"),
            E("EMPTY"),
            E("ALLLEDGERENTRIES.LIST", kids=[typed("AMOUNT", "-88.90", "Amount"), E("NOTE", "x", {"A": "b"})]),
        ]),
    ])
    assert to_xml(tree) == "\r\n".join([
        "<ENVELOPE>",
        " <HEADER>",
        '  <STATUS TYPE="Number">1</STATUS>',
        " </HEADER>",
        ' <VOUCHER VCHTYPE="Sales &quot;Order&quot; &amp; &lt;co&gt;" REMOTEID="">',
        '  <NARRATION TYPE="String">Ram &amp; Shyam &lt;Traders&gt;</NARRATION>',
        '  <ORDERNO TYPE="String">&#4; Not Applicable</ORDERNO>',
        "  <EMPTY></EMPTY>",
        "  <ALLLEDGERENTRIES.LIST>",
        '   <AMOUNT TYPE="Amount">-88.90</AMOUNT>',
        '   <NOTE A="b">x</NOTE>',
        "  </ALLLEDGERENTRIES.LIST>",
        " </VOUCHER>",
        "</ENVELOPE>",
    ]) + "\r\n"
    assert to_xml(typed("A", "", "String")) == '<A TYPE="String"></A>\r\n'


def test_typed_nodes_share_a_type_mapping_nobody_can_change() -> None:
    first, second = typed("A", "1", "Amount"), typed("B", "2", "Amount")
    assert first.attrs is second.attrs and dict(first.attrs) == {"TYPE": "Amount"}
    try:
        first.attrs["TYPE"] = "String"  # type: ignore[index]
    except TypeError:
        pass
    assert dict(second.attrs) == {"TYPE": "Amount"}


def test_children_are_found_as_the_first_of_their_tag_comments_skipped() -> None:
    el = etree.fromstring("<L><!-- c --><AMOUNT>1</AMOUNT><NAME>\ue004 Not Applicable</NAME><AMOUNT>2</AMOUNT><X/></L>")
    assert child_value(parse("<L><NAME>&#4; Not Applicable</NAME></L>"), "NAME") == ""  # the sentinel reads empty
    first = first_children(el)
    assert list(first) == ["AMOUNT", "NAME", "X"] and [k.tag for k in kids(el)] == ["AMOUNT", "NAME", "AMOUNT", "X"]
    assert first["AMOUNT"] is child(el, "AMOUNT") and child_value(el, "AMOUNT") == "1"
    assert child_value(el, "NAME") == "" and child(el, "MISSING") is None
    assert all(isinstance(node.tag, str) for node in kids(el)) and any(not isinstance(n.tag, str) for n in el)
    assert etree.tostring(first["X"]) == b"<X/>"

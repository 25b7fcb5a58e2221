"""The read-back's repair, asked of the bytes the parser is fed, gives what the text repairs give.

`stream_objects` feeds `_repaired_utf8(slice)`: the sentinels dropped, then the other repairs only where the
encoded slice shows they could change something. Whatever the slice holds, the bytes and the refusal must be
those of `sanitise` / `_repair` followed by the hostile check, as the stream did before.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.tally import codec, xml_parse
from connectors.tally.errors import HostileXmlError

# Pieces that make or defeat each repair, alone and joined (a sentinel removed between "&" and "amp;" ...).
TOKENS = ["&", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "amp;", "#", "&#", "&#4;", "&#04;", "&#x4;", "&#X04;",
          "\x04", "&#1;", "&#9;", "&#10;", "&#13;", "&#31;", "&#32;", "&#x1F;", "&#xB;", "&#xD;", "&#2१;", "&#१२;",
          "&#65;", "&#x41;", "&#xZ;", " Not Applicable", " Primary", "\tAny", " ", "\n", "\r", "\u00a0", "\x1c",
          "\x01", "\x0b", "\x7f", "<", ">", "</A>", "<A>", "<UDF:X xmlns:UDF=\"u\">", "</UDF:X>", "UDF", "U", "DF",
          "<!", "<!DOCTYPE x>", "<!ENTITY", "<!ATTLIſT", "<?xml version=\"1.0\"?>", "\ufeff", "text", "₹ 5", "राम",
          "\ud800", "&#4; Not Applicable<", "&#4; Not Applicable", "Not Applicable<", "!", "&#4; Not Applicable <"]


def text_repair(text: str) -> str:
    """The repairs one after the other over the text, each pattern as written (the reference)."""
    text = xml_parse._SENTINEL.sub("", text)
    text = xml_parse._CONTROL.sub("", text)
    text = xml_parse._BAD_CHARREF.sub("", text)
    if "UDF" in text:
        text = xml_parse._UDF_MARKUP.sub(xml_parse._fix_tag, text)
    return xml_parse._BARE_AMP.sub("&amp;", text)


def old_bytes(piece: str, first: bool) -> bytes:
    text = text_repair(xml_parse._DECLARATION.sub("", piece.lstrip("\ufeff"), count=1) if first else piece)
    xml_parse._refuse_hostile(text)
    return text.encode("utf-8")


def outcome(fn, piece: str, first: bool) -> object:
    try:
        return fn(piece, first)
    except (HostileXmlError, UnicodeEncodeError) as exc:
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), max_size=12), first=st.booleans())
def test_fed_bytes_are_the_repaired_text_encoded(parts: list[str], first: bool) -> None:
    piece = "".join(parts)
    assert outcome(xml_parse._repaired_utf8, piece, first) == outcome(old_bytes, piece, first)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), max_size=12))
def test_sanitise_is_the_text_repairs(parts: list[str]) -> None:
    piece = "".join(parts)
    assert xml_parse._repair(piece) == text_repair(piece)


@pytest.mark.parametrize("piece", [
    "<A>&#4; Not Applicable</A>", "<A>Ram &amp; Shyam</A>", "<A>a&#4;amp;b</A>", "<A>&\x01#4;</A>",
    "<A>&#2१;</A>", "<A>&#१२;</A>", "<A>\x04 Primary  <B/></A>", "<A>x</A>\x01<!DOCTYPE y>", "<A>&#13;&#10;</A>",
    "<UDF:A xmlns:UDF=\"x\">1</UDF:A>", "<A>U&#4;DF</A>", "\ufeff<?xml version=\"1.0\"?><A>&</A>",
    "<A>&#4; Primary&#4; Not Applicable</A>", "<A>&#4;&#4; Not Applicable</A>", "<A>&#4; Not Applicable\u00a0</A>",
    "<A>&#4; Not Applicable</A><!DOCTYPE y>", "<A>Hi!</A><![CDATA[x]]>", "<A>&#4; Not Applicable</A>\x04",
    "<A>" + "&amp;" * 70 + "&</A>", "<A>" + "&amp;" * 70 + "&#4; Not Applicable</A>", "<A>" + "&amp;" * 70 + "</A>",
])
def test_known_shapes_agree(piece: str) -> None:
    for first in (True, False):
        assert outcome(xml_parse._repaired_utf8, piece, first) == outcome(old_bytes, piece, first)


def test_a_plain_slice_skips_the_later_repairs(monkeypatch) -> None:
    def fail(text: str) -> str:
        raise AssertionError("repairs ran on a slice that needs none")
    monkeypatch.setattr(xml_parse, "_repair_rest", fail)
    assert xml_parse._repaired_utf8("<A>Ram &amp; Shyam &#13;&#10;&#4; Not Applicable</A>", False) == \
        b"<A>Ram &amp; Shyam &#13;&#10;</A>"


MULTIBYTE = ('<VOUCHER VCHTYPE="Sales Order"><DATE>20260402</DATE><VOUCHERTYPENAME>Sales Order</VOUCHERTYPENAME>'
             '<PARTYLEDGERNAME>राम कुमार ₹</PARTYLEDGERNAME><NARRATION>चाय &amp; कप [ext:ss-order-{n}]</NARRATION>'
             '<MASTERID> {n}</MASTERID><ALTERID> {n}</ALTERID>'
             '<ALLLEDGERENTRIES.LIST><LEDGERNAME>राम कुमार ₹</LEDGERNAME>'
             '<ISPARTYLEDGER>Yes</ISPARTYLEDGER><AMOUNT>-1{n}.50</AMOUNT></ALLLEDGERENTRIES.LIST>'
             '<ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><AMOUNT>1{n}.50</AMOUNT></ALLLEDGERENTRIES.LIST>'
             '</VOUCHER>')
HEAD = "<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DATA><COLLECTION>"
TAIL = "</COLLECTION></DATA></BODY></ENVELOPE>"


def read(text: str, feed_bytes: int, monkeypatch) -> object:
    monkeypatch.setattr(xml_parse, "_FEED_BYTES", feed_bytes)
    try:
        return codec.parse_voucher_amounts(text)
    except Exception as exc:  # noqa: BLE001 - the refusal itself is compared
        return type(exc), str(exc)


@pytest.mark.parametrize("body", [
    HEAD + "".join(MULTIBYTE.format(n=n) for n in range(1, 40)) + TAIL,
    HEAD + "".join(MULTIBYTE.format(n=n) for n in range(1, 9)) + "<VOUCHER><DATE>2026" + TAIL,
    HEAD + MULTIBYTE.format(n=1) + "<LINEERROR>Voucher totals do not match!</LINEERROR>" + TAIL,
    HEAD + MULTIBYTE.format(n=1) + "<A>राम</B>" + TAIL,
])
def test_what_is_read_does_not_depend_on_how_the_bytes_are_fed(body: str, monkeypatch) -> None:
    whole = read(body, 1 << 30, monkeypatch)
    for feed_bytes in (1, 2, 3, 7, 64, 1000):  # pieces that split the UTF-8 of every Devanagari letter
        assert read(body, feed_bytes, monkeypatch) == whole

"""The read-back's repair, asked of the bytes the parser is fed, gives what the text repairs give.

`stream_objects` feeds `_repaired_utf8(slice)`: the sentinels dropped, then the other repairs only where the
encoded slice shows they could change something. Whatever the slice holds, the bytes and the refusal must be
those of `sanitise` / `_repair` followed by the hostile check, as the stream did before.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.tally import xml_parse
from connectors.tally.errors import HostileXmlError

# Pieces that make or defeat each repair, alone and joined (a sentinel removed between "&" and "amp;" ...).
TOKENS = ["&", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "amp;", "#", "&#", "&#4;", "&#04;", "&#x4;", "&#X04;",
          "\x04", "&#1;", "&#9;", "&#10;", "&#13;", "&#31;", "&#32;", "&#x1F;", "&#xB;", "&#xD;", "&#2१;", "&#१२;",
          "&#65;", "&#x41;", "&#xZ;", " Not Applicable", " Primary", "\tAny", " ", "\n", "\r", "\u00a0", "\x1c",
          "\x01", "\x0b", "\x7f", "<", ">", "</A>", "<A>", "<UDF:X xmlns:UDF=\"u\">", "</UDF:X>", "UDF", "U", "DF",
          "<!", "<!DOCTYPE x>", "<!ENTITY", "<!ATTLIſT", "<?xml version=\"1.0\"?>", "\ufeff", "text", "₹ 5", "राम",
          "\ud800"]


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

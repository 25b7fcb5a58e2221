"""Bytes, text and XML: Tally's encodings, a hardened parser, and a small writer.

The writer is hand-rolled because Tally emits `&#4;` (a control character reference that XML 1.0
forbids and lxml will not serialise) and pads numbers with a leading space (reference §6, §7).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType

from lxml import etree

SENTINEL = "\x04"  # Tally's blank / "not applicable" marker, written as &#4; (reference §7)
NOT_APPLICABLE = SENTINEL + " Not Applicable"
PRIMARY = SENTINEL + " Primary"

_PUA = "\ue004"  # stands in for &#4; while lxml parses, since lxml rejects that reference
_CHARREF4 = re.compile(r"&#(?:0*4|x0*4);", re.IGNORECASE)
_CHARREF4_UTF8 = re.compile(_CHARREF4.pattern.encode(), re.IGNORECASE)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HOSTILE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
UTF8, UTF16 = "utf-8", "utf-16"


class XmlRefused(ValueError):
    """The body is not XML we will parse (malformed, wrong encoding, or a DTD/entity trick)."""


def decode_body(raw: bytes, content_type: str) -> tuple[str, str]:
    """Return (reply encoding, text): BOM first, then the Content-Type charset, then a NUL sniff."""
    if raw.startswith(b"\xff\xfe"):
        return UTF16, _decode(raw[2:], "utf-16-le")
    if raw.startswith(b"\xfe\xff"):
        return UTF16, _decode(raw[2:], "utf-16-be")
    match = _CHARSET.search(content_type or "")
    charset = match.group(1).lower() if match else ""
    if charset in ("utf-16be", "unicodefffe"):
        return UTF16, _decode(raw, "utf-16-be")
    # Windows clients say "utf-16"/"unicode" and mean little-endian, usually without a BOM.
    if charset.startswith("utf-16") or charset == "unicode" or _looks_utf16le(raw):
        return UTF16, _decode(raw, "utf-16-le")
    return UTF8, _decode(raw.removeprefix(b"\xef\xbb\xbf"), "utf-8")


def _looks_utf16le(raw: bytes) -> bool:
    head = raw[:64]
    return len(head) >= 4 and head[1::2].count(0) >= len(head[1::2]) // 2 and head[0] != 0


def _decode(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise XmlRefused(f"body is not valid {codec}") from exc


def encode_reply(text: str, encoding: str) -> bytes:
    """Encode a reply like the request: UTF-16 little-endian without a BOM, or UTF-8."""
    return text.encode("utf-16-le" if encoding == UTF16 else "utf-8")


def media_type(encoding: str) -> str:
    return f"text/xml; charset={encoding}"


def parse(text: str) -> etree._Element:
    """Parse request XML without DTDs, entities, network or huge trees; DOCTYPE is refused."""
    stripped = _DECLARATION.sub("", text, count=1)
    body = stripped.encode("utf-8")
    # The patterns are looked for only where their start is in the bytes (a search of bytes is many times
    # cheaper than one of text); a declaration taken off might have held one.
    if (b"<!" in body or len(stripped) != len(text)) and _HOSTILE.search(text):
        raise XmlRefused("DOCTYPE and ENTITY declarations are refused")
    if b"&#" in body:
        # `&#4;` is all ASCII: found in the UTF-8 bytes exactly where it is in the text
        body = _CHARREF4_UTF8.sub(_PUA.encode("utf-8"), body)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(str(exc)) from exc
    if root.getroottree().docinfo.doctype:
        raise XmlRefused("DOCTYPE is refused")
    return root


def kids(el: etree._Element) -> list[etree._Element]:
    """Element children only (entities and other node kinds are skipped)."""
    return [c for c in el if isinstance(c.tag, str)]


def tag_of(el: etree._Element) -> str:
    """Tag without a namespace URI; `UDF:` tags keep their local name."""
    return etree.QName(el).localname if el.tag.startswith("{") else el.tag


def text(el: etree._Element | None) -> str:
    """The element's own text as sent, with `&#4;` restored to the sentinel character."""
    if el is None:
        return ""
    raw = el.text
    if raw is None:
        return ""
    return raw.replace(_PUA, SENTINEL) if _PUA in raw else raw


def value(el: etree._Element | None) -> str:
    """Text with Tally's `&#4; ...` placeholders read as empty."""
    if el is None:
        return ""
    raw = el.text
    if not raw:
        return ""
    if _PUA not in raw:  # the sentinel only ever comes from &#4; (XML refuses the character itself)
        return raw
    raw = raw.replace(_PUA, SENTINEL)
    return "" if raw.lstrip().startswith(SENTINEL) else raw


def child(el: etree._Element, tag: str) -> etree._Element | None:
    for c in el:  # a comment's or an entity's tag is not a str, so never equal to `tag`
        if c.tag == tag:
            return c
    return None


def child_value(el: etree._Element, tag: str) -> str:
    return value(child(el, tag))


def first_children(el: etree._Element) -> dict[str, etree._Element]:
    """Each tag's first element child (what `child` finds), in one pass over the children."""
    found: dict[str, etree._Element] = {}
    for c in el:
        if isinstance(c.tag, str) and c.tag not in found:
            found[c.tag] = c
    return found


def scan(el: etree._Element, known: frozenset[str]) -> tuple[dict[str, etree._Element], list[etree._Element]]:
    """`first_children(el)`, and in the same pass the element children whose tag is not in `known`, in order."""
    found: dict[str, etree._Element] = {}
    rest: list[etree._Element] = []
    for c in el:
        tag = c.tag
        if isinstance(tag, str):
            if tag not in found:
                found[tag] = c
            if tag not in known:
                rest.append(c)
    return found, rest


def scan_values(el: etree._Element, known: frozenset[str]) -> tuple[dict[str, str], list[etree._Element]]:
    """`scan(el, known)` with each first child of a known tag read as `value` reads it, in the same pass."""
    found: dict[str, str] = {}
    rest: list[etree._Element] = []
    for c in el:
        tag = c.tag
        if tag.__class__ is not str:
            continue
        if tag not in known:
            rest.append(c)
        elif tag not in found:
            raw = c.text
            if not raw:
                raw = ""
            elif _PUA in raw:
                raw = raw.replace(_PUA, SENTINEL)
                if raw.lstrip().startswith(SENTINEL):
                    raw = ""
            found[tag] = raw
    return found, rest


def attr(el: etree._Element, name: str) -> str:
    """An attribute looked up case-insensitively (Tally does not care about attribute case)."""
    for key, val in el.attrib.items():
        if key.upper() == name:
            return val.replace(_PUA, SENTINEL)
    return ""


class E:
    """A node of a reply document; `kids` may also hold typed leaves already written (`typed_line`)."""

    __slots__ = ("tag", "text", "attrs", "kids")

    def __init__(
        self, tag: str, text: str | None = None, attrs: Mapping[str, str] | None = None,
        kids: Iterable[E | str] | None = None,
    ) -> None:
        self.tag = tag
        self.text = text
        self.attrs = attrs
        self.kids = list(kids) if kids is not None else None


_TYPES: dict[str, Mapping[str, str]] = {}
_SPECIAL = re.compile(f"[&<>{SENTINEL}]")


def typed(tag: str, text: str, type_: str) -> E:
    # most nodes of an export are typed: they share one read-only TYPE mapping per type
    attrs = _TYPES.get(type_)
    if attrs is None:
        attrs = _TYPES[type_] = MappingProxyType({"TYPE": type_})
    return E(tag, text, attrs)


def typed_line(tag: str, text: str, type_: str) -> str:
    """What `typed(tag, text, type_)` is written as (without its indent), with no node built."""
    write = _TYPED_LINES.get((tag, type_))
    if write is None:
        write = typed_writer(tag, type_)
        if len(_TYPED_LINES) < 4096:  # tags kept verbatim from imports are the client's: keep the table small
            _TYPED_LINES[(tag, type_)] = write
    return write(text)


def typed_writer(tag: str, type_: str) -> Callable[[str], str]:
    """`typed_line` for one tag and type, its tags put together once: an export writes tens of typed
    leaves per voucher."""
    open_, close = f"<{tag}{_attribute('TYPE', type_)}>", f"</{tag}>"
    empty, plain = open_ + close, _SPECIAL.search

    def write(text: str) -> str:
        if not text:
            return empty
        return open_ + (text if plain(text) is None else escape(text)) + close

    return write


_TYPED_LINES: dict[tuple[str, str], Callable[[str], str]] = {}


def escape(s: str) -> str:
    if _SPECIAL.search(s) is None:  # most texts are plain: four replaces are three times the cost of a search
        return s
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace(SENTINEL, "&#4;")


def escape_recurring(s: str) -> str:
    """`escape(s)` for a text an export writes over and over (a master's name, a quantity with its unit):
    each is escaped once."""
    found = _ESCAPED.get(s)
    if found is None:
        found = escape(s)
        if len(_ESCAPED) < 1 << 14:  # the table stops growing there; a text past it is escaped each time
            _ESCAPED[s] = found
    return found


_ESCAPED: dict[str, str] = {}


def _escape_attr(s: str) -> str:
    return escape(s).replace('"', "&quot;")


@lru_cache(maxsize=4096)
def _attribute(key: str, val: str) -> str:
    # an export writes TYPE="String", TYPE="Amount"... on nearly every node: each is escaped once
    return f' {key}="{_escape_attr(val)}"'


def to_xml(node: E) -> str:
    """Serialise like Tally: one-space indent, CRLF line ends, no XML declaration.

    A `str` kid is written after its indent as it is: a typed leaf (`typed_line`), or a whole subtree
    written for the kid's depth (`written`, `write_node`), its later lines already indented.
    """
    out: list[str] = []
    _render(node, 0, out)
    return "\r\n".join(out) + "\r\n"


def newline(depth: int) -> str:
    """A line end and the indent of a line at `depth`: what a subtree written as one text joins its lines with."""
    return _NEWLINES[depth] if depth < len(_NEWLINES) else "\r\n" + " " * depth


_NEWLINES = ["\r\n" + " " * depth for depth in range(32)]


def written(node: E | str, depth: int) -> str:
    """`node` as `to_xml` writes it at `depth`, without its first line's indent: the kid a node written at
    `depth - 1` holds in its place."""
    if node.__class__ is str:
        return node  # type: ignore[return-value]
    out: list[str] = []
    _render(node, depth, out)  # type: ignore[arg-type]
    return "\r\n".join(out)[depth:]


def write_node(tag: str, attributes: str, kids: list[str], depth: int) -> str:
    """A node `to_xml` would write at `depth` (see `written`) whose `kids` are already written for `depth + 1`;
    `attributes` as `attributes_text` writes them."""
    if not kids:
        return f"<{tag}{attributes}></{tag}>"
    inner = newline(depth + 1)
    return f"<{tag}{attributes}>{inner}{inner.join(kids)}{newline(depth)}</{tag}>"


@lru_cache(maxsize=256)
def leaves_frames(tag: str, leaves: tuple[tuple[str, str], ...], depth: int) -> tuple[tuple[str, ...], str, str]:
    """How to write node `tag` at `depth` (see `written`) whose first kids are the typed leaves `leaves`
    ((tag, TYPE) each, in order): the constant texts that go before, between and after the leaves' texts
    (escaped, `escape`), the line end that goes before each further kid (written for `depth + 1`), and the
    node's end. An export writes thousands of lines of the same few shapes: their tags are put together once,
    and joined with the texts without a format string read for each line."""
    if not leaves:
        raise ValueError("a node written with leaves_frames has at least one leaf")
    inner = newline(depth + 1)
    opens = [f"<{leaf}{_attribute('TYPE', type_)}>" for leaf, type_ in leaves]
    closes = [f"</{leaf}>" for leaf, _ in leaves]
    between = [f"{close}{inner}{open_}" for close, open_ in zip(closes[:-1], opens[1:], strict=True)]
    frames = (f"<{tag}>{inner}{opens[0]}", *between, closes[-1])
    return frames, inner, f"{newline(depth)}</{tag}>"


def interleave(frames: tuple[str, ...], texts: Iterable[str]) -> str:
    """`frames[0] + texts[0] + frames[1] + ... + frames[-1]`: a node from its `leaves_frames`."""
    parts = [frames[0]]
    for text_, frame in zip(texts, frames[1:], strict=True):
        parts += (text_, frame)
    return "".join(parts)


def attributes_text(attrs: Mapping[str, str]) -> str:
    """Attributes as a node's start tag holds them (each escaped, after a space)."""
    return "".join([_attribute(k, v) for k, v in attrs.items()])


def _render(node: E, depth: int, out: list[str]) -> None:
    pad = " " * depth
    if not node.kids:
        out.append(pad + _leaf(node))
        return
    out.append(f"{pad}<{node.tag}{_attributes(node)}>")
    inner = pad + " "
    for kid in node.kids:  # leaves (most nodes) are written here, without a call of _render each
        if kid.__class__ is str:
            out.append(inner + kid)
        elif kid.kids:
            _render(kid, depth + 1, out)
        else:
            out.append(inner + _leaf(kid))
    out.append(f"{pad}</{node.tag}>")


def _leaf(node: E) -> str:
    return f"<{node.tag}{_attributes(node)}>{escape(node.text) if node.text else ''}</{node.tag}>"


def _attributes(node: E) -> str:
    return attributes_text(node.attrs) if node.attrs else ""

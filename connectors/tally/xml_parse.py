"""Decode, sanitise and parse TallyPrime replies with a hardened lxml parser.

Reference §7: replies may carry raw control characters, the `&#4;` "not applicable"
sentinel, undeclared `UDF:` prefixes and bare `&`; all are repaired before parsing. Any
DOCTYPE or entity declaration is refused outright, so nothing is ever expanded or fetched.

`stream_objects` reads a collection reply piece by piece (reference §7 "Performance": exports
run to hundreds of MB): the text is repaired and parsed in slices cut just after a `>`, which no
repair pattern can straddle, and each object is dropped from the tree once it has been read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml import etree

from connectors.tally.errors import (
    CompanyNotLoaded,
    HostileXmlError,
    TallyProtocolError,
    TallyRejected,
)
from connectors.tally.models import ImportResult
from connectors.tally.settings import COMPANY_NOT_FOUND_TEXT, SERVER_RUNNING_TEXT
from connectors.tally.xml_values import parse_int

Element = etree._Element

_HOSTILE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SENTINEL = re.compile(r"(?:&#0*4;|&#[xX]0*4;|\x04)(?:[ \t]*(?:Not Applicable|Primary|Any)(?=\s*<))?")
_SENTINEL_REF = re.compile(r"&#[xX]?0*4;(?:[ \t]*(?:Not Applicable|Primary|Any)(?=\s*<))?")  # _SENTINEL less \x04
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F]")
_BAD_CHARREF = re.compile(r"&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01]));|&#[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]);")
# Only tags that mention UDF: text content cannot hold a raw "<", so this is markup only.
_UDF_MARKUP = re.compile(r"<[^<>]*UDF[^<>]*>")
_UDF_NAME = re.compile(r"(^</?|\s)UDF:")
_UDF_XMLNS = re.compile(r"""\s+xmlns:UDF\s*=\s*(?:"[^"]*"|'[^']*')""")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#[xX][0-9a-fA-F]+);)")
# Whether _repair_rest has anything to do, asked of the UTF-8 bytes the parser is fed (a control character is
# a control byte there, and ASCII patterns match bytes as they match text), each a fraction of its pattern's cost
# over the text. Conservative: any "&" but a named or ASCII numeric reference, or a bad one, means run the repairs.
_CONTROL_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))  # _CONTROL's characters
_CONTROL_BYTE_LIST = [bytes([c]) for c in _CONTROL_BYTES]  # each a memchr: all of them cost less than one translate
_BLANK = b"&#4; Not Applicable<"  # how a blank link is written (reference §7); _SENTINEL_REF drops all but the "<"
_AMP_SUSPECT = re.compile(rb"&(?:(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#[xX][0-9a-fA-F]+);)"
                          rb"|#0*(?:[0-8]|1[124-9]|2[0-9]|3[01]);|#[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]);)")

_COUNTERS = {
    "created": "CREATED", "altered": "ALTERED", "deleted": "DELETED", "cancelled": "CANCELLED",
    "combined": "COMBINED", "ignored": "IGNORED", "errors": "ERRORS", "exceptions": "EXCEPTIONS",
}


_HARDENED = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
    "huge_tree": False, "remove_comments": True, "remove_pis": True,
}
_SLICE_CHARS = 1 << 20
_FEED_BYTES = 1 << 14  # bytes fed to the parser at a time (see `_fed`)


def sanitise(text: str) -> str:
    """Repair what TallyPrime really emits so a strict XML parser accepts it."""
    return _repair(_undeclared(text))


def _undeclared(text: str) -> str:
    return _DECLARATION.sub("", text.lstrip("\ufeff"), count=1)


def _repair(text: str) -> str:
    return _repair_rest(_drop_sentinels(text))


def _drop_sentinels(text: str) -> str:
    # Where no raw \x04 occurs, _SENTINEL matches exactly what _SENTINEL_REF does: half its cost.
    return _SENTINEL.sub("", text) if "\x04" in text else _SENTINEL_REF.sub("", text)


def _repair_rest(text: str) -> str:
    """The repairs after the sentinels, in their order (each may uncover work for the next)."""
    text = _CONTROL.sub("", text)
    text = _BAD_CHARREF.sub("", text)
    if "UDF" in text:  # a scan for the word is a fifth of what the markup pattern costs where there is none
        text = _UDF_MARKUP.sub(_fix_tag, text)
    return _BARE_AMP.sub("&amp;", text)


def _refuse_hostile(repaired: str) -> None:
    # Checked after repair: removing a control character could otherwise join "<" and "!DOCTYPE".
    if _HOSTILE.search(repaired):
        raise HostileXmlError("reply declares a DOCTYPE or entities; refused")


def _fix_tag(match: re.Match[str]) -> str:
    # Reference §7: replies use `UDF:` prefixes without declaring them; make them plain names.
    return _UDF_NAME.sub(r"\1UDF_", _UDF_XMLNS.sub("", match.group(0)))


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(**_HARDENED)  # type: ignore[arg-type]


def parse_xml(text: str) -> Element:
    """Parse a decoded reply; raises HostileXmlError on DOCTYPE/entities, TallyProtocolError on junk."""
    repaired = sanitise(text)
    _refuse_hostile(repaired)
    try:
        root = etree.fromstring(repaired.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        raise TallyProtocolError(f"reply is not well-formed XML: {exc.msg}") from None
    _refuse_doctype(root)
    return root


def _refuse_doctype(root: Element) -> None:
    if root.getroottree().docinfo.doctype:  # pragma: no cover - the text check already refuses
        raise HostileXmlError("reply declares a DOCTYPE; refused")


def _slices(text: str) -> Iterator[str]:
    """`text` in slices of about _SLICE_CHARS, each ending just after a `>` (unrepaired: see `_repaired_utf8`)."""
    start = 0
    while start < len(text):
        cut = text.find(">", start + _SLICE_CHARS)
        end = len(text) if cut < 0 else cut + 1
        yield text[start:end]
        start = end


def _repaired_utf8(piece: str, first: bool) -> bytes:
    """`sanitise(piece)` (the first slice of a reply) or `_repair(piece)`, refused if hostile, as UTF-8.

    The same bytes, in the same order of checks: where the encoded slice shows that dropping its
    `&#4; Not Applicable` blanks is all the repairs would do, that is done to the bytes (`_blanks_dropped`);
    elsewhere the text is repaired as before (`_repaired_text_utf8`).
    """
    text = _undeclared(piece) if first else piece
    data = _blanks_dropped(text)
    if data is None:
        return _repaired_text_utf8(text)
    if b"!" in data and b"<!" in data:  # the hostile pattern starts "<!"; a memchr for "!" rules most slices out
        _refuse_hostile(data.decode("utf-8"))
    return data


def _blanks_dropped(text: str) -> bytes | None:
    """`_repair(text)` as UTF-8 where it only drops the usual blank (reference §7: `&#4; Not Applicable` before
    a tag), else None. With no raw \x04, and no sentinel reference left once those blanks are gone (`_AMP_SUSPECT`
    finds each), every match of `_SENTINEL_REF` was one of them, so `_drop_sentinels` would give the same text."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if b"\x04" in data:
        return None
    if b"&" in data:
        data = data.replace(_BLANK, b"<")
        if _amp_suspect(data):
            return None
    if any(byte in data for byte in _CONTROL_BYTE_LIST) or b"UDF" in data:
        return None
    return data


def _amp_suspect(data: bytes) -> bool:
    """`_AMP_SUSPECT.search(data)`, asked at each "&" found by memchr while there are few (Tally's replies carry a
    handful a voucher; the pattern's own scan walks every byte)."""
    at = data.find(b"&")
    for _ in range(64):
        if at < 0:
            return False
        if _AMP_SUSPECT.match(data, at):
            return True
        at = data.find(b"&", at + 1)
    return _AMP_SUSPECT.search(data, at) is not None


def _repaired_text_utf8(text: str) -> bytes:
    """`_repair(text)`, refused if hostile, as UTF-8: the repairs after the sentinels run only where the encoded
    text shows they could change something (a text that cannot be encoded takes the whole path too)."""
    text = _drop_sentinels(text)
    try:
        data: bytes | None = text.encode("utf-8")
    except UnicodeEncodeError:
        data = None
    if (data is None or len(data.translate(None, _CONTROL_BYTES)) != len(data) or b"UDF" in data
            or _AMP_SUSPECT.search(data)):
        text = _repair_rest(text)
        _refuse_hostile(text)
        return text.encode("utf-8")
    _refuse_hostile(text)
    return data


def stream_objects(text: str | Iterable[str], tag: str) -> Iterator[Element]:
    """Each `tag` object of a collection reply (`…/COLLECTION/<tag>`), parsed as a stream.

    `text` is the whole reply, or its text in pieces as it arrives (`streaming.decode_chunks`).
    An object is yielded complete and cleared when the next is asked for, so hold on to what
    you read from it, not to the element. Raises as `parse_reply_root` does before the first
    object; a broken body raises TallyProtocolError where it breaks; a reply that is not a
    collection, or carries a LINEERROR or STATUS 0, raises once the stream ends.
    """
    if isinstance(text, str) and is_blank(text):
        raise CompanyNotLoaded(_EMPTY)
    parser = etree.XMLPullParser(events=("end",), tag=(tag, "LINEERROR", "STATUS"), **_HARDENED)
    errors: list[str] = []
    status: int | None = None
    try:
        for el in _fed(parser, text):
            parent = el.getparent()
            if el.tag == "LINEERROR":
                errors.extend(line_errors(el))
            elif el.tag == "STATUS":
                status = _int(el) if parent is not None and parent.tag == "HEADER" else status
            elif parent is not None and parent.tag == "COLLECTION":
                while el.getprevious() is not None:  # objects already read, and what lay between
                    del parent[0]
                yield el
                el.clear()
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        raise TallyProtocolError(f"reply is not well-formed XML: {exc.msg}") from None
    _refuse_doctype(root)
    if root.tag != "ENVELOPE":
        raise TallyProtocolError(f"not a collection reply: {_describe(root)}")
    _raise_for(errors, status)


_EMPTY = "Tally returned an empty body: no company is loaded"


def _fed(parser: etree.XMLPullParser, text: str | Iterable[str]) -> Iterator[Element]:
    """The elements `parser` reports as the reply is fed to it: each slice repaired whole, then fed in pieces
    of _FEED_BYTES, each piece's events read before the next (fed a megabyte at once, the parser built its
    tree ~1.3x slower: the tree outgrew the CPU's caches before its objects were read and dropped)."""
    pieces = _slices(text) if isinstance(text, str) else _arriving_slices(text)
    for index, piece in enumerate(pieces):
        data = _repaired_utf8(piece, index == 0)
        for start in range(0, len(data), _FEED_BYTES):
            parser.feed(data[start:start + _FEED_BYTES])
            for _event, el in parser.read_events():
                yield el


def _arriving_slices(pieces: Iterable[str]) -> Iterator[str]:
    """As `_slices`, for a reply arriving in pieces: about _SLICE_CHARS gathered, cut just after the last `>`."""
    held: list[str] = []
    size, blank = 0, True
    for piece in pieces:
        if blank and (not piece or piece.isspace()):
            continue  # leading whitespace: nothing to parse yet
        blank = False
        held.append(piece)
        size += len(piece)
        if size < _SLICE_CHARS:
            continue
        text = "".join(held)
        cut = text.rfind(">")
        if cut < 0:
            held = [text]
            continue
        yield text[:cut + 1]
        rest = text[cut + 1:]
        held, size = [rest], len(rest)
    if blank:
        raise CompanyNotLoaded(_EMPTY)
    text = "".join(held)
    if text:
        yield text


def is_blank(text: str) -> bool:
    """True for an empty or all-whitespace body (unlike `strip()`, copies nothing of a large one)."""
    return not text or text.isspace()


def element_text(el: Element | None) -> str | None:
    """All text inside `el`, or None when the element is absent."""
    return None if el is None else "".join(el.itertext())


def line_errors(root: Element) -> list[str]:
    """Every LINEERROR anywhere in the reply, `root` itself included (reference §5: placement varies)."""
    return [t.strip() for t in (element_text(e) for e in root.iter("LINEERROR")) if t and t.strip()]


def is_server_running(text: str) -> bool:
    """True for the `<RESPONSE>TallyPrime Server is Running</RESPONSE>` banner (reference §1)."""
    try:
        root = parse_xml(text)
    except TallyProtocolError:
        return False
    return root.tag == "RESPONSE" and SERVER_RUNNING_TEXT.lower() in (element_text(root) or "").lower()


def raise_for_reply_errors(root: Element) -> None:
    """Raise CompanyNotLoaded / TallyRejected for LINEERRORs or STATUS 0 in an export reply."""
    _raise_for(line_errors(root), _status(root))


def _raise_for(errors: list[str], status: int | None) -> None:
    if any(COMPANY_NOT_FOUND_TEXT.lower() in e.lower() for e in errors):
        raise CompanyNotLoaded(errors[0])
    if errors:
        raise TallyRejected(f"Tally reported {len(errors)} line error(s)", errors)
    if status == 0:
        raise TallyRejected("Tally answered STATUS 0", [])


def _status(root: Element) -> int | None:
    if root.tag != "ENVELOPE":
        return None
    return _int(root.find("HEADER/STATUS"))


def _int(el: Element | None) -> int | None:
    try:
        return parse_int(element_text(el))
    except ValueError as exc:
        raise TallyProtocolError(str(exc)) from None


def _counter_holder(root: Element) -> Element | None:
    if root.tag == "RESPONSE":
        return root
    holder = next(root.iter("IMPORTRESULT"), None)
    return holder if holder is not None else next(root.iter("RESPONSE"), None)


def _describe(root: Element) -> str:
    # Only Tally's short RESPONSE banners are quoted; other bodies may hold business data.
    if root.tag == "RESPONSE":
        return f"<RESPONSE> {(element_text(root) or '').strip()[:80]!r}"
    return f"<{root.tag}>"


def parse_reply_root(text: str) -> Element:
    """Parse a reply; an empty body means no company is loaded (reference §1)."""
    if is_blank(text):
        raise CompanyNotLoaded("Tally returned an empty body: no company is loaded")
    return parse_xml(text)


def parse_import_response(text: str) -> ImportResult:
    """Parse a legacy `<RESPONSE>` or versioned `ENVELOPE/.../IMPORTRESULT` import reply."""
    root = parse_reply_root(text)
    errors = line_errors(root)
    holder = _counter_holder(root)
    if holder is None or (holder.find("CREATED") is None and holder.find("ERRORS") is None):
        if not errors and _status(root) is None:
            raise TallyProtocolError(f"not an import reply: {_describe(root)}")
        holder = None
    counts = {} if holder is None else {k: _int(holder.find(t)) or 0 for k, t in _COUNTERS.items()}
    return ImportResult(
        **counts,
        last_vch_id=None if holder is None else _int(holder.find("LASTVCHID")),
        last_mid=None if holder is None else _int(holder.find("LASTMID")),
        line_errors=errors,
        status=_status(root),
    )

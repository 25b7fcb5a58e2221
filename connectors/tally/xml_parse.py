"""Decode, sanitise and parse TallyPrime replies with a hardened lxml parser.

Reference §7: replies may carry raw control characters, the `&#4;` "not applicable"
sentinel, undeclared `UDF:` prefixes and bare `&`; all are repaired before parsing. Any
DOCTYPE or entity declaration is refused outright, so nothing is ever expanded or fetched.
"""

from __future__ import annotations

import re

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
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F]")
_BAD_CHARREF = re.compile(r"&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01]));|&#[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]);")
_MARKUP = re.compile(r"<[^<>]*>")  # text content cannot hold a raw "<", so this is markup only
_UDF_NAME = re.compile(r"(^</?|\s)UDF:")
_UDF_XMLNS = re.compile(r"""\s+xmlns:UDF\s*=\s*(?:"[^"]*"|'[^']*')""")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#[xX][0-9a-fA-F]+);)")

_COUNTERS = {
    "created": "CREATED", "altered": "ALTERED", "deleted": "DELETED", "cancelled": "CANCELLED",
    "combined": "COMBINED", "ignored": "IGNORED", "errors": "ERRORS", "exceptions": "EXCEPTIONS",
}


def sanitise(text: str) -> str:
    """Repair what TallyPrime really emits so a strict XML parser accepts it."""
    text = _DECLARATION.sub("", text.lstrip("\ufeff"), count=1)
    text = _SENTINEL.sub("", text)
    text = _CONTROL.sub("", text)
    text = _BAD_CHARREF.sub("", text)
    text = _MARKUP.sub(_fix_tag, text)
    return _BARE_AMP.sub("&amp;", text)


def _fix_tag(match: re.Match[str]) -> str:
    # Reference §7: replies use `UDF:` prefixes without declaring them; make them plain names.
    return _UDF_NAME.sub(r"\1UDF_", _UDF_XMLNS.sub("", match.group(0)))


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )


def parse_xml(text: str) -> Element:
    """Parse a decoded reply; raises HostileXmlError on DOCTYPE/entities, TallyProtocolError on junk."""
    if _HOSTILE.search(text):
        raise HostileXmlError("reply declares a DOCTYPE or entities; refused")
    try:
        root = etree.fromstring(sanitise(text).encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        raise TallyProtocolError(f"reply is not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:  # pragma: no cover - the pre-check already refuses
        raise HostileXmlError("reply declares a DOCTYPE; refused")
    return root


def element_text(el: Element | None) -> str | None:
    """All text inside `el`, or None when the element is absent."""
    return None if el is None else "".join(el.itertext())


def line_errors(root: Element) -> list[str]:
    """Every LINEERROR anywhere in the reply (reference §5: placement varies)."""
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
    errors = line_errors(root)
    if any(COMPANY_NOT_FOUND_TEXT.lower() in e.lower() for e in errors):
        raise CompanyNotLoaded(errors[0])
    if errors:
        raise TallyRejected(f"Tally reported {len(errors)} line error(s)", errors)
    if _status(root) == 0:
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
    if not text.strip():
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

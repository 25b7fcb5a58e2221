"""Read a request ENVELOPE, versioned or legacy (reference §2), into one `Request` value."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .xmlio import child, kids, text


class UnknownRequest(ValueError):
    """The envelope is not one Tally understands."""


@dataclass(slots=True)
class Request:
    style: str  # "versioned" | "legacy"
    action: str  # "import" | "export"
    type: str  # "data" | "collection" | "object" | "function"
    id: str
    statics: dict[str, str] = field(default_factory=dict)
    tdl: etree._Element | None = None
    objects: list[etree._Element] = field(default_factory=list)


_LEGACY_ACTIONS = {"import data": ("import", "IMPORTDATA"), "export data": ("export", "EXPORTDATA")}
_TYPES = {"import": {"data"}, "export": {"data", "collection", "object", "function"}}


def parse_request(root: etree._Element) -> Request:
    if root.tag != "ENVELOPE" or (header := child(root, "HEADER")) is None:
        raise UnknownRequest("no ENVELOPE/HEADER")
    verb = " ".join(text(child(header, "TALLYREQUEST")).split()).lower()
    body = child(root, "BODY")
    if verb in _LEGACY_ACTIONS:
        return _legacy(verb, body)
    if verb not in _TYPES or text(child(header, "VERSION")).strip() != "1":
        raise UnknownRequest(f"TALLYREQUEST {verb!r} without VERSION 1 is not understood")
    return _versioned(verb, header, body)


def _versioned(action: str, header: etree._Element, body: etree._Element | None) -> Request:
    type_ = text(child(header, "TYPE")).strip().lower()
    if type_ not in _TYPES[action]:
        raise UnknownRequest(f"TYPE {type_!r} is not valid for {action}")
    desc = _path(body, "DESC")
    req = Request("versioned", action, type_, text(child(header, "ID")).strip())
    req.statics = _statics(_path(desc, "STATICVARIABLES"))
    req.tdl = _path(desc, "TDL", "TDLMESSAGE")
    # TALLYMESSAGE counts only under BODY/DATA; under DESC it is ignored (reference §2).
    req.objects = _messages(_path(body, "DATA"))
    return req


def _legacy(verb: str, body: etree._Element | None) -> Request:
    action, wrapper_tag = _LEGACY_ACTIONS[verb]
    wrapper = _path(body, wrapper_tag)
    desc = _path(wrapper, "REQUESTDESC")
    if desc is None:
        raise UnknownRequest(f"{wrapper_tag}/REQUESTDESC is missing")
    report = text(child(desc, "REPORTNAME")).strip()
    type_ = "data" if action == "import" or report.lower() != "collection" else "collection"
    req = Request("legacy", action, type_, report)
    req.statics = _statics(child(desc, "STATICVARIABLES"))
    req.tdl = _path(desc, "TDL", "TDLMESSAGE")
    req.objects = _messages(_path(wrapper, "REQUESTDATA"))
    return req


def _path(el: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if el is None:
            return None
        el = child(el, tag)
    return el


def _statics(el: etree._Element | None) -> dict[str, str]:
    """Static variables by upper-cased name; values exactly as sent (no trimming)."""
    return {} if el is None else {c.tag.upper(): text(c) for c in kids(el)}


def _messages(parent: etree._Element | None) -> list[etree._Element]:
    """Objects of every TALLYMESSAGE under `parent`, in document order."""
    if parent is None:
        return []
    return [obj for msg in kids(parent) if msg.tag == "TALLYMESSAGE" for obj in kids(msg)]

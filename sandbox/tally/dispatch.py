"""From request bytes to reply bytes: decode, parse, pick the company, import or export."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from .company import Company
from .cost import CostModel, Walk
from .envelope import Request, UnknownRequest, parse_request
from .exports import run_export
from .imports import run_import
from .replies import (
    RUNNING,
    export_error,
    legacy_import_reply,
    refused,
    unknown_request,
    versioned_import_reply,
)
from .security import refusal
from .state import TallyState
from .xmlio import UTF8, XmlRefused, decode_body, encode_reply, media_type, parse, to_xml


@dataclass(frozen=True, slots=True)
class Reply:
    body: bytes
    media_type: str
    imported: bool = False
    cost: float = 0.0  # seconds of work the cost model charges; the app spends them before answering


def running() -> Reply:
    return Reply(RUNNING.encode(), media_type(UTF8))


def answer(state: TallyState, raw: bytes, content_type: str, cost: CostModel | None = None) -> Reply:
    """One POST to `/`; every outcome is an HTTP 200 whose body carries it (reference §2).

    Counts ``vouchers_walked`` and ``objects_imported`` in the stats; `cost` prices them (``cost.py``).
    """
    # No cyclic GC while answering: an export holds a node per element of thousands of vouchers until it
    # is written, and each pass meanwhile re-walked them and the company's vouchers (none of them cycles;
    # refcounting frees them). At 10,000 orders that was ~a fifth of the simulator's CPU.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _answer(state, raw, content_type, cost)
    finally:
        if enabled:
            gc.enable()


def _answer(state: TallyState, raw: bytes, content_type: str, cost: CostModel | None) -> Reply:
    if not raw.strip(b" \t\r\n\x00\xff\xfe\xef\xbb\xbf"):
        state.stats["ping"] += 1
        return running()
    encoding = UTF8
    try:
        encoding, text = decode_body(raw, content_type)
        request = parse_request(parse(text))
    except (XmlRefused, UnknownRequest):
        state.stats["unknown"] += 1
        return _reply(to_xml(unknown_request()), encoding)
    state.stats[request.action] += 1
    state.stats[f"{request.action}:{request.type}:{request.id}"] += 1
    if (denied := refusal(state, request)) is not None:
        state.stats["login_refused"] += 1
        return _reply(_refuse(request, denied), encoding)
    cost = cost or CostModel()
    if request.action == "import":
        xml, objects = _import(state, request)
        state.stats["objects_imported"] += objects
        return _reply(xml, encoding, imported=True, seconds=cost.seconds(0, objects))
    walk = Walk(cost.walk)
    xml = _export(state, request, walk)
    state.stats["vouchers_walked"] += walk.vouchers
    return _reply(xml, encoding, seconds=cost.seconds(walk.vouchers, 0))


def _reply(xml: str, encoding: str, *, imported: bool = False, seconds: float = 0.0) -> Reply:
    return Reply(encode_reply(xml, encoding), media_type(encoding), imported, seconds)


def _company(state: TallyState, request: Request) -> tuple[Company | None, str]:
    """SVCURRENTCOMPANY names the target exactly; omitted or empty means the active company."""
    name = request.statics.get("SVCURRENTCOMPANY", "")
    company = state.loaded_company(name) if name else state.active
    return company, f"Could not find Company '{name}'"


def _refuse(request: Request, message: str) -> str:
    if request.action == "export":
        return to_xml(export_error(message))
    result = refused(message)
    return to_xml(legacy_import_reply(result) if request.style == "legacy" else versioned_import_reply(result))


def _import(state: TallyState, request: Request) -> tuple[str, int]:
    """The reply and how many objects Tally processed (none when the request was refused)."""
    company, error = _company(state, request)
    result = refused(error) if company is None else run_import(company, request)
    reply = legacy_import_reply(result) if request.style == "legacy" else versioned_import_reply(result)
    return to_xml(reply), 0 if result.rejected else len(request.objects)


def _export(state: TallyState, request: Request, walk: Walk) -> str:
    if not state.loaded:
        return ""  # no company loaded: exports come back empty (reference §1)
    company, error = _company(state, request)
    if company is None:
        return to_xml(export_error(error))
    loaded = [state.companies[name] for name in state.loaded]
    return to_xml(run_export(loaded, company, request, walk))

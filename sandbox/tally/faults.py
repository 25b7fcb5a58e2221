"""Faults TallyPrime shows that a proxy in front of it cannot fake, armed from the control plane.

NOT part of Tally's API. `POST /__sandbox/faults` with any of (absent keys leave a knob as it is):

- ``{"blank": N, "blank_kind": "vouchers"}``: the next N imports of that report ("vouchers", "all
  masters" or "any") import nothing and answer Tally's *blank exception*: every counter 0 except
  EXCEPTIONS = the objects sent, and no LINEERROR (reference §5: "Blank `EXCEPTIONS 1` with no text
  is common", e.g. a godown or batch missing on a company that tracks them; the UI's import log
  holds the text, the gateway does not).
- ``{"partial": K}``: the next import commits only its first K objects (Tally processes objects one
  by one with no rollback, reference §5) and then the connection drops mid-reply: headers and part
  of the body, then nothing (reference §1: "Treat a dropped connection mid-request as 'Tally may
  be down'"; Tally can crash while importing).
- ``{"close_after": N}``: after N more imports the company is closed (unloaded), as when someone
  shuts it in the GUI mid-run. Tally then answers what it answers with no company loaded
  (reference §1, §9 pitfall 2): exports an empty body, imports naming the company
  "Could not find Company '<name>'". ``POST /__sandbox/company {"loaded": true}`` opens it again.

`GET /__sandbox/faults` shows what is armed and the log of what each fault did (``fired``), so a
harness can count the permanent failures it injected (a blanked import of one voucher is one).
Tally being unreachable is not here: refusing connections is the fault proxy's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from .envelope import Request, UnknownRequest, parse_request
from .replies import COUNTERS, ImportResult, legacy_import_reply, versioned_import_reply
from .state import TallyState
from .xmlio import UTF8, XmlRefused, decode_body, encode_reply, media_type, parse, to_xml

KINDS = ("vouchers", "all masters", "any")


@dataclass(frozen=True, slots=True)
class FaultReply:
    """What the app sends instead of Tally's answer: `body` whole, or cut after `cut` bytes and dropped."""

    body: bytes
    media_type: str
    cut: int | None = None


@dataclass
class TallyFaults:
    """The armed faults and a log of what fired."""

    blank: int = 0
    blank_kind: str = "vouchers"
    partial: int | None = None
    close_after: int | None = None
    fired: list[dict[str, Any]] = field(default_factory=list)

    def arm(self, body: dict[str, Any]) -> None:
        if "blank" in body:
            self.blank = max(0, int(body["blank"]))
        if "blank_kind" in body:
            kind = str(body["blank_kind"]).strip().lower()
            if kind not in KINDS:
                raise ValueError(f"blank_kind must be one of {KINDS}")
            self.blank_kind = kind
        if "partial" in body:
            self.partial = None if body["partial"] is None else max(0, int(body["partial"]))
        if "close_after" in body:
            self.close_after = None if body["close_after"] is None else max(0, int(body["close_after"]))

    def to_json(self) -> dict[str, Any]:
        return {"blank": self.blank, "blank_kind": self.blank_kind, "partial": self.partial,
                "close_after": self.close_after, "fired": self.fired}

    def armed(self) -> bool:
        return bool(self.blank) or self.partial is not None or self.close_after is not None

    def intercept(self, state: TallyState, raw: bytes, content_type: str,
                  answer: Callable[[bytes, str], Any]) -> FaultReply | None:
        """Handle one POST if an armed fault takes it (None: answer normally). Called under Tally's lock."""
        if not self.armed():
            return None
        parsed = _import_request(raw, content_type)
        if parsed is None:
            return None
        request, root = parsed
        self._count_towards_close(state, request)
        return self._blank(request) or self._partial(request, root, answer)

    def _blank(self, request: Request) -> FaultReply | None:
        if not self.blank or (self.blank_kind != "any" and request.id.strip().lower() != self.blank_kind):
            return None
        self.blank -= 1
        self.fired.append({"fault": "blank", "report": request.id, "objects": len(request.objects)})
        result = ImportResult(counts=dict.fromkeys(COUNTERS, 0))
        result.counts["EXCEPTIONS"] = len(request.objects)
        reply = legacy_import_reply(result) if request.style == "legacy" else versioned_import_reply(result)
        return FaultReply(encode_reply(to_xml(reply), UTF8), media_type(UTF8))

    def _partial(self, request: Request, root: etree._Element,
                 answer: Callable[[bytes, str], Any]) -> FaultReply | None:
        if self.partial is None:
            return None
        keep, self.partial = self.partial, None
        for obj in request.objects[keep:]:
            obj.getparent().remove(obj)
        committed = min(keep, len(request.objects))
        self.fired.append({"fault": "partial", "report": request.id, "objects": len(request.objects),
                           "committed": committed})
        reply = answer(etree.tostring(root, encoding="utf-8"), media_type(UTF8)) if committed else None
        body = reply.body if reply is not None else b"<RESPONSE></RESPONSE>"
        return FaultReply(body, media_type(UTF8), cut=max(1, len(body) // 3))

    def _count_towards_close(self, state: TallyState, request: Request) -> None:
        """The import after the N-th finds the company closed (and is answered as such)."""
        if self.close_after is None:
            return
        if self.close_after > 0:
            self.close_after -= 1
            return
        self.close_after = None
        name = request.statics.get("SVCURRENTCOMPANY", "") or (state.loaded[-1] if state.loaded else "")
        state.unload(name)
        self.fired.append({"fault": "close", "company": name})


def _import_request(raw: bytes, content_type: str) -> tuple[Request, etree._Element] | None:
    try:
        _, text = decode_body(raw, content_type)
        root = parse(text)
        request = parse_request(root)
    except (XmlRefused, UnknownRequest, ValueError):
        return None
    return (request, root) if request.action == "import" else None


def fault_routes(faults: TallyFaults) -> list[Route]:
    """`GET` / `POST /__sandbox/faults`."""

    async def show(request: HttpRequest) -> JSONResponse:
        return JSONResponse(faults.to_json())

    async def arm(request: HttpRequest) -> JSONResponse:
        try:
            faults.arm(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        return JSONResponse(faults.to_json())

    return [Route("/__sandbox/faults", show, methods=["GET"]), Route("/__sandbox/faults", arm, methods=["POST"])]


def cut_response(reply: FaultReply) -> Any:
    """An ASGI app that sends the headers and the first `cut` bytes of the body, then drops the connection."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", reply.media_type.encode()),
                                (b"content-length", str(len(reply.body)).encode())]})
        await send({"type": "http.response.body", "body": reply.body[:reply.cut], "more_body": True})
        raise ConnectionAbortedError("[sandbox] Tally dropped the connection mid-reply")

    return app

"""Bridge from a connector client's per-exchange callback to the audit trail."""

from __future__ import annotations

from typing import Any

from state.audit import AuditTrail


class AuditHook:
    """Called by a client with each request/response pair; records it against the current records.

    The caller sets `source_ids` before each write so every audit row says which source records
    it was about. With no trail it only keeps `source_ids` (useful in unit tests).
    """

    def __init__(self, trail: AuditTrail | None, *, run_id: str | None = None, flow: str | None = None,
                 system: str = "tally") -> None:
        self.trail, self.run_id, self.flow, self.system = trail, run_id, flow, system
        self.source_ids: list[str] = []

    def __call__(self, exchange: Any) -> None:
        if self.trail is None:
            return
        deflated = getattr(exchange, "deflated_response", None)  # a streamed reply, compressed as it arrived
        response = b"" if deflated is not None else getattr(exchange, "response", b"") or b""
        self.trail.record(
            system=self.system, kind=str(getattr(exchange, "operation", None) or getattr(exchange, "kind", "request")),
            request=getattr(exchange, "request", b"") or b"", response=response, response_deflated=deflated,
            run_id=self.run_id, flow=self.flow, source_ids=self.source_ids,
            outcome=str(getattr(exchange, "status", "") or ""), duration_ms=_ms(exchange),
            error=getattr(exchange, "error", None),
        )


def _ms(exchange: Any) -> float | None:
    seconds = getattr(exchange, "duration", None)
    return None if seconds is None else round(float(seconds) * 1000, 2)

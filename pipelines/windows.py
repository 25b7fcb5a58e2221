"""Small pieces every flow's settings and sync windows share: instants from text, optional paths, windows.

`AwareInstant` and `OptionalPath` are pydantic field types for a flow's settings model (an ISO date or
datetime without offset is UTC; an empty path is None). `Window` is the span a run reads, with the run
key and run config fields that name it; `resolve_window` is the window a run reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime; a value without offset is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def optional_instant(text: str | None) -> datetime | None:
    """`parse_instant`, with an empty value as None."""
    return parse_instant(text) if text else None


def _instant(value: Any) -> Any:
    return parse_instant(value) if isinstance(value, str) else value


AwareInstant = Annotated[datetime, BeforeValidator(_instant)]
OptionalPath = Annotated[Path | None, BeforeValidator(lambda value: None if value in ("", None) else value)]


def stamp(value: datetime) -> str:
    """An instant as it appears in run keys: UTC to the microsecond, `20260401T000000.000000Z`."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass(frozen=True)
class Window:
    """The span one run reads, `start` to `end` (both aware)."""

    start: datetime
    end: datetime

    def key(self, prefix: str) -> str:
        """A deterministic run key, `<prefix>:<start>:<end>`: one window never runs twice."""
        return f"{prefix}:{stamp(self.start)}:{stamp(self.end)}"

    def fields(self, name: str) -> dict[str, str]:
        """The window as the run config fields `<name>_start` and `<name>_end` (ISO text)."""
        return {f"{name}_start": self.start.isoformat(), f"{name}_end": self.end.isoformat()}


def op_config(op: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run config giving one op (an asset's) its config."""
    return {"ops": {op: {"config": config}}}


def resolve_window(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads: explicit bounds from run config, else the sync start up to now."""
    window = Window(parse_instant(start) if start else default_start, parse_instant(end) if end else now)
    if window.end < window.start:
        raise ValueError(f"sync window ends ({window.end}) before it starts ({window.start})")
    return window

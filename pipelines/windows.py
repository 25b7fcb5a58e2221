"""Small pieces every flow's settings and sync windows share: instants from text, optional paths, windows.

`AwareInstant` and `OptionalPath` are pydantic field types for a flow's settings model (an ISO date or
datetime without offset is UTC; an empty path is None). `resolve_window` is the window a run reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime; a value without offset is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _instant(value: Any) -> Any:
    return parse_instant(value) if isinstance(value, str) else value


AwareInstant = Annotated[datetime, BeforeValidator(_instant)]
OptionalPath = Annotated[Path | None, BeforeValidator(lambda value: None if value in ("", None) else value)]


def resolve_window(start: str | None, end: str | None, default_start: datetime,
                   now: datetime) -> tuple[datetime, datetime]:
    """The window a run reads: explicit bounds from run config, else the sync start up to now."""
    window = (parse_instant(start) if start else default_start, parse_instant(end) if end else now)
    if window[1] < window[0]:
        raise ValueError(f"sync window ends ({window[1]}) before it starts ({window[0]})")
    return window

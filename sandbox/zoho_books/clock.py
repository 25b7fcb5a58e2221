"""An injectable clock: wall time plus an offset the control plane can advance."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """`now()` is real UTC time shifted by everything `advance()` added; so is `monotonic()`."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._offset = 0.0 if start is None else (start - datetime.now(UTC)).total_seconds()
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds` (never back); the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def now(self) -> datetime:
        """Aware UTC now, as the simulator sees it."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        """Monotonic seconds, shifted like `now()`."""
        return time.monotonic() + self._offset

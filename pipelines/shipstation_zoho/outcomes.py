"""Materialisation metadata of the Zoho posting assets, and the clean stop at the daily cap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from connectors.zoho_books.errors import DailyLimitReached
from pipelines.metadata import failure_table
from pipelines.posting import Poster, PostingReport


def report_metadata(report: PostingReport, **extra: Any) -> dict[str, Any]:
    keys = list(report.keys)
    return {"read": report.read, "created": report.created, "altered": report.altered,
            "cancelled": report.cancelled, "skipped": report.skipped, "busy": report.busy,
            "resolved": report.resolved, "failed": report.failed, "unknown": report.unknown,
            "failures": failure_table(report.failures, [*keys, "error"]), **extra}


@contextmanager
def daily_cap(poster: Poster | Callable[[], Poster | None]) -> Iterator[None]:
    """Turn Zoho's daily cap into a clean, explained stop of the run.

    The poster has already given back every claim the cap refused (they are retried), and records
    not reached were never claimed; failing the run (rather than succeeding) keeps the polling window
    open, so the next run reads it again and the ledger skips what was done: nothing lost, nothing twice.
    """
    try:
        yield
    except DailyLimitReached as exc:
        current = poster() if callable(poster) and not isinstance(poster, Poster) else poster
        report = current.report if current is not None else PostingReport()
        raise dg.Failure(
            description=(f"Zoho Books' daily API cap is spent ({exc.message}); stopped cleanly after "
                         f"{report.created} created and {report.altered} updated. Nothing was lost or sent twice: "
                         f"the rest goes after {exc.resume_at.isoformat()} when the window is asked again."),
            metadata={"resume_at": exc.resume_at.isoformat(), "created": report.created, "altered": report.altered},
            allow_retries=False) from None

"""The harness's table: on the terminal (rich) and as Markdown for the README's Reliability section."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.faults.harness import Row

COLUMNS = ("flow", "fault", "expected", "posted", "duplicates", "lost", "failed (reason)", "expected failed",
           "runs", "seconds", "ok", "note")


NOT_MET = "no — fault not met"


def verdict(row: Row) -> str:
    """The `ok` cell: a row whose counts are right but whose fault never fired proves nothing, and says so."""
    if row.ok:
        return "yes"
    return NOT_MET if row.counts_ok else "NO"


def cells(row: Row) -> list[str]:
    return [row.flow, row.fault, str(row.expected), str(row.posted), str(row.duplicates), str(row.lost),
            str(row.failed), str(row.permanent), str(row.runs), f"{row.seconds:.1f}", verdict(row), row.note]


def summary(rows: Sequence[Row]) -> str:
    """How many rows are not ok, and of those how many only because their fault was not met."""
    bad = [row for row in rows if not row.ok]
    unmet = sum(1 for row in bad if row.met is False)
    return (f"{len(rows)} rows, all ok" if not bad else
            f"{len(rows)} rows, {len(bad)} not ok ({unmet} of them because the fault did not meet the run)")


def print_table(rows: Sequence[Row], title: str, console: Console | None = None) -> None:
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("expected", "posted", "duplicates", "lost",
                                                               "runs", "seconds") else "left")
    for row in rows:
        table.add_row(*cells(row), style=None if row.ok else "bold red")
    (console or Console()).print(table)
    (console or Console()).print(summary(rows))


def markdown(rows: Sequence[Row], title: str) -> str:
    lines = [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells(row)) + " |" for row in rows]
    lines += ["", summary(rows) + "."]
    return "\n".join(lines) + "\n"


def write_markdown(rows: Sequence[Row], title: str, path: str | Path) -> None:
    Path(path).write_text(markdown(rows, title), encoding="utf-8")

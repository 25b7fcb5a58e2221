"""The month-end reconciliation report: one HTML page, and the exceptions as CSV and .xlsx, for every pair.

`write_report` takes a `ReportData` (built by `report_data_from` from the engine's month roll-up)
and writes three files whose bytes depend on the data alone: rows are sorted, nothing random is
generated, and the workbook's zip entries and document properties carry `generated_at`. Each pair
(a RulePack) brings its own totals, match rate, categories and drift; every exception row names its pair.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.reconciliation.pack import Match, RulePack, TotalRow
from pipelines.reconciliation.report_html import as_date, decimal_or_none, number_text, render_html
from pipelines.reconciliation.report_xlsx import write_xlsx
from pipelines.reconciliation.tables import AMOUNT_COLUMNS, EXCEPTION_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.reconciliation.rollup import MonthResult, PairMonth

SORT_KEYS = ["day", "pair", "category", "order_number", "source_id", "target_id", "reason"]


@dataclass(frozen=True)
class StockDrift:
    source_key: str  # e.g. the SKUs
    target_key: str | None  # e.g. the stock item they resolve to
    source_qty: Decimal | None
    target_qty: Decimal | None

    @property
    def difference(self) -> Decimal:
        """Target minus source; a side with no count counts as zero."""
        return (decimal_or_none(self.target_qty) or Decimal(0)) - (decimal_or_none(self.source_qty) or Decimal(0))


@dataclass(frozen=True)
class PairReport:
    """One pair's part of the report: its totals per side (laid out by `total_rows`), match rate, categories."""

    pair: str
    label: str  # e.g. "ShipStation ↔ TallyPrime"
    sides: tuple[str, str]
    totals: Mapping[str, int | Decimal | None]  # counts are ints, amounts Decimals; a missing key shows as a dash
    total_rows: Sequence[TotalRow]
    match_rate: float | Decimal | None  # matched / of, 0..1; None without any
    match: Match | None
    categories: Mapping[str, tuple[str, str]]  # category -> (owner, meaning)
    per_category: Mapping[str, int]
    stock_drift: Sequence[StockDrift] = ()
    drift_title: str | None = None  # None: the pair draws no drift chart
    currency: str = "₹"
    notices: tuple[str, ...] = ()  # categories listed apart, not counted as exceptions

    @classmethod
    def of(cls, pack: RulePack, **values: Any) -> PairReport:
        """The pack's labels and layout with these figures (totals, match_rate, per_category, stock_drift)."""
        return cls(pair=pack.pair, label=pack.label, sides=pack.sides, total_rows=tuple(pack.total_rows),
                   match=pack.match, categories=dict(pack.categories),
                   drift_title=pack.drift.title if pack.drift else None, currency=pack.currency,
                   notices=tuple(pack.notices),
                   **({"stock_drift": []} | values))


@dataclass(frozen=True)
class ReportData:
    """What the report shows: every pair's part, exceptions per day, and the exception rows of all pairs."""

    month: str  # YYYY-MM
    generated_at: datetime
    pairs: Sequence[PairReport]
    per_day: Mapping[date, int]
    exceptions: pd.DataFrame  # columns of recon_exceptions (EXCEPTION_COLUMNS)
    company: str = ""
    days_reconciled: int | None = None  # days of the month with a reconciliation run; None: not known


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    xlsx: Path


def write_report(data: ReportData, out_dir: Path) -> ReportFiles:
    """Write the HTML page, CSV and .xlsx for `data` into `out_dir` (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = sorted_exceptions(data.exceptions)
    rows = list(frame.itertuples(index=False, name=None))
    stem = f"reconciliation-{data.month}"
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}-exceptions.csv",
                        out_dir / f"{stem}-exceptions.xlsx")
    with _replacing(files.html) as tmp:
        tmp.write_text(render_html(data, rows), encoding="utf-8")
    with _replacing(files.csv) as tmp:
        _write_csv(tmp, rows)
    with _replacing(files.xlsx) as tmp:
        write_xlsx(tmp, data, rows)
    return files


def sorted_exceptions(exceptions: pd.DataFrame | None) -> pd.DataFrame:
    """The rows with exactly EXCEPTION_COLUMNS, in a stable order (day, category, order, ids, reason)."""
    import pandas as pd  # lazily: the order sync's process never loads pandas

    frame = pd.DataFrame(columns=list(EXCEPTION_COLUMNS)) if exceptions is None else exceptions
    frame = frame.reindex(columns=list(EXCEPTION_COLUMNS)).reset_index(drop=True)
    if not len(frame):
        return frame
    frame = frame.astype(object).where(frame.notna(), None)
    frame["day"] = frame["day"].map(as_date)
    keys = frame[SORT_KEYS].map(lambda v: "" if v is None else str(v))
    return frame.loc[keys.sort_values(SORT_KEYS, kind="mergesort").index].reset_index(drop=True)


def report_data_from(result: MonthResult, *, company: str = "", generated_at: datetime | None = None) -> ReportData:
    """The report's view of the engine's month roll-up (`engine.month_rollup`)."""
    return ReportData(
        month=result.month, generated_at=generated_at or datetime.now(UTC), pairs=[_pair(p) for p in result.pairs],
        per_day=dict(result.per_day), exceptions=result.exceptions, company=company,
        days_reconciled=result.days_reconciled)


def _pair(month: PairMonth) -> PairReport:
    about = month.description
    drift, match = about.get("drift"), about.get("match")
    return PairReport(
        pair=month.pair, label=about.get("label", month.pair), sides=tuple(about.get("sides", ("source", "target"))),
        totals=dict(month.totals), total_rows=[_total_row(row) for row in about.get("total_rows", [])],
        match_rate=month.match_rate, match=Match(**match) if match else None,
        categories={k: tuple(v) for k, v in about.get("categories", {}).items()},
        per_category=dict(month.per_category), stock_drift=[StockDrift(*d) for d in month.stock_drift],
        drift_title=drift["title"] if drift else None, currency=about.get("currency", "₹"),
        notices=tuple(about.get("notices", ())))


def _total_row(row: dict[str, Any]) -> TotalRow:
    """A TotalRow from its JSON in `recon_pairs` (lists back to tuples)."""
    return TotalRow(**(row | {"because": tuple(tuple(b) for b in row.get("because", ()))}))


def month_report_data(staging_path: Path, month: str, *, company: str = "",
                      generated_at: datetime | None = None) -> ReportData | None:
    """The report's data for `month` from the staging DuckDB file; None while no day of it is reconciled."""
    if not Path(staging_path).exists():
        return None
    from pipelines.reconciliation.rollup import month_rollup
    from state.staging import StagingStore

    with StagingStore(staging_path).connect() as conn:
        result = month_rollup(conn, month)
    if not result.days_reconciled:
        return None
    return report_data_from(result, company=company, generated_at=generated_at)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Write next to `path` and move into place, so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(path: Path, rows: Sequence[tuple]) -> None:
    # utf-8-sig: Excel reads a CSV without a byte-order mark as the local code page and garbles Devanagari.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXCEPTION_COLUMNS)
        writer.writerows([_csv_value(v, c) for c, v in zip(EXCEPTION_COLUMNS, row, strict=True)] for row in rows)


def _csv_value(value: Any, column: str) -> str:
    if value is None:
        return ""
    if column in AMOUNT_COLUMNS:
        return number_text(value)
    if column == "explained":
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)

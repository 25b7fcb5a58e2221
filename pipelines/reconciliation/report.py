"""The month-end reconciliation report: one HTML page, and the exceptions as CSV and .xlsx.

`write_report` takes a `ReportData` (built by `report_data_from` from the engine's month roll-up)
and writes three files whose bytes depend on the data alone: rows are sorted, nothing random is
generated, and the workbook's zip entries and document properties carry `generated_at`.
"""

from __future__ import annotations

import csv
import os
import shutil
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.reconciliation.report_html import TOTAL_ROWS, decimal_or_none, number_text, render_html
from pipelines.reconciliation.tables import CATEGORIES

if TYPE_CHECKING:
    from pipelines.reconciliation.engine import MonthResult

EXCEPTION_COLUMNS = ("day", "category", "owner", "order_number", "source_system", "source_id", "target_system",
                     "target_id", "source_amount", "target_amount", "difference", "reason", "explained",
                     "explanation", "detected_at")
AMOUNT_COLUMNS = ("source_amount", "target_amount", "difference")
SORT_KEYS = ["day", "category", "order_number", "source_id", "target_id", "reason"]


@dataclass(frozen=True)
class StockDrift:
    sku: str
    stock_item: str | None
    shipstation_qty: Decimal | None
    tally_qty: Decimal | None

    @property
    def difference(self) -> Decimal:
        """TallyPrime minus ShipStation; a side with no count counts as zero."""
        return (decimal_or_none(self.tally_qty) or Decimal(0)) - (decimal_or_none(self.shipstation_qty) or Decimal(0))


@dataclass(frozen=True)
class ReportData:
    """What the report shows. `totals` keys: orders, order_total, vouchers, voucher_amount, shipments,
    delivery_notes, matched (counts are ints, amounts Decimals; a missing key shows as a dash)."""

    month: str  # YYYY-MM
    generated_at: datetime
    totals: Mapping[str, int | Decimal | None]
    match_rate: float | Decimal | None  # matched orders / orders, 0..1; None when there were no orders
    per_day: Mapping[date, int]
    per_category: Mapping[str, int]
    stock_drift: Sequence[StockDrift]
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
    unexplained = sum(1 for explained in frame["explained"] if not explained)
    stem = f"reconciliation-{data.month}"
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}-exceptions.csv",
                        out_dir / f"{stem}-exceptions.xlsx")
    with _replacing(files.html) as tmp:
        tmp.write_text(render_html(data, rows, len(rows), unexplained), encoding="utf-8")
    with _replacing(files.csv) as tmp:
        _write_csv(tmp, rows)
    with _replacing(files.xlsx) as tmp:
        _write_xlsx(tmp, data, rows)
    return files


def sorted_exceptions(exceptions: pd.DataFrame | None) -> pd.DataFrame:
    """The rows with exactly EXCEPTION_COLUMNS, in a stable order (day, category, order, ids, reason)."""
    frame = pd.DataFrame(columns=list(EXCEPTION_COLUMNS)) if exceptions is None else exceptions
    frame = frame.reindex(columns=list(EXCEPTION_COLUMNS)).reset_index(drop=True)
    if not len(frame):
        return frame
    frame = frame.astype(object).where(frame.notna(), None)
    frame["day"] = frame["day"].map(_as_date)
    keys = frame[SORT_KEYS].map(lambda v: "" if v is None else str(v))
    return frame.loc[keys.sort_values(SORT_KEYS, kind="mergesort").index].reset_index(drop=True)


def report_data_from(result: MonthResult, *, company: str = "", generated_at: datetime | None = None) -> ReportData:
    """The report's view of the engine's month roll-up (`engine.month_rollup`)."""
    return ReportData(
        month=result.month, generated_at=generated_at or datetime.now(UTC), totals=dict(result.totals),
        match_rate=result.match_rate, per_day=dict(result.per_day), per_category=dict(result.per_category),
        stock_drift=[StockDrift(*drift) for drift in result.stock_drift], exceptions=result.exceptions,
        company=company, days_reconciled=result.days_reconciled)


def month_report_data(staging_path: Path, month: str, *, company: str = "",
                      generated_at: datetime | None = None) -> ReportData | None:
    """The report's data for `month` from the staging DuckDB file; None while no day of it is reconciled."""
    if not Path(staging_path).exists():
        return None
    from pipelines.reconciliation.engine import month_rollup
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


def _write_xlsx(path: Path, data: ReportData, rows: Sequence[tuple]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook(write_only=True)
    stamp = _utc_naive(data.generated_at)
    book.properties.created = book.properties.modified = stamp
    sheet = book.create_sheet("Exceptions")
    widths = {"day": 11, "category": 24, "owner": 11, "reason": 60, "explanation": 30, "detected_at": 19}
    for i, column in enumerate(EXCEPTION_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(i)].width = widths.get(column, 15)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(EXCEPTION_COLUMNS))}{len(rows) + 1}"
    bold = Font(bold=True)
    sheet.append([_styled(WriteOnlyCell(sheet, c), font=bold) for c in EXCEPTION_COLUMNS[:-1]]
                 + [_styled(WriteOnlyCell(sheet, "detected_at (UTC)"), font=bold)])
    # One styled cell per typed column, reused for every row: write-only sheets serialise a row on append.
    amounts = [_styled(WriteOnlyCell(sheet), number_format="#,##0.00") for _ in AMOUNT_COLUMNS]
    day, seen = _styled(WriteOnlyCell(sheet), number_format="yyyy-mm-dd"), \
        _styled(WriteOnlyCell(sheet), number_format="yyyy-mm-dd hh:mm:ss")
    for row in rows:
        values = list(row)
        day.value, seen.value = _as_date(values[0]), _utc_naive(values[14])
        for cell, value in zip(amounts, values[8:11], strict=True):
            number = decimal_or_none(value)
            cell.value = None if number is None else float(number)
        values[0], values[8:11], values[14] = day, amounts, seen
        values[12] = None if values[12] is None else bool(values[12])
        # openpyxl refuses control characters (a vendor's error text can carry them): drop them.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    _totals_sheet(book.create_sheet("Totals"), data, len(rows), bold)
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, stamp=stamp) as archive:
        ExcelWriter(book, archive).write_data()


def _totals_sheet(sheet: Any, data: ReportData, n_rows: int, bold: Any) -> None:
    from openpyxl.cell import WriteOnlyCell

    def cell(value: Any, **style: Any) -> Any:
        return _styled(WriteOnlyCell(sheet, value), **style)

    sheet.column_dimensions["A"].width = 30
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 18
    sheet.append([cell("Month", font=bold), data.month])
    sheet.append([cell("Company", font=bold), data.company])
    sheet.append([cell("Generated at (UTC)", font=bold), cell(_utc_naive(data.generated_at),
                                                              number_format="yyyy-mm-dd hh:mm:ss")])
    sheet.append([])
    sheet.append([cell(h, font=bold) for h in ("Measure", "ShipStation", "TallyPrime", "Tally − ShipStation")])
    for label, left, right, money in TOTAL_ROWS:
        a, b = (_excel_number(data.totals.get(k)) for k in (left, right))
        diff = b - a if a is not None and b is not None else None
        sheet.append([label, *(cell(v, number_format="#,##0.00" if money else "#,##0") for v in (a, b, diff))])
    rate = None if data.match_rate is None else float(data.match_rate)
    sheet.append(["Matched orders", _excel_number(data.totals.get("matched"))])
    sheet.append(["Match rate", cell(rate, number_format="0.0%")])
    sheet.append(["Exceptions", n_rows])
    sheet.append([])
    sheet.append([cell(h, font=bold) for h in ("Category", "Owner", "Exceptions")])
    for name in list(CATEGORIES) + sorted(set(data.per_category) - set(CATEGORIES)):
        sheet.append([name, CATEGORIES.get(name, ("",))[0], int(data.per_category.get(name, 0))])


def _styled(cell: Any, **style: Any) -> Any:
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _excel_number(value: Any) -> float | int | None:
    number = decimal_or_none(value)
    if number is None:
        return None
    return value if isinstance(value, int) else float(number)


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _utc_naive(value: Any) -> datetime | None:
    """Excel has no time zones: times go in as UTC wall-clock time."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_convert(UTC) if stamp.tzinfo else stamp
    return stamp.tz_localize(None).to_pydatetime().replace(microsecond=0)


class _FixedTimeZip(zipfile.ZipFile):
    """Stamps every member with one time (zipfile uses the clock), so the same workbook is the same bytes."""

    def __init__(self, *args: Any, stamp: datetime | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        when = stamp if stamp and stamp.year >= 1980 else datetime(1980, 1, 1)
        self._stamp = when.timetuple()[:6]

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self._stamp)
        info.compress_type, info.external_attr = self.compression, 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        with open(filename, "rb") as source, self.open(self._info(arcname or str(filename)), "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)

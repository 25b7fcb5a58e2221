"""The month report's workbook: the exceptions of every pair on one sheet, each pair's totals on another.

Write-only openpyxl, so a month of 100,000 rows stays small in memory; the zip entries and document
properties carry `generated_at`, so the same data gives the same bytes.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.reconciliation.report_html import as_date, decimal_or_none
from pipelines.reconciliation.tables import AMOUNT_COLUMNS, EXCEPTION_COLUMNS

if TYPE_CHECKING:
    from pipelines.reconciliation.report import ReportData


def write_xlsx(path: Path, data: ReportData, rows: Sequence[tuple]) -> None:
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
    widths = {"day": 11, "pair": 18, "category": 24, "owner": 11, "reason": 60, "explanation": 30, "detected_at": 19}
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
        day.value, seen.value = as_date(values[_DAY]), _utc_naive(values[_SEEN])
        for cell, value in zip(amounts, values[_AMOUNTS], strict=True):
            number = decimal_or_none(value)
            cell.value = None if number is None else float(number)
        values[_DAY], values[_AMOUNTS], values[_SEEN] = day, amounts, seen
        values[_EXPLAINED] = None if values[_EXPLAINED] is None else bool(values[_EXPLAINED])
        # openpyxl refuses control characters (a vendor's error text can carry them): drop them.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    _totals_sheet(book.create_sheet("Totals"), data, rows, bold)
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, stamp=stamp) as archive:
        ExcelWriter(book, archive).write_data()


_DAY, _EXPLAINED, _SEEN = (EXCEPTION_COLUMNS.index(c) for c in ("day", "explained", "detected_at"))
_AMOUNTS = slice(EXCEPTION_COLUMNS.index(AMOUNT_COLUMNS[0]), EXCEPTION_COLUMNS.index(AMOUNT_COLUMNS[-1]) + 1)
_PAIR = EXCEPTION_COLUMNS.index("pair")


def _totals_sheet(sheet: Any, data: ReportData, rows: Sequence[tuple], bold: Any) -> None:
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
    for pair in data.pairs:
        sheet.append([])
        sheet.append([cell(pair.label, font=bold), pair.pair])
        left, right = pair.sides
        sheet.append([cell(h, font=bold) for h in ("Measure", left, right, f"{right} − {left}")])
        for row in pair.total_rows:
            a, b = (_excel_number(pair.totals.get(k)) for k in (row.left, row.right))
            diff = b - a if a is not None and b is not None else None
            style = "#,##0.00" if row.money else "#,##0"
            sheet.append([row.label, *(cell(v, number_format=style) for v in (a, b, diff))])
        if pair.match:
            rate = None if pair.match_rate is None else float(pair.match_rate)
            sheet.append([f"Matched {pair.match.noun}", _excel_number(pair.totals.get(pair.match.matched))])
            sheet.append(["Match rate", cell(rate, number_format="0.0%")])
        sheet.append(["Exceptions", sum(1 for r in rows if r[_PAIR] == pair.pair)])
    sheet.append([])
    sheet.append([cell(h, font=bold) for h in ("Category", "Owner", "Exceptions", "Pair")])
    for pair in data.pairs:
        for name in list(pair.categories) + sorted(set(pair.per_category) - set(pair.categories)):
            sheet.append([name, pair.categories.get(name, ("",))[0], int(pair.per_category.get(name, 0)), pair.pair])


def _styled(cell: Any, **style: Any) -> Any:
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _excel_number(value: Any) -> float | int | None:
    number = decimal_or_none(value)
    if number is None:
        return None
    return value if isinstance(value, int) else float(number)


def _utc_naive(value: Any) -> datetime | None:
    """Excel has no time zones: times go in as UTC wall-clock time."""
    import pandas as pd  # lazily: the order sync's process never loads pandas

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

"""The month's reconciliation as one self-contained HTML page: inline CSS, inline SVG charts, no URLs.

Everything is readable without JavaScript; a few lines of inline script only add a filter box to the
exception table. Every value from the data passes through `esc`: customer names carry `&`, `<`,
quotes and Devanagari.
"""

from __future__ import annotations

import calendar
import html
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from itertools import islice
from typing import TYPE_CHECKING, Any

from pipelines.reconciliation.pack import FINANCE, OPERATIONS
from pipelines.reconciliation.report_style import CSS, SCRIPT

if TYPE_CHECKING:
    from pipelines.reconciliation.report import PairReport, ReportData, StockDrift

TABLE_HEADERS = ("Day", "Pair", "Category", "Owner", "Order", "Source", "Target",
                 "Source amount", "Target amount", "Difference", "Reason", "Explained")
DRIFT_BARS = 40  # the largest drifts are drawn; the exception table has every one
_HUNDREDTH = Decimal("0.01")


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def decimal_or_none(value: Any) -> Decimal | None:
    """A Decimal from a Decimal, int, float or numeric text; None for None, NaN and pandas' NA."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(repr(value))
    try:
        number = Decimal(value) if isinstance(value, Decimal | int | str) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return None if number.is_nan() else number


def number_text(value: Any, grouping: bool = False) -> str:
    """At least two decimals, more only when they carry something: 1250.5 -> 1250.50, 0.1234 stays."""
    number = decimal_or_none(value)
    if number is None:
        return ""
    rounded = number.quantize(_HUNDREDTH)
    shown = rounded if rounded == number else number.normalize()
    return format(shown, ",f" if grouping else "f")


def rupees(value: Any, currency: str = "₹") -> str:
    """An amount with its currency symbol (₹ unless told): -₹1,234.50; a dash when there is none."""
    number = decimal_or_none(value)
    if number is None:
        return "—"
    return f"{'-' if number < 0 else ''}{currency}{abs(number):,.2f}"


def count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def percent(rate: float | Decimal | None) -> str:
    """Rounded down, so 99.96% never shows as 100% while an order is unmatched."""
    if rate is None:
        return "—"
    return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.1'), rounding=ROUND_FLOOR)}%"


def render_html(data: ReportData, rows: Iterable[Sequence[Any]], n_rows: int, unexplained: int) -> str:
    """The page; `rows` are the exception rows in EXCEPTION_COLUMNS order, already sorted."""
    title = f"Reconciliation · {_month_name(data.month)}" + (f" · {data.company}" if data.company else "")
    parts = [f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
             f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
             _header(data, title), _summary(data, n_rows, unexplained), _totals(data.pairs),
             '<section id="charts">\n',
             _figure("Exceptions per day", _day_chart(data.month, data.per_day)),
             _figure("Exceptions per category", _category_chart(data.pairs))]
    for pair in data.pairs:
        if pair.drift_title:
            left, right = pair.sides
            caption = f"{pair.drift_title} ({right} − {left})" + (f" · {pair.label}" if len(data.pairs) > 1 else "")
            parts.append(_figure(caption, _drift_chart(pair)))
    parts.append("</section>\n")
    parts += _exception_table(rows, n_rows, data.month, {p.pair: p.label for p in data.pairs})
    parts.append(f"<script>{SCRIPT}</script>\n</body>\n</html>\n")
    return "".join(parts)


def _month_name(month: str) -> str:
    year, number = (int(p) for p in month.split("-"))
    return f"{calendar.month_name[number]} {year}"


def _header(data: ReportData, title: str) -> str:
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    days = ""
    if data.days_reconciled is not None:
        in_month = calendar.monthrange(*(int(p) for p in data.month.split("-")))[1]
        days = f" · {data.days_reconciled} of {in_month} days reconciled"
    pairs = " · ".join(p.label for p in data.pairs) or "no pair reconciled"
    return (f"<header><h1>{esc(title)}</h1>\n<p class=\"sub\">{esc(pairs)} · "
            f"generated {esc(generated)}{esc(days)}</p></header>\n")


def _summary(data: ReportData, n_rows: int, unexplained: int) -> str:
    cards = [_rate_card(pair, len(data.pairs) > 1) for pair in data.pairs if pair.match]
    owners = {FINANCE: 0, OPERATIONS: 0}
    for pair in data.pairs:
        for category, n in pair.per_category.items():
            owner = pair.categories.get(category, ("other", ""))[0]
            owners[owner] = owners.get(owner, 0) + int(n)
    split = " · ".join(f"{esc(owner)} {n:,}" for owner, n in sorted(owners.items()))
    return ('<section id="summary" class="cards">\n' + "".join(cards) +
            f'<div class="card"><div class="k">Exceptions</div><div class="v">{n_rows:,}</div>'
            f'<div class="n">{unexplained:,} unexplained</div></div>\n'
            f'<div class="card"><div class="k">By owner</div><div class="n owners">{split}</div></div>\n'
            "</section>\n")


def _rate_card(pair: PairReport, named: bool) -> str:
    matched, of = pair.totals.get(pair.match.matched), pair.totals.get(pair.match.of)
    text = f"{count(matched)} of {count(of)} {pair.match.noun} matched" if matched is not None else ""
    head = f"Match rate · {pair.label}" if named else "Match rate"
    return (f'<div class="card"><div class="k">{esc(head)}</div><div class="v match-rate" '
            f'id="match-rate-{esc(pair.pair)}">{percent(pair.match_rate)}</div>'
            f'<div class="n">{esc(text)}</div></div>\n')


def _totals(pairs: Sequence[PairReport]) -> str:
    out = ['<section id="totals"><h2>Totals per side</h2>\n']
    for pair in pairs:
        body = []
        for row in pair.total_rows:
            a, b = pair.totals.get(row.left), pair.totals.get(row.right)

            def fmt(value: Any, money: bool = row.money, currency: str = pair.currency) -> str:
                return rupees(value, currency) if money else count(value)

            diff = fmt(decimal_or_none(b) - decimal_or_none(a)) if a is not None and b is not None else "—"
            body.append(f"<tr><th>{esc(row.label)}</th><td>{fmt(a)}</td><td>{fmt(b)}</td><td>{diff}</td></tr>")
        left, right = (esc(side) for side in pair.sides)
        out.append(f'<h3>{esc(pair.label)}</h3>\n<table class="totals" data-pair="{esc(pair.pair)}"><thead><tr>'
                   f"<th></th><th>{left}</th><th>{right}</th><th>Difference ({right} − {left})</th></tr></thead>\n"
                   f"<tbody>{''.join(body)}</tbody></table>\n")
    return "".join(out) + "</section>\n"


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{esc(caption)}</figcaption>\n{svg}</figure>\n"


def _day_chart(month: str, per_day: dict[date, int]) -> str:
    year, number = (int(p) for p in month.split("-"))
    days = [date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)]
    top = max([int(per_day.get(d, 0)) for d in days] + [1])
    width, height, left, base, step = 760, 190, 44, 160, 22
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="exceptions per day">',
           f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" class="axis"/>',
           f'<text x="{left - 6}" y="16" class="tick end">{top:,}</text>',
           f'<text x="{left - 6}" y="{base}" class="tick end">0</text>']
    for i, day in enumerate(days):
        n, x = int(per_day.get(day, 0)), left + 6 + i * step
        bar = round(140 * n / top, 1)
        if n:
            out.append(f'<rect x="{x}" y="{base - bar}" width="{step - 6}" height="{bar}" class="bar">'
                       f"<title>{day.isoformat()}: {n:,} exception(s)</title></rect>")
        off = "" if day in per_day else " off"
        out.append(f'<text x="{x + (step - 6) / 2}" y="{base + 16}" class="tick mid{off}">{day.day}</text>')
    out.append("</svg>\n")
    if any(day not in per_day for day in days):
        out.append('<p class="note">Days in grey are not reconciled yet.</p>\n')
    return "".join(out)


def _category_chart(pairs: Sequence[PairReport]) -> str:
    bars = []  # (label, owner, meaning, n): every pair's categories, named after their pair when there are several
    for pair in pairs:
        for name in list(pair.categories) + sorted(set(pair.per_category) - set(pair.categories)):
            owner, meaning = pair.categories.get(name, ("other", ""))
            shown = f"{pair.pair} · {name}" if len(pairs) > 1 else name
            bars.append((shown, owner, meaning, int(pair.per_category.get(name, 0))))
    top = max([n for *_, n in bars] + [1])
    row, label, width = 22, 230 if len(pairs) < 2 else 330, 760
    out = [f'<svg class="chart" viewBox="0 0 {width} {row * len(bars) + 26}" role="img" '
           'aria-label="exceptions per category">']
    for i, (name, owner, meaning, n) in enumerate(bars):
        y, bar = 4 + i * row, round((width - label - 70) * n / top, 1)
        out.append(f'<g class="{"finance" if owner == FINANCE else "operations"}"><title>{esc(meaning)}</title>'
                   f'<text x="{label - 8}" y="{y + 15}" class="lbl end">{esc(name)}</text>'
                   f'<rect x="{label}" y="{y + 3}" width="{bar}" height="{row - 6}" class="bar"/>'
                   f'<text x="{label + bar + 6}" y="{y + 15}" class="lbl">{n:,}</text></g>')
    out.append(f'<text x="{width - 4}" y="{row * len(bars) + 22}" class="tick end">'
               '<tspan class="k-fin">■ finance</tspan> <tspan class="k-ops">■ operations</tspan></text></svg>\n')
    return "".join(out)


def _drift_chart(pair: PairReport) -> str:
    drift: Sequence[StockDrift] = pair.stock_drift
    left, right = pair.sides
    if not drift:
        return f'<p class="empty">No stock drift: {esc(right)} agrees with {esc(left)} for every item.</p>\n'
    shown = sorted(drift, key=lambda d: (-abs(d.difference), d.source_key))[:DRIFT_BARS]
    top = max(abs(d.difference) for d in shown) or Decimal(1)
    row, label, width = 22, 200, 760
    mid, half = label + (width - label) / 2, (width - label) / 2 - 70
    out = [f'<svg class="chart" viewBox="0 0 {width} {row * len(shown) + 8}" role="img" '
           f'aria-label="{esc(pair.drift_title)}"><line x1="{mid}" y1="0" x2="{mid}" y2="{row * len(shown) + 8}" '
           'class="axis"/>']
    for i, d in enumerate(shown):
        y, bar = 4 + i * row, round(half * float(abs(d.difference) / top), 1)
        x, cls, anchor = (mid, "pos", "") if d.difference > 0 else (mid - bar, "neg", " end")
        tx = mid + bar + 6 if d.difference > 0 else mid - bar - 6
        tip = f"{d.source_key} ({d.target_key or 'not matched'}): {right} {number_text(d.target_qty) or '—'}, " \
              f"{left} {number_text(d.source_qty) or '—'}"
        out.append(f'<g class="{cls}"><title>{esc(tip)}</title>'
                   f'<text x="{label - 8}" y="{y + 15}" class="lbl end">{esc(_clip(d.source_key))}</text>'
                   f'<rect x="{x}" y="{y + 3}" width="{bar}" height="{row - 6}" class="bar"/>'
                   f'<text x="{tx}" y="{y + 15}" class="lbl{anchor}">{number_text(d.difference, True)}</text></g>')
    out.append("</svg>\n")
    more = len(drift) - len(shown)
    return "".join(out) + (f'<p class="note">and {more:,} smaller drift(s) in the table below.</p>\n' if more else "")


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


MAX_HTML_ROWS = 20_000


def _exception_table(rows: Iterable[Sequence[Any]], n_rows: int, month: str, labels: dict[str, str]) -> list[str]:
    head = "".join(f"<th>{h}</th>" for h in TABLE_HEADERS)
    out = [f'<section id="exceptions"><h2>Exceptions ({n_rows:,})</h2>\n'
           '<div id="filters" hidden><input id="filter" type="search" placeholder="Filter rows…" '
           'aria-label="filter the exceptions"> <label><input id="unexplained" type="checkbox"> unexplained only'
           '</label> <span id="shown"></span></div>\n'
           f'<table id="exception-table"><thead><tr>{head}</tr></thead>\n<tbody>\n']
    if not n_rows:
        out.append(f'<tr><td colspan="{len(TABLE_HEADERS)}" class="empty">No exceptions in '
                   f"{esc(_month_name(month))}.</td></tr>\n")
    if n_rows > MAX_HTML_ROWS:  # a browser takes minutes over 100k rows; the CSV and .xlsx carry them all
        out.insert(1, f'<p class="note">The page shows the first {MAX_HTML_ROWS:,} of {n_rows:,} exceptions; '
                      "the CSV and the .xlsx next to it hold every one.</p>\n")
    for r in islice(rows, MAX_HTML_ROWS):
        day, pair, category, owner, order, s_sys, s_id, t_sys, t_id, s_amt, t_amt, diff, reason, explained, why = r[:15]
        mark = f"yes: {esc(why)}" if explained and why else ("yes" if explained else "no")
        out.append(f'<tr{"" if explained else " class=u"}><td>{esc(_day_text(day))}</td>'
                   f"<td>{esc(labels.get(pair, pair))}</td><td>{esc(category)}</td>"
                   f"<td>{esc(owner)}</td><td>{esc(order)}</td><td>{esc(_side(s_sys, s_id))}</td>"
                   f"<td>{esc(_side(t_sys, t_id))}</td><td>{number_text(s_amt, True)}</td>"
                   f"<td>{number_text(t_amt, True)}</td><td>{number_text(diff, True)}</td><td>{esc(reason)}</td>"
                   f"<td>{mark}</td></tr>\n")
    out.append("</tbody></table></section>\n")
    return out


def _day_text(day: Any) -> str:
    return day.strftime("%Y-%m-%d") if isinstance(day, date | datetime) else str(day)


def _side(system: Any, ident: Any) -> str:
    return " ".join(str(v) for v in (system, ident) if v is not None and v == v and str(v))


def as_date(value: Any) -> date | None:
    """A day from a date, a datetime (DuckDB hands timestamps back) or ISO text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])

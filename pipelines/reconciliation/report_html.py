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

from pipelines.reconciliation.tables import CATEGORIES, FINANCE, OPERATIONS

if TYPE_CHECKING:
    from pipelines.reconciliation.report import ReportData, StockDrift

TOTAL_ROWS = (  # label, ShipStation key, Tally key, money?
    ("Orders / order vouchers", "orders", "vouchers", False),
    ("Order amount", "order_total", "voucher_amount", True),
    ("Shipments / Delivery Notes", "shipments", "delivery_notes", False),
)
TABLE_HEADERS = ("Day", "Category", "Owner", "Order", "ShipStation / source", "Tally / target",
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


def rupees(value: Any) -> str:
    number = decimal_or_none(value)
    if number is None:
        return "—"
    return f"{'-' if number < 0 else ''}₹{abs(number):,.2f}"


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
             _header(data, title), _summary(data, n_rows, unexplained), _totals(data.totals),
             '<section id="charts">\n',
             _figure("Exceptions per day", _day_chart(data.month, data.per_day)),
             _figure("Exceptions per category", _category_chart(data.per_category)),
             _figure("Stock drift per SKU (TallyPrime − ShipStation)", _drift_chart(data.stock_drift)),
             "</section>\n"]
    parts += _exception_table(rows, n_rows, data.month)
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
    return (f"<header><h1>{esc(title)}</h1>\n<p class=\"sub\">ShipStation ↔ TallyPrime · "
            f"generated {esc(generated)}{esc(days)}</p></header>\n")


def _summary(data: ReportData, n_rows: int, unexplained: int) -> str:
    matched, orders = data.totals.get("matched"), data.totals.get("orders")
    of = f"{count(matched)} of {count(orders)} orders matched" if matched is not None else ""
    owners = {FINANCE: 0, OPERATIONS: 0}
    for category, n in data.per_category.items():
        owner = CATEGORIES.get(category, ("other", ""))[0]
        owners[owner] = owners.get(owner, 0) + int(n)
    split = " · ".join(f"{esc(owner)} {n:,}" for owner, n in sorted(owners.items()))
    return ('<section id="summary" class="cards">\n'
            f'<div class="card"><div class="k">Match rate</div><div class="v" id="match-rate">'
            f"{percent(data.match_rate)}</div><div class=\"n\">{esc(of)}</div></div>\n"
            f'<div class="card"><div class="k">Exceptions</div><div class="v">{n_rows:,}</div>'
            f'<div class="n">{unexplained:,} unexplained</div></div>\n'
            f'<div class="card"><div class="k">By owner</div><div class="n owners">{split}</div></div>\n'
            "</section>\n")


def _totals(totals: dict[str, Any]) -> str:
    body = []
    for label, left, right, money in TOTAL_ROWS:
        a, b = totals.get(left), totals.get(right)
        fmt = rupees if money else count
        diff = fmt(decimal_or_none(b) - decimal_or_none(a)) if a is not None and b is not None else "—"
        body.append(f"<tr><th>{esc(label)}</th><td>{fmt(a)}</td><td>{fmt(b)}</td><td>{diff}</td></tr>")
    return ('<section id="totals"><h2>Totals per side</h2>\n<table class="totals"><thead><tr><th></th>'
            "<th>ShipStation</th><th>TallyPrime</th><th>Difference (Tally − ShipStation)</th></tr></thead>\n"
            f"<tbody>{''.join(body)}</tbody></table></section>\n")


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


def _category_chart(per_category: dict[str, int]) -> str:
    names = list(CATEGORIES) + sorted(set(per_category) - set(CATEGORIES))
    top = max([int(per_category.get(c, 0)) for c in names] + [1])
    row, label, width = 22, 230, 760
    out = [f'<svg class="chart" viewBox="0 0 {width} {row * len(names) + 26}" role="img" '
           'aria-label="exceptions per category">']
    for i, name in enumerate(names):
        n, y = int(per_category.get(name, 0)), 4 + i * row
        owner, meaning = CATEGORIES.get(name, ("other", ""))
        bar = round((width - label - 70) * n / top, 1)
        out.append(f'<g class="{"finance" if owner == FINANCE else "operations"}"><title>{esc(meaning)}</title>'
                   f'<text x="{label - 8}" y="{y + 15}" class="lbl end">{esc(name)}</text>'
                   f'<rect x="{label}" y="{y + 3}" width="{bar}" height="{row - 6}" class="bar"/>'
                   f'<text x="{label + bar + 6}" y="{y + 15}" class="lbl">{n:,}</text></g>')
    out.append(f'<text x="{width - 4}" y="{row * len(names) + 22}" class="tick end">'
               '<tspan class="k-fin">■ finance</tspan> <tspan class="k-ops">■ operations</tspan></text></svg>\n')
    return "".join(out)


def _drift_chart(drift: Sequence[StockDrift]) -> str:
    if not drift:
        return '<p class="empty">No stock drift: Tally\'s closing stock agrees with ShipStation for every SKU.</p>\n'
    shown = sorted(drift, key=lambda d: (-abs(d.difference), d.sku))[:DRIFT_BARS]
    top = max(abs(d.difference) for d in shown) or Decimal(1)
    row, label, width = 22, 200, 760
    mid, half = label + (width - label) / 2, (width - label) / 2 - 70
    out = [f'<svg class="chart" viewBox="0 0 {width} {row * len(shown) + 8}" role="img" '
           f'aria-label="stock drift per SKU"><line x1="{mid}" y1="0" x2="{mid}" y2="{row * len(shown) + 8}" '
           'class="axis"/>']
    for i, d in enumerate(shown):
        y, bar = 4 + i * row, round(half * float(abs(d.difference) / top), 1)
        x, cls, anchor = (mid, "pos", "") if d.difference > 0 else (mid - bar, "neg", " end")
        tx = mid + bar + 6 if d.difference > 0 else mid - bar - 6
        tip = f"{d.sku} ({d.stock_item or 'no stock item'}): Tally {number_text(d.tally_qty) or '—'}, " \
              f"ShipStation {number_text(d.shipstation_qty) or '—'}"
        out.append(f'<g class="{cls}"><title>{esc(tip)}</title>'
                   f'<text x="{label - 8}" y="{y + 15}" class="lbl end">{esc(_clip(d.sku))}</text>'
                   f'<rect x="{x}" y="{y + 3}" width="{bar}" height="{row - 6}" class="bar"/>'
                   f'<text x="{tx}" y="{y + 15}" class="lbl{anchor}">{number_text(d.difference, True)}</text></g>')
    out.append("</svg>\n")
    more = len(drift) - len(shown)
    return "".join(out) + (f'<p class="note">and {more:,} smaller drift(s) in the table below.</p>\n' if more else "")


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


MAX_HTML_ROWS = 20_000


def _exception_table(rows: Iterable[Sequence[Any]], n_rows: int, month: str) -> list[str]:
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
        day, category, owner, order, s_sys, s_id, t_sys, t_id, s_amt, t_amt, diff, reason, explained, why = r[:14]
        mark = f"yes: {esc(why)}" if explained and why else ("yes" if explained else "no")
        out.append(f'<tr{"" if explained else " class=u"}><td>{esc(_day_text(day))}</td><td>{esc(category)}</td>'
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


CSS = """
:root{--fin:#3b5bdb;--ops:#e8590c;--ink:#1f2328;--mute:#59636e;--line:#d0d7de;--bad:#fff4e5}
*{box-sizing:border-box}body{margin:0 auto;max-width:1280px;padding:24px;color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Devanagari",sans-serif}
h1{font-size:24px;margin:0}h2{font-size:18px;margin:28px 0 10px}.sub,.note,.n{color:var(--mute)}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin-top:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:200px}
.k{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}.v{font-size:28px;font-weight:600}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:5px 8px;
text-align:left;vertical-align:top}thead th{position:sticky;top:0;background:#f6f8fa}
.totals{width:auto}.totals td{text-align:right;font-variant-numeric:tabular-nums;min-width:140px}
#exception-table td:nth-child(n+7):nth-child(-n+9){text-align:right;font-variant-numeric:tabular-nums}
#exception-table td:nth-child(-n+9){white-space:nowrap}#exception-table tr.u{background:var(--bad)}
td.empty{text-align:center;color:var(--mute)}
#charts{display:grid;grid-template-columns:1fr;gap:8px}figure{margin:16px 0 0}
figcaption{font-weight:600;margin-bottom:4px}.chart{width:100%;max-width:960px;height:auto}
.axis{stroke:#8c959f}.tick,.lbl{font-size:11px;fill:var(--ink)}.end{text-anchor:end}.mid{text-anchor:middle}.off{fill:#afb8c1}
.bar{fill:#6e7781}.finance .bar,.pos .bar{fill:var(--fin)}.operations .bar,.neg .bar{fill:var(--ops)}
.k-fin{fill:var(--fin)}.k-ops{fill:var(--ops)}#filters{margin:0 0 8px}#filter{width:320px;padding:4px 8px}
@media print{#filters{display:none}thead th{position:static}body{padding:0}}
"""

# Hides rows that do not contain the typed text; the table is complete without it.
SCRIPT = """
(function(){var f=document.getElementById('filters'),q=document.getElementById('filter'),
u=document.getElementById('unexplained'),s=document.getElementById('shown'),
rows=document.querySelectorAll('#exception-table tbody tr'),texts=null,t=null;
if(!rows.length||rows[0].querySelector('td.empty'))return;f.hidden=false;
function run(){texts=texts||Array.prototype.map.call(rows,function(r){return r.textContent.toLowerCase();});
var w=q.value.trim().toLowerCase(),n=0;for(var i=0;i<rows.length;i++){
var ok=(!w||texts[i].indexOf(w)>=0)&&(!u.checked||rows[i].className==='u');rows[i].hidden=!ok;if(ok)n++;}
s.textContent=n+' of '+rows.length+' shown';}
q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(run,150);});u.addEventListener('change',run);
})();
"""

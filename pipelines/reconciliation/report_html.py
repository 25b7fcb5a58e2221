"""The month's reconciliation as one self-contained HTML page: inline CSS, inline SVG charts, no URLs.

The page is built from Jinja2 templates (`templates/`, autoescaped: customer names carry `&`, `<`,
quotes and Devanagari); this module only works out what they show: formatted figures, chart
geometry, the rows. Everything is readable without JavaScript; a few lines of inline script only add
the filters (text, pair, category, owner, unexplained) to the exception table.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import jinja2

from pipelines.reconciliation.pack import FINANCE, OPERATIONS

if TYPE_CHECKING:
    from pipelines.reconciliation.report import PairReport, ReportData, StockDrift

TABLE_HEADERS = ("Day", "Pair", "Category", "Owner", "Order", "Source", "Target",
                 "Source amount", "Target amount", "Difference", "Reason", "Explained")
DRIFT_BARS = 40  # the largest drifts are drawn; the exception table has every one
_HUNDREDTH = Decimal("0.01")


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


MAX_HTML_ROWS = 20_000

_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("pipelines.reconciliation", "templates"),
                                autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)


def render_html(data: ReportData, rows: Iterable[Sequence[Any]]) -> str:
    """The page; `rows` are the exception rows in EXCEPTION_COLUMNS order, already sorted.

    Rows of a pack's notice categories (e.g. in transit at month-end) are listed apart and are not
    counted among the exceptions.
    """
    title = f"Reconciliation · {_month_name(data.month)}" + (f" · {data.company}" if data.company else "")
    labels = {p.pair: p.label for p in data.pairs}
    owners_of = {p.pair: p.categories for p in data.pairs}
    notice_kinds = {(p.pair, c) for p in data.pairs for c in p.notices}
    shown, notices, n_exceptions, unexplained = [], [], 0, 0
    for r in rows:
        if (r[1], r[2]) in notice_kinds:
            notices.append(_row(r, labels, owners_of))
            continue
        n_exceptions += 1
        unexplained += not r[13]
        if len(shown) < MAX_HTML_ROWS:
            shown.append(_row(r, labels, owners_of))
    figures = [{"kind": "days", "caption": "Exceptions per day", "chart": _day_chart(data.month, data.per_day)},
               {"kind": "categories", "caption": "Exceptions per category", "chart": _category_chart(data.pairs)}]
    for pair in data.pairs:
        if pair.drift_title:
            left, right = pair.sides
            caption = f"{pair.drift_title} ({right} − {left})" + (f" · {pair.label}" if len(data.pairs) > 1 else "")
            figures.append({"kind": "drift", "caption": caption, "chart": _drift_chart(pair)})
    return _TEMPLATES.get_template("report.html.j2").render(
        title=title, pairs_line=" · ".join(p.label for p in data.pairs) or "no pair reconciled",
        generated=data.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(), days_line=_days_line(data),
        rate_cards=[_rate_card(p, len(data.pairs) > 1) for p in data.pairs if p.match],
        n_rows=n_exceptions, unexplained=unexplained, owners=_owners(data.pairs), n_notices=len(notices),
        totals=[_totals(p) for p in data.pairs], figures=figures, notices=notices, shown_rows=shown,
        headers=TABLE_HEADERS, picks=_picks(shown, labels),
        empty=f"No exceptions in {_month_name(data.month)}." if not n_exceptions else "")


def _month_name(month: str) -> str:
    year, number = (int(p) for p in month.split("-"))
    return f"{calendar.month_name[number]} {year}"


def _days_line(data: ReportData) -> str:
    if data.days_reconciled is None:
        return ""
    in_month = calendar.monthrange(*(int(p) for p in data.month.split("-")))[1]
    return f" · {data.days_reconciled} of {in_month} days reconciled"


def _owners(pairs: Sequence[PairReport]) -> str:
    owners = {FINANCE: 0, OPERATIONS: 0}
    for pair in pairs:
        for category, n in pair.per_category.items():
            if category in pair.notices:
                continue
            owner = pair.categories.get(category, ("other", ""))[0]
            owners[owner] = owners.get(owner, 0) + int(n)
    return " · ".join(f"{owner} {n:,}" for owner, n in sorted(owners.items()))


def _rate_card(pair: PairReport, named: bool) -> dict[str, str]:
    matched, of = pair.totals.get(pair.match.matched), pair.totals.get(pair.match.of)
    text = f"{count(matched)} of {count(of)} {pair.match.noun} matched" if matched is not None else ""
    return {"head": f"Match rate · {pair.label}" if named else "Match rate", "pair": pair.pair,
            "rate": percent(pair.match_rate), "text": text}


def _totals(pair: PairReport) -> dict[str, Any]:
    rows = []
    for row in pair.total_rows:
        a, b = pair.totals.get(row.left), pair.totals.get(row.right)

        def fmt(value: Any, money: bool = row.money) -> str:
            return rupees(value, pair.currency) if money else count(value)

        difference = decimal_or_none(b) - decimal_or_none(a) if a is not None and b is not None else None
        rows.append({"label": row.label, "a": fmt(a), "b": fmt(b),
                     "diff": "—" if difference is None else fmt(difference), "why": _why(pair, row, difference)})
    left, right = pair.sides
    return {"label": pair.label, "pair": pair.pair, "left": left, "right": right, "rows": rows}


def _why(pair: PairReport, row: Any, difference: Decimal | None) -> str:
    """The difference of a totals row in words: its known causes (the row's `because` measures), then the rest."""
    if not difference:
        return "" if difference is None else "the sides agree"
    known = [(int(pair.totals.get(measure) or 0), words) for measure, words in row.because]
    parts = [f"{n:,} {words}" for n, words in known if n]
    rest = abs(difference) - sum(n for n, _ in known)
    if rest > 0:
        parts.append(f"{count(rest) if not row.money else rupees(rest, pair.currency)} "
                     + ("not explained by these: see the exceptions below" if row.because
                        else "see the exceptions below"))
    return "; ".join(parts)


def _row(r: Sequence[Any], labels: dict[str, str], owners_of: dict[str, Any]) -> dict[str, Any]:
    day, pair, category, owner, order, s_sys, s_id, t_sys, t_id, s_amt, t_amt, diff, reason, explained, why = r[:15]
    mark = f"yes: {why}" if explained and why else ("yes" if explained else "no")
    return {"day": _day_text(day), "pair": pair, "pair_label": labels.get(pair, pair), "category": category,
            "owner": owner or owners_of.get(pair, {}).get(category, ("", ""))[0], "order": order or "",
            "source": _side(s_sys, s_id), "target": _side(t_sys, t_id), "source_amount": number_text(s_amt, True),
            "target_amount": number_text(t_amt, True), "difference": number_text(diff, True),
            "reason": reason or "", "explained": bool(explained), "mark": mark}


def _picks(rows: Sequence[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The filter boxes: pair (when there are several), category and owner, offering only values present."""
    def options(key: str, text: Any = None) -> list[tuple[str, str]]:
        values = sorted({r[key] for r in rows if r[key]})
        return [(v, text(v) if text else v) for v in values]

    picks = [{"name": "category", "label": "Category", "options": options("category")},
             {"name": "owner", "label": "Owner", "options": options("owner")}]
    if len(labels) > 1:
        picks.insert(0, {"name": "pair", "label": "Pair", "options": options("pair", lambda p: labels.get(p, p))})
    return picks


def _day_chart(month: str, per_day: dict[date, int]) -> dict[str, Any]:
    year, number = (int(p) for p in month.split("-"))
    days = [date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)]
    top = max([int(per_day.get(d, 0)) for d in days] + [1])
    left, step = 44, 22
    return {"width": 760, "height": 190, "left": left, "base": 160, "step": step, "top": top,
            "some_off": any(day not in per_day for day in days),
            "days": [{"x": left + 6 + i * step, "n": int(per_day.get(day, 0)), "day": day.day, "iso": day.isoformat(),
                      "bar": round(140 * int(per_day.get(day, 0)) / top, 1), "off": day not in per_day}
                     for i, day in enumerate(days)]}


def _category_chart(pairs: Sequence[PairReport]) -> dict[str, Any]:
    bars = []  # every pair's categories, named after their pair when there are several; notices are not drawn
    for pair in pairs:
        for name in list(pair.categories) + sorted(set(pair.per_category) - set(pair.categories)):
            if name in pair.notices:
                continue
            owner, meaning = pair.categories.get(name, ("other", ""))
            bars.append({"name": f"{pair.pair} · {name}" if len(pairs) > 1 else name, "meaning": meaning,
                         "owner_class": "finance" if owner == FINANCE else "operations",
                         "n": int(pair.per_category.get(name, 0))})
    top = max([b["n"] for b in bars] + [1])
    row, label, width = 22, 230 if len(pairs) < 2 else 330, 760
    for i, bar in enumerate(bars):
        bar |= {"y": 4 + i * row, "bar": round((width - label - 70) * bar["n"] / top, 1)}
    return {"width": width, "height": row * len(bars) + 26, "row": row, "label": label, "bars": bars}


def _drift_chart(pair: PairReport) -> dict[str, Any]:
    drift: Sequence[StockDrift] = pair.stock_drift
    left, right = pair.sides
    shown = sorted(drift, key=lambda d: (-abs(d.difference), d.source_key))[:DRIFT_BARS]
    top = max([abs(d.difference) for d in shown], default=Decimal(1)) or Decimal(1)
    row, label, width = 22, 200, 760
    mid, half = label + (width - label) / 2, (width - label) / 2 - 70
    bars = []
    for i, d in enumerate(shown):
        y, bar = 4 + i * row, round(half * float(abs(d.difference) / top), 1)
        positive = d.difference > 0
        bars.append({"y": y, "bar": bar, "x": mid if positive else mid - bar, "cls": "pos" if positive else "neg",
                     "anchor": "" if positive else " end", "tx": mid + bar + 6 if positive else mid - bar - 6,
                     "name": _clip(d.source_key), "text": number_text(d.difference, True),
                     "tip": f"{d.source_key} ({d.target_key or 'not matched'}): {right} "
                            f"{number_text(d.target_qty) or '—'}, {left} {number_text(d.source_qty) or '—'}"})
    return {"width": width, "height": row * len(shown) + 8, "row": row, "label": label, "mid": mid, "bars": bars,
            "left": left, "right": right, "title": pair.drift_title or "", "more": len(drift) - len(shown)}


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


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

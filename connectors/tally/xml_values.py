"""Formatting and parsing of Tally's scalar values: amounts, quantities, rates, dates, logicals.

Reference §7 "Numbers and dates": amounts are plain decimals (minus = debit), quantities
" 5 Nos", rates "100.00/Nos", dates yyyymmdd, logicals Yes/No. Exports add leading spaces
(" 441") and TDL-formatted values may render negatives as "(-)".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

_CENT = Decimal("0.01")
_SHORT = 20  # characters of an amount whose quantize to the cent cannot exceed Decimal's 28 digits
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # nothing for _clean_number to do, and Decimal() takes it
_QUANTITY = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(.*)$")


def fmt_amount(value: Decimal) -> str:
    """Format an amount with exactly two decimals ("-500.00")."""
    text = str(value)
    if _at_cents(text):
        return text
    return f"{value.quantize(_CENT):f}"


def _at_cents(text: str) -> bool:
    """Whether `str()` of a Decimal is plain with two places (str writes no exponent then): what quantize to the
    cent and :f would write, where the value is short enough for quantize never to run out of digits."""
    return len(text) <= _SHORT and text[-3:-2] == "."


def _plain(value: Decimal) -> str:
    text = str(value)
    if len(text) <= _SHORT and text.isdigit():
        return text  # a whole number with no exponent, as normalize and :f would write it
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def fmt_quantity(value: Decimal, unit: str) -> str:
    """Format a quantity as Tally writes it: leading space, number, unit (" 5 Nos")."""
    return f" {_plain(value)} {unit}"


def fmt_rate(value: Decimal, unit: str) -> str:
    """Format a rate with at least two decimals ("100.00/Nos"; "33.333/Nos" keeps its precision)."""
    number = str(value)
    if not _at_cents(number):
        number = fmt_amount(value) if value == value.quantize(_CENT) else _plain(value)
    return f"{number}/{unit}"


def fmt_date(value: date) -> str:
    """Format a date as yyyymmdd (reference §5: other formats fail on TallyPrime 6.1)."""
    if value.year >= 1000:  # four digits: what strftime writes, for a fifth of its cost
        return f"{value.year}{value.month:02d}{value.day:02d}"
    return value.strftime("%Y%m%d")


def fmt_bool(value: bool) -> str:
    """Format a logical as Yes/No."""
    return "Yes" if value else "No"


def _clean_number(text: str) -> str:
    cleaned = text.strip().replace(",", "")
    if cleaned.startswith("(-)"):
        cleaned = "-" + cleaned[3:].strip()
    return cleaned


def parse_decimal(text: str | None) -> Decimal | None:
    """Parse " 441", "-500.00" or "(-)500.00"; empty means absent."""
    if text is not None and _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)  # what the cleaning below would keep as it is ("-500.00", most amounts)
    return _parse_number(text)


def _parse_number(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    cleaned = _clean_number(text)
    if "=" in cleaned:  # forex form "$ 10.00 @ ₹ 83.00/$ = ₹ 830.00": keep the base-currency part
        cleaned = re.sub(r"[^\d.\-]", "", cleaned.rsplit("=", 1)[1])
    if not _NUMBER.match(cleaned):
        raise ValueError(f"not a Tally number: {text!r}")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"not a Tally number: {text!r}") from exc


def parse_int(text: str | None) -> int | None:
    """Parse an id such as " 441"."""
    if text is not None:
        digits = text.strip()
        if digits.isascii() and digits.isdigit():
            return int(digits)  # what parse_decimal and int() would make of it, for a tenth of the cost
    value = parse_decimal(text)
    return None if value is None else int(value)


def parse_bool(text: str | None) -> bool:
    """Parse Yes/No (anything else, including empty, is False)."""
    return (text or "").strip().lower() in ("yes", "true", "1")


def parse_date(text: str | None) -> date | None:
    """Parse yyyymmdd, or the "1-Apr-25" / "1-Apr-2025" form of formatted fields."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip()
    for pattern in ("%Y%m%d", "%d-%b-%y", "%d-%b-%Y"):
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a Tally date: {text!r}")


def parse_quantity(text: str | None) -> tuple[Decimal, str] | None:
    """Parse " 5 Nos" into (5, "Nos"). Compound units (" 1 Box 5 Nos") are refused, not guessed."""
    if text is None or not text.strip():
        return None
    cleaned = _clean_number(text).split("=", 1)[0].strip()  # " 5 Nos = 10 Kgs": base unit first
    match = _QUANTITY.match(cleaned)
    if not match or re.search(r"\d", match.group(2)):
        raise ValueError(f"unsupported Tally quantity: {text!r}")
    return Decimal(match.group(1)), match.group(2).strip()


def parse_rate(text: str | None) -> tuple[Decimal, str] | None:
    """Parse "100.00/Nos" into (100.00, "Nos")."""
    if text is None or not text.strip():
        return None
    number, _, unit = text.partition("/")
    value = parse_decimal(number)
    if value is None:
        raise ValueError(f"not a Tally rate: {text!r}")
    return value, unit.strip()

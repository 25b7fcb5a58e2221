"""Tally's textual value formats: amounts, quantities (" 5 Nos"), rates ("100.00/Nos"), dates, logicals."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

_NUMBER = r"[+-]?\d+(?:\.\d+)?"
_AMOUNT = re.compile(rf"^\s*({_NUMBER})\s*$")
_QTY = re.compile(rf"^\s*({_NUMBER})(?:\s+(\S(?:.*\S)?))?\s*$")
_RATE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*(\S(?:.*\S)?))?\s*$")
_YMD = re.compile(r"^\d{8}$")
_TEXT_DATE_FORMATS = ("%d-%b-%Y", "%d-%b-%y", "%d-%m-%Y", "%d/%m/%Y")
CENT = Decimal("0.01")


@lru_cache(maxsize=1 << 14)  # the same amounts recur across an import's lines and vouchers
def parse_amount(raw: str) -> Decimal:
    match = _AMOUNT.match(raw)
    if not match:
        raise ValueError(f"'{raw}' is not an amount")
    return Decimal(match.group(1))


@lru_cache(maxsize=4096)  # an import reads the same few quantities (" 2 Nos") four times a stock line
def parse_quantity(raw: str) -> tuple[Decimal, str]:
    """" 5 Nos" -> (5, "Nos"); the unit may be missing."""
    match = _QTY.match(raw)
    if not match:
        raise ValueError(f"'{raw}' is not a quantity")
    return Decimal(match.group(1)), match.group(2) or ""


@lru_cache(maxsize=4096)
def parse_rate(raw: str) -> tuple[Decimal, str]:
    """"100.00/Nos" -> (100.00, "Nos")."""
    match = _RATE.match(raw)
    if not match:
        raise ValueError(f"'{raw}' is not a rate")
    return Decimal(match.group(1)), match.group(2) or ""


@lru_cache(maxsize=4096)  # vouchers share their dates, and strptime is the slowest step of reading one
def parse_ymd(raw: str) -> date | None:
    """A voucher DATE: exactly yyyymmdd (TallyPrime 6.1 refuses other forms, reference §5)."""
    raw = raw.strip()
    if not _YMD.match(raw):
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        return None


def parse_any_date(raw: str) -> date | None:
    """yyyymmdd or the text forms seen in working code (1-Apr-2025, 01-04-2025) (reference §6)."""
    found = parse_ymd(raw)
    if found is not None:
        return found
    for fmt in _TEXT_DATE_FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None


def is_yes(raw: str) -> bool:
    if raw == "Yes" or raw == "No":  # as nearly every client writes them
        return raw == "Yes"
    return raw.strip().lower() == "yes"


def round_qty(qty: Decimal, places: int) -> Decimal:
    quantum = _QUANTA.get(places)
    if quantum is None:
        quantum = _QUANTA[places] = Decimal(1).scaleb(-places)
    return qty.quantize(quantum, ROUND_HALF_UP)  # rounding given by position: as keyword it is parsed slowly


_QUANTA: dict[int, Decimal] = {}


def fmt_amount(amount: Decimal) -> str:
    # An export writes the same few prices, charges and totals over and over: each is written once. Equal
    # non-zero values are written alike (the quantum fixes the digits); zeros are not kept, as -0 equals 0.
    shown = _AMOUNTS.get(amount) if amount else None
    if shown is None:
        shown = str(amount.quantize(CENT, ROUND_HALF_UP))
        if amount and len(_AMOUNTS) < _KEPT:
            _AMOUNTS[amount] = shown
    return shown


def fmt_quantity(qty: Decimal, unit: str, places: int = 0) -> str:
    key = (qty, unit, places)
    shown = _QUANTITIES.get(key) if qty else None  # as fmt_amount's
    if shown is None:
        rounded = str(round_qty(qty, places))
        shown = f" {rounded} {unit}" if unit else f" {rounded}"
        if qty and len(_QUANTITIES) < _KEPT:
            _QUANTITIES[key] = shown
    return shown


_KEPT = 1 << 14  # texts kept at most per table: they stop growing there
_AMOUNTS: dict[Decimal, str] = {}
_QUANTITIES: dict[tuple[Decimal, str, int], str] = {}


def fmt_rate(rate: Decimal, unit: str) -> str:
    return f"{fmt_amount(rate)}/{unit}" if unit else fmt_amount(rate)


def fmt_number(n: int) -> str:
    """Numbers come back padded with one space (" 441", reference §6)."""
    return f" {n}"


@lru_cache(maxsize=4096)  # an export writes each voucher's date, and vouchers share their dates
def fmt_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def human_date(day: date) -> str:
    return f"{day.day}-{day.strftime('%b-%Y')}"


def fmt_logical(flag: bool) -> str:
    return "Yes" if flag else "No"

"""Build collection export requests with inline TDL (reference §6).

Formulas are restricted to a tiny grammar so no caller text can smuggle TDL into a request:
`$Field op value` (op one of = > >= < <= <>; value a number, a quoted string or
`$$Date:"yyyymmdd"`) and `NOT $Field`, joined by AND / OR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from connectors.tally.settings import EXPORT_FORMAT
from connectors.tally.xml_build import envelope, sub, to_text
from connectors.tally.xml_values import fmt_date

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9 ]*$")
_FIELD = r"\$[A-Za-z][A-Za-z0-9]*"
_VALUE = r'(?:-?\d+(?:\.\d+)?|"[^"$#@\n\r]*"|\$\$Date:"\d{8}")'
_TERM = rf"(?:NOT\s+{_FIELD}|{_FIELD}\s*(?:>=|<=|<>|=|>|<)\s*{_VALUE})"
_FORMULA = re.compile(rf"^\s*{_TERM}(?:\s+(?:AND|OR)\s+{_TERM})*\s*$")
_OPERATORS = ("=", ">", ">=", "<", "<=", "<>")

LEDGER_FETCH = ["Name", "Parent", "LanguageName", "Guid", "MasterId", "AlterId"]
LEDGER_BALANCE_FETCH = ["OpeningBalance", "ClosingBalance"]
STOCK_ITEM_FETCH = [
    "Name", "Parent", "BaseUnits", "LanguageName", "ClosingBalance", "ClosingValue",
    "Guid", "MasterId", "AlterId",
]
VOUCHER_FETCH = [
    "Date", "VoucherTypeName", "VoucherNumber", "Reference", "PartyLedgerName", "Narration",
    "GUID", "MasterId", "AlterId", "IsCancelled", "AllLedgerEntries", "AllInventoryEntries",
]
# Reference §6: a cut FETCH list is the cheapest export; these are all `VoucherId` reads.
VOUCHER_ID_FETCH = ["Date", "VoucherTypeName", "VoucherNumber", "Narration", "MasterId", "AlterId", "IsCancelled"]
# `VoucherAmounts` reads: the identity, the party and the lines (fetched lists come whole, reference §6).
VOUCHER_AMOUNT_FETCH = [*VOUCHER_ID_FETCH, "PartyLedgerName", "AllLedgerEntries", "AllInventoryEntries"]
COMPANY_FETCH = ["Name", "Guid", "BooksFrom", "LastVoucherDate", "AltMstId", "AltVchId"]


def validate_formula(formula: str) -> str:
    """Return `formula` if it fits the restricted grammar, else raise ValueError."""
    if not _FORMULA.match(formula):
        raise ValueError(f"formula outside the allowed grammar: {formula!r}")
    return formula


def tdl_value(value: int | Decimal | str | date) -> str:
    """Render a Python value as a TDL literal allowed by the formula grammar."""
    if isinstance(value, bool):
        raise ValueError("use NOT $Field / $Field for logicals")
    if isinstance(value, date):
        return f'$$Date:"{fmt_date(value)}"'
    if isinstance(value, int | Decimal):
        return str(value)
    if re.search(r'["$#@\n\r]', value):
        raise ValueError(f"string cannot be used in a TDL formula: {value!r}")
    return f'"{value}"'


def compare(field: str, op: str, value: int | Decimal | str | date) -> str:
    """One `$Field op value` term, validated."""
    if op not in _OPERATORS or not _IDENT.match(field):
        raise ValueError(f"bad comparison {field!r} {op!r}")
    return validate_formula(f"${field} {op} {tdl_value(value)}")


def all_of(*terms: str) -> str:
    """Join validated terms with AND."""
    return validate_formula(" AND ".join(terms))


def collection_request(
    company: str | None,
    name: str,
    type_: str,
    fetch: Sequence[str],
    filters: Mapping[str, str] | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> str:
    """An Export/Collection request defining collection `name` of `type_` in inline TDL."""
    if not _IDENT.match(name) or not _TYPE.match(type_):
        raise ValueError(f"bad collection name or type: {name!r} {type_!r}")
    bad = [f for f in [*fetch, *(filters or {})] if not _IDENT.match(f)]
    if bad:
        raise ValueError(f"bad field or filter names: {bad}")
    root, desc = envelope("Export", "Collection", name, company)
    static = desc.find("STATICVARIABLES")
    sub(static, "SVEXPORTFORMAT", EXPORT_FORMAT)
    if from_date is not None:
        sub(static, "SVFROMDATE", fmt_date(from_date), TYPE="Date")
    if to_date is not None:
        sub(static, "SVTODATE", fmt_date(to_date), TYPE="Date")
    tdl = sub(sub(desc, "TDL"), "TDLMESSAGE")
    collection = sub(tdl, "COLLECTION", NAME=name)
    sub(collection, "TYPE", type_)
    sub(collection, "FETCH", ",".join(fetch))
    if filters:
        sub(collection, "FILTER", ",".join(filters))
        for filter_name, formula in filters.items():
            sub(tdl, "SYSTEM", validate_formula(formula), TYPE="Formulae", NAME=filter_name)
    return to_text(root)


def ledgers_request(company: str, *, with_balances: bool = False) -> str:
    """All ledgers. Balances are opt-in: computing them over many ledgers is heavy for Tally."""
    fetch = LEDGER_FETCH + (LEDGER_BALANCE_FETCH if with_balances else [])
    return collection_request(company, "MLLedgers", "Ledger", fetch)


def stock_items_request(company: str, from_date: date | None = None, to_date: date | None = None) -> str:
    """All stock items with closing balance/value for the period (reference §6)."""
    return collection_request(company, "MLStockItems", "StockItem", STOCK_ITEM_FETCH,
                              from_date=from_date, to_date=to_date)


def vouchers_request(
    company: str,
    voucher_type: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
    *,
    master_id: int | None = None,
    alter_id_after: int | None = None,
    period: tuple[date, date] | None = None,
) -> str:
    """Vouchers filtered by type, date range, MasterId or AlterId cursor.

    `period` sets SVFROMDATE/SVTODATE (defaults to the date range): voucher collections
    are evaluated for the report period, so a lookup without dates needs the books' span.
    """
    filters = _voucher_filters(voucher_type, from_date, to_date, master_id, alter_id_after)
    start, end = period or (from_date, to_date)
    return collection_request(company, "MLVouchers", "Voucher", VOUCHER_FETCH, filters or None, start, end)


def voucher_ids_request(
    company: str,
    voucher_type: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
    *,
    alter_id_after: int | None = None,
    period: tuple[date, date] | None = None,
    amounts: bool = False,
) -> str:
    """As `vouchers_request`, fetching only the `VoucherId` fields (no lines, party or GUID), or with
    `amounts` the `VoucherAmounts` ones (party and lines, no GUID or reference)."""
    filters = _voucher_filters(voucher_type, from_date, to_date, None, alter_id_after)
    start, end = period or (from_date, to_date)
    name, fetch = ("MLVoucherAmounts", VOUCHER_AMOUNT_FETCH) if amounts else ("MLVoucherIds", VOUCHER_ID_FETCH)
    return collection_request(company, name, "Voucher", fetch, filters or None, start, end)


def _voucher_filters(voucher_type: str | None, from_date: date | None, to_date: date | None,
                     master_id: int | None, alter_id_after: int | None) -> dict[str, str]:
    filters: dict[str, str] = {}
    if voucher_type is not None:
        filters["mlType"] = compare("VoucherTypeName", "=", voucher_type)
    if from_date is not None:
        filters["mlFrom"] = compare("Date", ">=", from_date)
    if to_date is not None:
        filters["mlTo"] = compare("Date", "<=", to_date)
    if master_id is not None:
        filters["mlMasterId"] = compare("MasterId", "=", master_id)
    if alter_id_after is not None:
        filters["mlAlterId"] = compare("AlterId", ">", alter_id_after)
    return filters


def company_request() -> str:
    """Loaded companies with their alteration cursors; names no company, so it works before one is known."""
    return collection_request(None, "MLCompanies", "Company", COMPANY_FETCH)

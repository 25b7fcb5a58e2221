"""The simulated Tally process: companies on disk, which are loaded, and request statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .company import Company
from .model import (
    COSTCENTRE,
    DEFAULT_GODOWN,
    DEFAULT_VOUCHER_TYPES,
    GODOWN,
    GROUP,
    LEDGER,
    STOCKGROUP,
    STOCKITEM,
    UNIT,
)
from .prices import FULL_PRICE, STANDARD_COST, STANDARD_PRICE, from_spec, levels_from_spec
from .replies import Rejected


class TallyState:
    """Companies by exact name; `loaded` keeps load order and the last loaded one is active."""

    def __init__(self) -> None:
        self.companies: dict[str, Company] = {}
        self.loaded: list[str] = []
        self.stats: Counter[str] = Counter()
        self.logins: dict[str, tuple[str, str]] = {}  # company -> (user name, password): see security.py

    def protect(self, name: str, username: str, password: str) -> None:
        """Give company `name` a login (an empty user name removes it)."""
        if name not in self.companies:
            raise KeyError(name)
        if username:
            self.logins[name] = (username, password)
        else:
            self.logins.pop(name, None)

    def add_company(self, company: Company, *, load: bool = True) -> Company:
        self.companies[company.name] = company
        if load:
            self.load(company.name)
        return company

    def load(self, name: str) -> None:
        if name not in self.companies:
            raise KeyError(name)
        if name in self.loaded:
            self.loaded.remove(name)
        self.loaded.append(name)

    def unload(self, name: str) -> None:
        if name in self.loaded:
            self.loaded.remove(name)

    @property
    def active(self) -> Company | None:
        """The company Tally uses when a request names none (##SVCurrentCompany)."""
        return self.companies[self.loaded[-1]] if self.loaded else None

    def loaded_company(self, name: str) -> Company | None:
        """A loaded company by exact name (case- and whitespace-sensitive, reference §9.3)."""
        return self.companies[name] if name in self.loaded else None

    @classmethod
    def from_masters(cls, spec: Mapping[str, Any], *, loaded: bool = True) -> TallyState:
        """A state holding one company built from the plain master spec (see module docstring)."""
        state = cls()
        state.add_company(company_from_masters(spec), load=loaded)
        return state


def company_from_masters(spec: Mapping[str, Any]) -> Company:
    """Build a company: predefined chart first, then the spec's masters in dependency order."""
    books_from = date.fromisoformat(str(spec["books_from"]))
    company = Company.create(spec["company"], books_from, _voucher_types(spec.get("voucher_types")))
    company.price_levels = list(spec.get("price_levels", ()))
    for group in spec.get("groups", ()):
        _add(company, GROUP, group, parent=group.get("parent", ""))
    for ledger in spec.get("ledgers", ()):
        _add(company, LEDGER, ledger, parent=ledger["parent"],
             opening_balance=Decimal(str(ledger.get("opening_balance", 0))))
    for unit in spec.get("units", ()):
        _add(company, UNIT, unit, decimal_places=int(unit.get("decimal_places", 0)))
    for godown in spec.get("godowns", ()):
        if godown["name"] != DEFAULT_GODOWN:
            _add(company, GODOWN, godown, parent=godown.get("parent", ""))
    for centre in spec.get("cost_centres", ()):
        _add(company, COSTCENTRE, centre, parent=centre.get("parent", ""))
    for group in spec.get("stock_groups", ()):
        _add(company, STOCKGROUP, group, parent=group.get("parent", ""))
    for item in spec.get("stock_items", ()):
        _add(company, STOCKITEM, item, parent=item.get("parent", ""), base_unit=item.get("unit", ""),
             opening_qty=Decimal(str(item.get("opening_qty", 0))),
             opening_rate=_decimal_or_none(item.get("opening_rate")), prices=_item_prices(item, company))
    return company


def _item_prices(item: Mapping[str, Any], company: Company) -> dict[str, list[Any]]:
    """``standard_prices`` / ``standard_costs`` ``[{"date", "rate"}]`` and ``price_levels``
    ``[{"date", "level", "rate", "discount"?}]`` of one spec item (see prices.py)."""
    try:
        return {STANDARD_PRICE: from_spec(item.get("standard_prices")),
                STANDARD_COST: from_spec(item.get("standard_costs")),
                FULL_PRICE: levels_from_spec(item.get("price_levels"), company.price_levels)}
    except Rejected as exc:
        raise ValueError(f"{item['name']!r}: {exc.message}") from None


_PARENT_KIND = {GROUP: GROUP, LEDGER: GROUP, STOCKGROUP: STOCKGROUP, STOCKITEM: STOCKGROUP, GODOWN: GODOWN,
                COSTCENTRE: COSTCENTRE}


def _add(company: Company, kind: str, entry: Mapping[str, Any], **values: Any) -> None:
    name = entry["name"]
    if company.taken(kind, name) is not None:
        raise ValueError(f"duplicate master name {name!r}")
    parent = values.get("parent", "")
    if parent and company.master(_PARENT_KIND[kind], parent) is None:
        raise ValueError(f"{name!r}: parent {parent!r} does not exist")
    if values.get("base_unit") and company.master(UNIT, values["base_unit"]) is None:
        raise ValueError(f"{name!r}: unit {values['base_unit']!r} does not exist")
    company.add_master(kind, name, aliases=list(entry.get("aliases", ())), **values)


def _voucher_types(entries: Any) -> list[str | tuple[str, str]] | None:
    """Standard names as given; a custom type needs {"name": ..., "parent": <standard type>}."""
    if entries is None:
        return None
    result: list[str | tuple[str, str]] = []
    for entry in entries:
        if isinstance(entry, str):
            if entry not in DEFAULT_VOUCHER_TYPES:
                raise ValueError(f"custom voucher type {entry!r} needs a dict with a parent")
            result.append(entry)
        else:
            result.append((entry["name"], entry["parent"]))
    # Custom types descend from a standard type, which must exist even when not listed.
    listed = {e if isinstance(e, str) else e[0] for e in result}
    for entry in list(result):
        if isinstance(entry, tuple) and entry[1] not in listed:
            result.insert(0, entry[1])
            listed.add(entry[1])
    return result


def _decimal_or_none(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))

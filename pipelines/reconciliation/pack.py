"""A rule pack: everything the reconciliation engine needs to know about one pair of systems.

The engine (engine.py, rollup.py), the report and the Dagster assets know no system: a flow hands
them one `RulePack` per pair it reconciles (`pipelines/<flow>/recon/`), and one month report covers
every pair. A pack holds SQL only; the engine runs it, set-based, in DuckDB:

- `snapshots`: its own snapshot tables, name -> column DDL; each has `day DATE` and is owned by
  this pack alone (two packs may not declare one table: their snapshot assets would replace each
  other's days). Name them `recon_<something>_...`, e.g. `recon_wt_orders` for Walmart ↔ Tally.
- `macros`, `scope`: statements that build the day's working set (TEMP tables, views and macros named
  `_r_...`, dropped after the pack's day); `$day`, `$now`, `$timezone`, `$pair` and `params` are bound.
- `rules`: statements inserting rows BY NAME into `_r_exc` (see engine.EXCEPTIONS_TABLE), one
  category each; `categories` gives every category its owner and meaning.
- A pack whose statements use `$first` and `$last` instead of `$day` is *ranged*: the engine runs it
  once for a run of consecutive days (`$first` to `$last`, also in `_r_days`), each rule setting
  `day` on its rows, and must give each day what it would give that day alone. Its measures are
  still run a day at a time, with `$day` and `getvariable('recon_day')` that day, and see every
  day's `_r_exc`.
- `ledger_flows`: the sync-ledger flows that belong to the pair; its statements see only their
  entries, as `_r_ledger`. `ledger_rules` are rules over them (failed, stuck records).
- `measures`: what the day counted on both sides (scalar SQL over the working set and `_r_exc`),
  stored per day and summed for the month; `total_rows` lay them out in the report's totals table,
  `match` names the measures of the match rate, `drift` a category drawn as a drift chart.
- `snapshot_assets`: builds the pair's snapshot assets for `(start, timezone)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

FINANCE, OPERATIONS = "finance", "operations"


@dataclass(frozen=True)
class Measure:
    """A count or amount of one reconciled day: `sql` is a scalar query over the day's working set."""

    key: str
    sql: str
    money: bool = False


@dataclass(frozen=True)
class TotalRow:
    """One line of the report's totals: measure `left` (first side) against `right` (second side)."""

    label: str
    left: str
    right: str
    money: bool = False
    # (measure, words): the known causes of a difference between the sides, e.g. ("orders_cancelled",
    # "cancelled before posting"); the report says each beside the row, and what is left over.
    because: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Match:
    """The match rate: measure `matched` of measure `of`, counted in `noun` (e.g. 9 of 10 orders)."""

    matched: str
    of: str
    noun: str


@dataclass(frozen=True)
class Drift:
    """A category whose rows are drawn as a drift chart: the month's last day on which measure `checked` is 1."""

    category: str
    checked: str
    title: str


@dataclass(frozen=True)
class RulePack:
    """One pair of systems to reconcile (see the module docstring for each part)."""

    pair: str  # e.g. "shipstation_tally": the `pair` column of recon_exceptions
    label: str  # e.g. "ShipStation ↔ TallyPrime"
    sides: tuple[str, str]  # the report's column heads: source system, target system
    snapshots: Mapping[str, str]
    categories: Mapping[str, tuple[str, str]]  # category -> (owner, meaning)
    scope: Sequence[str]
    rules: Sequence[str]
    ledger_flows: tuple[str, ...] = ()
    ledger_rules: Sequence[str] = ()
    measures: Sequence[Measure] = ()
    total_rows: Sequence[TotalRow] = ()
    match: Match | None = None
    drift: Drift | None = None
    macros: Sequence[str] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    currency: str = "₹"
    snapshot_assets: Callable[[date, str], Sequence[Any]] | None = None
    notices: tuple[str, ...] = ()  # categories listed apart in the report, not counted as exceptions (cut-off)

    @property
    def ranged(self) -> bool:
        """Whether the pack reconciles a range of days in one pass (its statements use `$first`/`$last`)."""
        return any(re.search(r"\$(first|last)\b", sql) for sql in self.statements())

    def statements(self) -> list[str]:
        """Every statement of a day, in order: macros, working set, rules, ledger rules."""
        return [*self.macros, *self.scope, *self.rules, *self.ledger_rules]

    def describe(self) -> dict[str, Any]:
        """What the report needs to show this pair, as JSON (stored with the totals: the report needs no pack)."""
        return {"pair": self.pair, "label": self.label, "sides": list(self.sides), "currency": self.currency,
                "categories": {k: list(v) for k, v in self.categories.items()},
                "total_rows": [asdict(r) for r in self.total_rows],
                "money": [m.key for m in self.measures if m.money],
                "match": asdict(self.match) if self.match else None,
                "drift": asdict(self.drift) if self.drift else None, "notices": list(self.notices)}


def check_packs(packs: Sequence[RulePack]) -> None:
    """Refuse packs sharing a pair name or a snapshot table."""
    pairs, owners = set(), {}
    for pack in packs:
        if pack.pair in pairs:
            raise ValueError(f"two rule packs are named {pack.pair!r}")
        pairs.add(pack.pair)
        for table in pack.snapshots:
            if table in owners:
                raise ValueError(f"{table} is declared by both {owners[table]!r} and {pack.pair!r}")
            owners[table] = pack.pair

"""What a request costs: TallyPrime has no date index to speak of, so exports are as slow as the walk.

Reference §7 and §9.1: exports are memory- and time-hungry (a 400 MB company took ~12 minutes) and
grow with the vouchers Tally walks; imports have no published throughput. The simulator finds a
period's vouchers by bisection, which is far cheaper than Tally. A ``CostModel`` puts the price
back: each export pays ``per_voucher_walked_ms`` for every voucher it walks, each import
``per_object_imported_ms`` for every object it processes, as real elapsed time in the serving
thread (see ``app.py``), so a bench sees how a sync behaves when Tally is slow.

``walk`` says what an export walks:
- ``"period"``: only the vouchers in the range asked for (SVFROMDATE/SVTODATE, narrowed by a
  formula's ``$Date`` bounds) — the optimistic reading;
- ``"company"``: every voucher of the company, whatever the period — the pessimistic reading
  (TDL filters are applied object by object; nothing public says Tally skips out-of-period
  vouchers without reading them [U]).

A walk is one pass over vouchers: a voucher collection is one walk, and computing closing stock or
ledger balances (ClosingBalance, ClosingValue, ...) is another, over every voucher up to SVTODATE.
Walked vouchers are counted in ``/__sandbox/stats`` (``vouchers_walked``) even with the cost off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from .company import Company

WALKS = ("period", "company")


@dataclass(frozen=True, slots=True)
class CostModel:
    per_voucher_walked_ms: float = 0.0
    walk: str = "period"
    per_object_imported_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.walk not in WALKS:
            raise ValueError(f"walk must be one of {WALKS}, not {self.walk!r}")
        if self.per_voucher_walked_ms < 0 or self.per_object_imported_ms < 0:
            raise ValueError("costs cannot be negative")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CostModel:
        """From the control plane's JSON; absent keys take their defaults (``{}`` is "off")."""
        if not isinstance(body, Mapping):
            raise TypeError("the cost model is a JSON object")
        unknown = set(body) - {"per_voucher_walked_ms", "walk", "per_object_imported_ms"}
        if unknown:
            raise ValueError(f"unknown cost keys {sorted(unknown)}")
        return cls(float(body.get("per_voucher_walked_ms", 0.0)), str(body.get("walk", "period")),
                   float(body.get("per_object_imported_ms", 0.0)))

    @classmethod
    def parse(cls, raw: str) -> CostModel:
        """From a setting: the same JSON, or ``per_voucher_walked_ms=0.05,walk=company``."""
        raw = raw.strip()
        if not raw:
            return cls()
        if raw.startswith("{"):
            return cls.from_json(json.loads(raw))
        pairs = (part.split("=", 1) for part in raw.split(",") if part.strip())
        return cls.from_json({key.strip(): value.strip() for key, value in pairs})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def seconds(self, vouchers_walked: int, objects_imported: int) -> float:
        ms = vouchers_walked * self.per_voucher_walked_ms + objects_imported * self.per_object_imported_ms
        return ms / 1000.0


@dataclass(slots=True)
class Walk:
    """Vouchers one export walked, counted the way the cost model's ``walk`` says."""

    mode: str = "period"
    vouchers: int = 0

    def over(self, company: Company, start: date | None, end: date | None) -> None:
        self.vouchers += len(company.vouchers) if self.mode == "company" else company.count_between(start, end)

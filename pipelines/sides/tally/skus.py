"""SKU -> Tally stock item: the mapping file first, then an exact item name, then an alias."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StockItemRef:
    name: str
    unit: str


@dataclass
class SkuResolver:
    """Resolves a marketplace or warehouse SKU to the Tally stock item every flow posts against."""

    by_name: dict[str, StockItemRef] = field(default_factory=dict)
    by_alias: dict[str, StockItemRef] = field(default_factory=dict)
    sku_map: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[tuple[str, list[str], str | None]],
              sku_map: Mapping[str, str] | None = None) -> SkuResolver:
        resolver = cls(sku_map=dict(sku_map or {}))
        for name, aliases, unit in items:
            ref = StockItemRef(name, unit or "Nos")
            resolver.by_name[name] = ref
            for alias in aliases:
                resolver.by_alias.setdefault(alias, ref)
        return resolver

    def resolve(self, sku: str) -> StockItemRef | None:
        mapped = self.sku_map.get(sku)
        if mapped is not None:
            return self.by_name.get(mapped) or self.by_alias.get(mapped)
        return self.by_name.get(sku) or self.by_alias.get(sku)


def read_sku_map(path: str | Path | None) -> dict[str, str]:
    """The optional `sku,stock_item` CSV (TALLY_SKU_MAP); a header row is allowed."""
    if not path:
        return {}
    mapping: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() == "sku":
                continue
            if len(row) < 2 or not row[1].strip():
                raise ValueError(f"TALLY_SKU_MAP line {line}: expected 'sku,stock_item', got {row!r}")
            mapping[row[0].strip()] = row[1].strip()
    return mapping

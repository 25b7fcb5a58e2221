"""The reconciliation store's own tables: the exceptions found, each day's measures, the ledger copy.

Every table lives in the DuckDB staging file and carries `day`: the business date in the books'
time zone. A pack's snapshot tables (pack.py) sit next to these, created from the pack's DDL. A daily
partition is written by deleting that day's rows and inserting the new ones in one transaction, so
re-materialising a partition replaces it. No table has a key or index (DuckDB keeps ART indexes in
memory; see ml_connector/staging.py); every query filters on `day`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.reconciliation.pack import FINANCE, OPERATIONS, RulePack

__all__ = ["AMOUNT_COLUMNS", "DAY_TOTALS", "EXCEPTIONS", "EXCEPTION_COLUMNS", "FINANCE", "LEDGER", "OPERATIONS",
           "PAIRS", "ddl", "migrations"]

# `pair` names the RulePack that found the row, so one table (and one report) holds every pair.
EXCEPTIONS = """day DATE NOT NULL, pair VARCHAR, category VARCHAR NOT NULL, owner VARCHAR NOT NULL,
    order_number VARCHAR, source_system VARCHAR, source_id VARCHAR, target_system VARCHAR, target_id VARCHAR,
    source_amount DECIMAL(18, 4), target_amount DECIMAL(18, 4), difference DECIMAL(18, 4),
    reason VARCHAR NOT NULL, explained BOOLEAN NOT NULL, explanation VARCHAR, detected_at TIMESTAMPTZ NOT NULL"""
EXCEPTION_COLUMNS = ("day", "pair", "category", "owner", "order_number", "source_system", "source_id",
                     "target_system", "target_id", "source_amount", "target_amount", "difference", "reason",
                     "explained", "explanation", "detected_at")
AMOUNT_COLUMNS = ("source_amount", "target_amount", "difference")

# What each reconciled day counted, one row per pair and measure (the pack's measures, plus
# `exceptions` and `unexplained`); written with that day's exceptions, summed by the month roll-up.
DAY_TOTALS = """day DATE NOT NULL, pair VARCHAR NOT NULL, measure VARCHAR NOT NULL, value DECIMAL(38, 4),
    reconciled_at TIMESTAMPTZ NOT NULL"""

# Each pair's description for the report (RulePack.describe), replaced whenever the pair is reconciled.
PAIRS = "pair VARCHAR NOT NULL, description JSON NOT NULL, updated_at TIMESTAMPTZ NOT NULL"

# The sync ledger's entries, copied in before reconciling (replaced on every load): the causes we know of.
LEDGER = """flow VARCHAR NOT NULL, source_id VARCHAR NOT NULL, state VARCHAR NOT NULL, last_error VARCHAR,
    target_id VARCHAR, cancelled BOOLEAN, updated_at TIMESTAMPTZ, claimed_at TIMESTAMPTZ, stuck BOOLEAN NOT NULL,
    group_key VARCHAR, owner VARCHAR, order_number VARCHAR"""

CORE = {"recon_exceptions": EXCEPTIONS, "recon_pair_totals": DAY_TOTALS, "recon_pairs": PAIRS,
        "recon_ledger": LEDGER}


def ddl(packs: Sequence[RulePack] = ()) -> list[str]:
    """CREATE TABLE statements for the engine's tables and every pack's snapshot tables, then migrations."""
    tables = dict(CORE)
    for pack in packs:
        tables.update(pack.snapshots)
    return [f"CREATE TABLE IF NOT EXISTS {name} ({columns})" for name, columns in tables.items()] + migrations()


def migrations() -> list[str]:
    """Bring a staging file written before rule packs up to date (its rows get a pair when their day is redone)."""
    return ["ALTER TABLE recon_exceptions ADD COLUMN IF NOT EXISTS pair VARCHAR"]

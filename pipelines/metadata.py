"""Materialisation metadata shared by every flow: small tables for the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

MAX_ROWS = 200

# Asset owners, as the Dagster UI shows and filters them: who acts when an asset is red.
FINANCE = "team:finance"
OPERATIONS = "team:operations"


def failure_table(failures: Sequence[dict[str, str]], columns: list[str]) -> dg.MetadataValue:
    """Failures as a table for the Dagster UI (the first MAX_ROWS; the ledger holds them all)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns])
    rows = [dg.TableRecord({c: str(f.get(c, "")) for c in columns}) for f in failures[:MAX_ROWS]]
    return dg.MetadataValue.table(records=rows, schema=schema)

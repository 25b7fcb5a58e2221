"""The reconciliation store: the engine's tables (tables.py) and the packs' snapshot tables in the DuckDB
staging file, written a day at a time.

A daily partition is replaced by deleting its rows and inserting the new ones in one transaction, for
every table the partition touches (an order and its lines change together), so re-materialising a
day never duplicates it and a reader never sees half a day. Values are cast to the table's own column
types in SQL; Decimals travel as text, so no amount ever passes through a float.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.reconciliation import tables
from state.staging import StagingStore

if TYPE_CHECKING:
    import pandas as pd


class ReconStore:
    """Reads and replaces daily partitions of the reconciliation tables (created on first use).

    `snapshots` (name -> column DDL, a pack's `snapshots`) are created too; every `recon_` table with a
    `day` column already in the file can be read and written, whichever pack made it.
    """

    def __init__(self, staging: StagingStore, snapshots: Mapping[str, str] | None = None) -> None:
        self.staging = staging
        with staging.connect() as conn:
            for statement in tables.ddl():
                conn.execute(statement)
            for name, columns in (snapshots or {}).items():
                conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                for column in _column_ddl(columns):  # a file written before a column was added gains it
                    conn.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {column}")
            rows = conn.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE"
                                " database_name = current_database() AND starts_with(table_name, 'recon_')").fetchall()
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in rows:
            found.setdefault(table, {})[column] = kind
        self.types = {table: columns for table, columns in found.items() if "day" in columns}  # partitioned ones

    @classmethod
    def at(cls, path: Path | str, snapshots: Mapping[str, str] | None = None) -> ReconStore:
        """The store in the DuckDB file at `path`."""
        return cls(StagingStore(path), snapshots)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the staging file, for SQL of your own."""
        with self.staging.connect() as conn:
            yield conn

    # --- writing --------------------------------------------------------------------------------
    def replace_partition(self, table: str, day: date, frame: pd.DataFrame) -> int:
        """Replace `day` of `table` by `frame` in one transaction; returns the rows written."""
        return self.replace_partitions(day, {table: frame})[table]

    def replace_partitions(self, day: date, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """Replace `day` of several tables together, in one transaction; rows written per table."""
        prepared = {table: self._prepare(table, day, frame) for table, frame in frames.items()}
        with self.staging.connect() as conn:
            conn.execute("BEGIN")
            try:
                for table, frame in prepared.items():
                    conn.execute(f"DELETE FROM {table} WHERE day = ?", [day])
                    if len(frame):
                        self._insert(conn, table, frame)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return {table: len(frame) for table, frame in prepared.items()}

    def _prepare(self, table: str, day: date, frame: pd.DataFrame) -> pd.DataFrame:
        columns = self._columns(table)
        unknown = [c for c in frame.columns if c not in columns]
        if unknown:
            raise ValueError(f"{table} has no column(s) {unknown}")
        if "day" not in frame.columns:
            frame = frame.assign(day=day)
        elif len(frame) and set(frame["day"]) != {day}:
            raise ValueError(f"rows for {table} day {day} carry other days: {sorted(set(frame['day']) - {day})}")
        return frame.map(lambda v: str(v) if isinstance(v, Decimal) else v).astype(object)

    def _insert(self, conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        types = self._columns(table)
        names = ", ".join(frame.columns)
        casts = ", ".join(f'CAST("{c}" AS {types[c]})' for c in frame.columns)
        conn.register(f"incoming_{table}", frame)  # dropped with the connection
        conn.execute(f"INSERT INTO {table} ({names}) SELECT {casts} FROM incoming_{table}")

    def _columns(self, table: str) -> dict[str, str]:
        if table not in self.types:
            raise ValueError(f"not a day-partitioned reconciliation table: {table!r}")
        return self.types[table]

    # --- reading --------------------------------------------------------------------------------
    def read_partition(self, table: str, day: date) -> pd.DataFrame:
        """Every row of `day` in `table` (Decimals stay Decimals)."""
        return self.read_range(table, day, day)

    def read_range(self, table: str, first: date, last: date) -> pd.DataFrame:
        """Every row of `table` from `first` to `last` inclusive, ordered by day."""
        import pandas as pd  # lazily: the order sync's process never loads pandas

        self._columns(table)
        with self.staging.connect() as conn:
            cursor = conn.execute(f"SELECT * FROM {table} WHERE day BETWEEN ? AND ? ORDER BY day", [first, last])
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return pd.DataFrame(rows, columns=names, dtype=object)

    def counts_by_day(self, table: str, first: date | None = None, last: date | None = None) -> dict[date, int]:
        """Rows per day in `table` (days without rows are absent)."""
        self._columns(table)
        with self.staging.connect() as conn:
            rows = conn.execute(f"SELECT day, count(*) FROM {table} WHERE day BETWEEN ? AND ? GROUP BY day"
                                " ORDER BY day", [first or date.min, last or date.max]).fetchall()
        return dict(rows)


def _column_ddl(columns: str) -> list[str]:
    """The column definitions of a table's DDL, without NOT NULL (a column added later is NULL in old rows)."""
    parts, depth, current = [], 0, ""
    for char in columns:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [" ".join(part.replace("NOT NULL", "").split()) for part in parts if part.strip()]


"""SQL builders the rule packs share, for working sets that stay fast at the staging store's memory limit.

`drop_older` keeps a record's newest snapshot. Every pack needs it (a record may be snapshotted on several
days), and the plain `QUALIFY row_number() OVER (PARTITION BY key ...)` sorts every row of the working set:
at a million orders a month, under the staging store's 128 MB, that sort spills to disk and costs seconds per
table (bench/recon.py). Records are nearly always snapshotted once, so the working table is first written
with every snapshot, then `drop_older` counts rows per key (a hash aggregate on the key alone) and deletes,
among the keys seen more than once only, all but the newest row: the rows the window would have kept.
"""

from __future__ import annotations

__all__ = ["NEWEST_FIRST", "drop_older"]

# The order of a record's snapshots, newest first: the latest fetch, then the latest day.
NEWEST_FIRST = "fetched_at DESC, day DESC"


def drop_older(table: str, key: str, *, order: str = NEWEST_FIRST) -> str:
    """A DELETE leaving one row of `table` per `key`: the first by `order` (of rows tied on `order`, any one).

    Leaves the rows `SELECT * FROM table QUALIFY row_number() OVER (PARTITION BY key ORDER BY order) = 1`
    selects; a NULL key is one key, as in PARTITION BY. `table` is a TEMP table of the working set.
    """
    return f"""DELETE FROM {table} WHERE rowid IN (
        SELECT _t.rowid FROM {table} _t
        SEMI JOIN (SELECT {key} AS _k FROM {table} GROUP BY ALL HAVING count(*) > 1) _d
            ON _t.{key} IS NOT DISTINCT FROM _d._k
        QUALIFY row_number() OVER (PARTITION BY _t.{key} ORDER BY {order}) > 1)"""

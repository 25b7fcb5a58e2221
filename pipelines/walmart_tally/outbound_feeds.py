"""Feeds Walmart has not finished when a run stops waiting: remembered, so the next run reads their result.

Walmart may take minutes to hours over a feed (reference §4). A run that stops waiting leaves the feed's
SKUs pending in the ledger; the next run first asks Walmart about each remembered feed: a finished one
settles its SKUs from its item results (nothing re-sent), one still in progress keeps its SKUs out of
this run (unless their value changed since), one older than `max_age` is forgotten and its SKUs are sent
again. A SKU sent again, in any way, is no longer spoken for by an older feed.

The table lives in the staging DuckDB (`walmart_feeds_outstanding`): one row per (feed, SKU, value sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from state.staging import StagingStore

TABLE = "walmart_feeds_outstanding"
SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (kind VARCHAR NOT NULL, feed_id VARCHAR NOT NULL, "
          "sku VARCHAR NOT NULL, digest VARCHAR NOT NULL, submitted_at TIMESTAMPTZ NOT NULL)")


@dataclass(frozen=True)
class Outstanding:
    feed_id: str
    submitted_at: datetime
    skus: dict[str, str]  # SKU -> the value (digest) the feed carries


class OutstandingFeeds:
    """Submitted feeds not yet settled, per kind (inventory, price)."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        with store.connect() as conn:
            conn.execute(SCHEMA)

    def add(self, kind: str, feed_id: str, rows: Iterable[tuple[str, str]], at: datetime | None = None) -> None:
        import pandas as pd  # lazily: the order sync's process never loads pandas

        frame = pd.DataFrame([(kind, feed_id, sku, digest, at or datetime.now(UTC)) for sku, digest in rows],
                             columns=["kind", "feed_id", "sku", "digest", "submitted_at"])
        with self.store.connect() as conn:
            conn.register("incoming", frame)
            conn.execute(f"INSERT INTO {TABLE} SELECT * FROM incoming")

    def forget(self, kind: str, skus: Iterable[str]) -> None:
        """These SKUs are being sent again: no older feed speaks for them any more."""
        import pandas as pd  # lazily: the order sync's process never loads pandas

        frame = pd.DataFrame({"sku": list(skus)}, dtype=object)
        if frame.empty:
            return
        with self.store.connect() as conn:
            conn.register("again", frame)
            conn.execute(f"DELETE FROM {TABLE} WHERE kind = ? AND sku IN (SELECT sku FROM again)", [kind])

    def drop(self, feed_id: str) -> None:
        with self.store.connect() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE feed_id = ?", [feed_id])

    def of_kind(self, kind: str) -> list[Outstanding]:
        with self.store.connect() as conn:
            rows = conn.execute(f"SELECT feed_id, submitted_at, sku, digest FROM {TABLE} WHERE kind = ?"
                                " ORDER BY submitted_at, feed_id", [kind]).fetchall()
        feeds: dict[str, Outstanding] = {}
        for feed_id, at, sku, digest in rows:
            feeds.setdefault(feed_id, Outstanding(feed_id, at, {})).skus[sku] = digest
        return list(feeds.values())

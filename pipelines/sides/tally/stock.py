"""Tally stock items read by change and staged in DuckDB: closing quantity and the selling price in force.

The company's AlterID cursors drive it (reference §6 "Incremental sync"):
1. The company's `AltMstId` / `AltVchId` are read first; the cursor only ever advances to those
   values, so an edit made while we read is read again next time, never lost.
2. Items altered after the cursor's `AltMstId` are read with their rate lists (`$AlterId > n`).
3. Every item's (GUID, AlterID) is read each cycle (no voucher walk, so cheap): a staged item whose
   GUID vanished was deleted, which moves no AlterID.
4. Closing quantity is not a property of the item: a voucher changes it without altering the item.
   So quantities are re-read, two fields per item, when `AltVchId` moved, when the as-of day changed,
   or when the last read is older than `refresh_after` (a deleted voucher moves no AlterID either).

`StockStage` keeps the items (`tally_stock_prices`) and the cursor (`tally_stock_cursor`) in the
staging DuckDB, written together in one transaction. Any flow reads what it sells with
`StockStage.sellable(day, price_level)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.tally.client import TallyClient
from connectors.tally.stock_models import StockItemPrices
from state.staging import StagingStore

ITEMS = "tally_stock_prices"
CURSORS = "tally_stock_cursor"
CURSOR_NAME = "stock_prices"
CURSOR_VERSION = 1
SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {ITEMS} (
        key VARCHAR NOT NULL, name VARCHAR NOT NULL, guid VARCHAR, master_id BIGINT, alter_id BIGINT,
        base_unit VARCHAR, closing_qty DECIMAL(18, 4), standard_prices VARCHAR, price_levels VARCHAR,
        fetched_at TIMESTAMPTZ NOT NULL)""",
    f"CREATE TABLE IF NOT EXISTS {CURSORS} (name VARCHAR NOT NULL, value VARCHAR NOT NULL)",
]
_COLUMNS = ["key", "name", "guid", "master_id", "alter_id", "base_unit", "closing_qty", "standard_prices",
            "price_levels", "fetched_at"]


@dataclass(frozen=True)
class StockCursor:
    """Where the last read stopped: the company it read and its alteration ids, and the quantities' as-of."""

    company_guid: str | None
    alt_mst_id: int
    alt_vch_id: int
    quantities_as_of: date
    quantities_read_at: datetime
    version: int = CURSOR_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> StockCursor | None:
        """The stored cursor, or None for another version (a full read starts over)."""
        data = json.loads(raw)
        if data.get("version") != CURSOR_VERSION:
            return None
        return cls(data["company_guid"], int(data["alt_mst_id"]), int(data["alt_vch_id"]),
                   date.fromisoformat(data["quantities_as_of"]), datetime.fromisoformat(data["quantities_read_at"]))


@dataclass
class StockRead:
    """What one cycle found: items (re)read, deleted, whose quantity moved, and the requests it took."""

    cursor: StockCursor
    full: bool = False
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    quantity_changed: list[str] = field(default_factory=list)
    quantities_read: bool = False
    requests: int = 0


@dataclass(frozen=True)
class Sellable:
    """One staged stock item as a marketplace sees it on a day: quantity and selling price (None = no rate)."""

    name: str
    quantity: Decimal | None
    price: Decimal | None
    unit: str | None
    price_from: date | None = None


def _key(item: StockItemPrices) -> str:
    return item.guid or f"name:{item.name}"


class StockStage:
    """The staged stock items and their cursor in the staging DuckDB."""

    def __init__(self, store: StagingStore) -> None:
        self.store = store
        with store.connect() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def cursor(self) -> StockCursor | None:
        with self.store.connect() as conn:
            row = conn.execute(f"SELECT value FROM {CURSORS} WHERE name = ?", [CURSOR_NAME]).fetchone()
        return None if row is None else StockCursor.from_json(row[0])

    def alter_ids(self) -> dict[str, tuple[str, int | None]]:
        """key -> (name, AlterID) of every staged item."""
        with self.store.connect() as conn:
            rows = conn.execute(f"SELECT key, name, alter_id FROM {ITEMS}").fetchall()
        return {key: (name, alter_id) for key, name, alter_id in rows}

    def quantities(self) -> dict[str, Decimal | None]:
        with self.store.connect() as conn:
            return dict(conn.execute(f"SELECT name, closing_qty FROM {ITEMS}").fetchall())

    def save(self, cursor: StockCursor, items: Iterable[StockItemPrices], deleted_keys: Iterable[str],
             quantities: dict[str, Decimal | None] | None, *, full: bool) -> None:
        """Write items, deletions, quantities and the cursor in one transaction (`full` replaces everything)."""
        import pandas as pd  # lazily: the order sync's process never loads pandas

        now = datetime.now(UTC)
        frame = pd.DataFrame([_row(item, now) for item in items], columns=_COLUMNS)
        gone = pd.DataFrame({"key": list(deleted_keys)}, dtype=object)
        qty = pd.DataFrame({"name": list(quantities or {}), "qty": [_dec(v) for v in (quantities or {}).values()]},
                           dtype=object)
        with self.store.connect() as conn:
            conn.register("incoming", frame)
            conn.register("gone", gone)
            conn.register("qty", qty)
            conn.execute("BEGIN")
            if full:
                conn.execute(f"DELETE FROM {ITEMS}")
            conn.execute(f"DELETE FROM {ITEMS} WHERE key IN (SELECT key FROM incoming UNION SELECT key FROM gone)")
            conn.execute(f"INSERT INTO {ITEMS} SELECT * FROM incoming")
            if quantities is not None:
                conn.execute(f"UPDATE {ITEMS} SET closing_qty = CAST(qty.qty AS DECIMAL(18, 4)) FROM qty"
                             f" WHERE {ITEMS}.name = qty.name")
            conn.execute(f"DELETE FROM {CURSORS} WHERE name = ?", [CURSOR_NAME])
            conn.execute(f"INSERT INTO {CURSORS} VALUES (?, ?)", [CURSOR_NAME, cursor.to_json()])
            conn.execute("COMMIT")

    def items(self) -> Iterator[StockItemPrices]:
        """Every staged item, rate lists included."""
        with self.store.connect() as conn:
            rows = conn.execute(f"SELECT name, guid, master_id, alter_id, base_unit, closing_qty, standard_prices,"
                                f" price_levels FROM {ITEMS} ORDER BY name").fetchall()
        for name, guid, master_id, alter_id, unit, qty, prices, levels in rows:
            yield StockItemPrices(name=name, guid=guid, master_id=master_id, alter_id=alter_id, base_unit=unit,
                                  closing_qty=qty, standard_prices=json.loads(prices or "[]"),
                                  price_levels=json.loads(levels or "[]"))

    def sellable(self, day: date, price_level: str | None = None) -> Iterator[Sellable]:
        """Quantity and the selling price in force on `day`: the standard price, or `price_level`'s when named."""
        for item in self.items():
            yield sellable(item, day, price_level)


def sellable(item: StockItemPrices, day: date, price_level: str | None = None) -> Sellable:
    """One item's quantity and price in force on `day` (price None when no entry is in force)."""
    if price_level:
        level = item.level_price_on(price_level, day)
        price, start = (None, None) if level is None else (level.net(), level.date)
    else:
        standard = item.standard_price_on(day)
        price, start = (None, None) if standard is None else (standard.rate, standard.date)
    return Sellable(item.name, item.closing_qty, price, item.base_unit, start)


def _row(item: StockItemPrices, now: datetime) -> list[Any]:
    dump = item.model_dump(mode="json")
    return [_key(item), item.name, item.guid, item.master_id, item.alter_id, item.base_unit,
            _dec(item.closing_qty), json.dumps(dump["standard_prices"]), json.dumps(dump["price_levels"]), now]


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def read_changes(client: TallyClient, stage: StockStage, as_of: date, *,
                 refresh_after: timedelta = timedelta(hours=6), now: datetime | None = None) -> StockRead:
    """One incremental cycle against Tally; stages what changed and advances the cursor (see module doc)."""
    now = now or datetime.now(UTC)
    company = client.company()
    previous = stage.cursor()
    full = previous is None or previous.company_guid != company.guid
    cursor = StockCursor(company.guid, company.alt_mst_id or 0, company.alt_vch_id or 0, as_of, now)
    read = StockRead(cursor, full=full, requests=2)
    staged = {} if full else stage.alter_ids()
    identities = {(i.guid or f"name:{i.name}"): i for i in client.stock_item_identities()}
    deleted = [key for key in staged if key not in identities]
    read.deleted = sorted(staged[key][0] for key in deleted)
    new_or_altered = full or any(key not in staged or staged[key][1] != i.alter_id for key, i in identities.items())
    need_qty = full or previous is None or _quantities_due(previous, cursor, refresh_after)
    items: list[StockItemPrices] = []
    if new_or_altered:
        since = None if full or previous is None else previous.alt_mst_id
        items = list(client.stock_item_prices(alter_id_after=since, as_of=as_of, quantities=not need_qty or full))
        read.requests += 1
        read.changed = sorted(i.name for i in items)
    quantities = None
    if need_qty and not full:
        before = stage.quantities()
        quantities = dict(client.stock_item_quantities(as_of))
        read.requests += 1
        read.quantity_changed = sorted(n for n, q in quantities.items() if n not in before or before[n] != q)
    read.quantities_read = need_qty
    if not need_qty and previous is not None:
        cursor = StockCursor(cursor.company_guid, cursor.alt_mst_id, previous.alt_vch_id,
                             previous.quantities_as_of, previous.quantities_read_at)
        read.cursor = cursor
    stage.save(cursor, items, deleted, quantities, full=full)
    return read


def _quantities_due(previous: StockCursor, cursor: StockCursor, refresh_after: timedelta) -> bool:
    return (cursor.alt_vch_id != previous.alt_vch_id or cursor.quantities_as_of != previous.quantities_as_of
            or cursor.quantities_read_at - previous.quantities_read_at >= refresh_after)

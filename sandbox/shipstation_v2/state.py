"""In-memory ShipStation V2 inventory: warehouses, locations, stock batches and allocations.

Stock is held in batches keyed by (sku, location, condition, lot); each batch knows its units on
hand and its average unit cost. A listed inventory level sums the batches of one SKU at one location
(or warehouse); `allocated` is kept per (sku, location) and `available = on_hand - allocated`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.shipstation_v2.account import AccountView
from sandbox.shipstation_v2.errors import V2Error, invalid, refused, unknown_id
from sandbox.shipstation_v2.hooks import HookRegistry
from sandbox.shipstation_v2.transactions import Cost, Transaction, loads, parse_transaction

Record = dict[str, Any]
COST_PLACES = Decimal("0.0001")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """Aware datetime → `2024-11-04T08:02:11.103Z`."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Batch:
    """Units of one SKU at one location in one condition and lot, with their average unit cost."""

    sku: str
    location_id: str
    condition: str = "sellable"
    lot: str | None = None
    on_hand: int = 0
    cost: Decimal | None = None
    currency: str | None = None

    def add(self, quantity: int, cost: Cost | None) -> None:
        """Receive `quantity` units; a cost moves the batch's average cost (weighted by units)."""
        if cost is not None:
            amount, currency = cost
            if self.cost is None or self.on_hand <= 0:
                self.cost, self.currency = amount, currency
            elif currency != self.currency:
                raise refused(f"cost currency {currency!r} differs from the stock's currency {self.currency!r}")
            else:
                self.cost = _average([(self.cost, self.on_hand), (amount, quantity)])
        self.on_hand += quantity

    def as_dict(self) -> Record:
        """JSON-ready view for the control plane."""
        cost = None if self.cost is None else {"amount": self.cost, "currency": self.currency}
        return {"sku": self.sku, "inventory_location_id": self.location_id, "condition": self.condition,
                "lot": self.lot, "on_hand": self.on_hand, "cost": cost}


def _average(weighted: Iterable[tuple[Decimal, int]]) -> Decimal:
    pairs = [(amount, max(units, 0)) for amount, units in weighted]
    units = sum(n for _, n in pairs)
    if units == 0:
        return pairs[0][0]
    value = sum((amount * n for amount, n in pairs), Decimal(0)) / units
    return value if value.as_tuple().exponent >= -4 else value.quantize(COST_PLACES)  # type: ignore[operator]


class ShipStationV2State:
    """The inventory behind one V2 simulator; `now` returns aware UTC (tests may pass a fake clock).

    `known_skus=None` accepts any SKU in a transaction (a new SKU gets a new level); a set limits
    transactions to those SKUs (the rest answer 400).
    """

    def __init__(self, *, now: Callable[[], datetime] | None = None, known_skus: Iterable[str] | None = None) -> None:
        self.now = now or _utcnow
        self.known_skus = None if known_skus is None else set(known_skus)
        self.warehouses: dict[str, Record] = {}
        self.locations: dict[str, Record] = {}
        self.batches: list[Batch] = []
        self.allocated: dict[tuple[str, str], int] = {}
        self.transactions: list[Record] = []
        self.version = 0
        self._next_id = 100_001
        self.shipping = AccountView(now=self.now)
        self.hooks = HookRegistry()

    def link_account(self, account: Any, *, currency: str = "inr") -> None:
        """Serve the V1 account `account` (a `sandbox.shipstation.ShipStationState`) as V2 shipments,
        labels and tracking (`account.py`); `currency` is its money's (V1 orders carry none)."""
        self.shipping.account, self.shipping.currency = account, currency

    # -- seeding ---------------------------------------------------------------------------------

    @classmethod
    def from_levels(
        cls, warehouses: Iterable[Mapping[str, Any]], locations: Iterable[Mapping[str, Any]],
        levels: Iterable[Mapping[str, Any]], *, now: Callable[[], datetime] | None = None,
        known_skus: Iterable[str] | None = None,
    ) -> ShipStationV2State:
        """Load warehouses `{inventory_warehouse_id?, name}`, locations `{inventory_location_id?,
        inventory_warehouse_id, name, barcode?}` and levels `{sku, inventory_location_id, on_hand,
        allocated?, average_cost?: {amount, currency}, condition?, lot?}` (ids are assigned when absent)."""
        state = cls(now=now, known_skus=known_skus)
        for warehouse in warehouses:
            state.add_warehouse(warehouse["name"], warehouse_id=warehouse.get("inventory_warehouse_id"))
        for location in locations:
            state.add_location(location["inventory_warehouse_id"], location["name"],
                               location_id=location.get("inventory_location_id"), barcode=location.get("barcode"))
        for level in levels:
            cost = level.get("average_cost")
            state.put_level(level["sku"], level["inventory_location_id"], int(level.get("on_hand", 0)),
                            allocated=int(level.get("allocated", 0)),
                            cost=None if not cost else (Decimal(str(cost["amount"])), str(cost["currency"]).lower()),
                            condition=level.get("condition", "sellable"), lot=level.get("lot"))
        return state

    @classmethod
    def seeded(
        cls, stock: Mapping[str, int] | Iterable[tuple[str, int]], *, warehouse: str = "Sandbox Warehouse",
        location: str = "A-01-01-01", costs: Mapping[str, Decimal | str | int] | None = None, currency: str = "inr",
        allocated: Mapping[str, int] | None = None, now: Callable[[], datetime] | None = None,
        known_skus: Iterable[str] | None = None,
    ) -> ShipStationV2State:
        """One warehouse with one location holding `stock` (SKU → on-hand units, sellable), optional
        unit `costs` and `allocated` units per SKU: a plausible account that has just enabled inventory."""
        state = cls(now=now, known_skus=known_skus)
        warehouse_id = state.add_warehouse(warehouse)["inventory_warehouse_id"]
        location_id = state.add_location(warehouse_id, location)["inventory_location_id"]
        for sku, quantity in dict(stock).items():
            cost = None if not costs or sku not in costs else (Decimal(str(costs[sku])), currency.lower())
            state.put_level(sku, location_id, int(quantity), allocated=(allocated or {}).get(sku, 0), cost=cost)
        return state

    def _new_id(self) -> str:
        # V2 ids are strings; other V2 resources use `se-<digits>` (reference §0), so do we.
        value, self._next_id = f"se-{self._next_id}", self._next_id + 1
        return value

    def add_warehouse(self, name: str, *, warehouse_id: str | None = None) -> Record:
        """Create an inventory warehouse; return its record."""
        if not isinstance(name, str) or not name.strip():
            raise invalid("name is required", code="field_value_required")
        stamp = iso(self.now())
        record = {"inventory_warehouse_id": warehouse_id or self._new_id(), "name": name,
                  "created_at": stamp, "updated_at": stamp}
        self.warehouses[record["inventory_warehouse_id"]] = record
        return record

    def add_location(
        self, warehouse_id: str, name: str, *, location_id: str | None = None, barcode: str | None = None
    ) -> Record:
        """Create an inventory location in `warehouse_id`; return its record."""
        if warehouse_id not in self.warehouses:
            raise unknown_id("inventory_warehouse_id", warehouse_id)
        if not isinstance(name, str) or not name.strip():
            raise invalid("name is required", code="field_value_required")
        stamp = iso(self.now())
        record = {"inventory_location_id": location_id or self._new_id(), "inventory_warehouse_id": warehouse_id,
                  "name": name, "barcode": barcode, "created_at": stamp, "updated_at": stamp}
        self.locations[record["inventory_location_id"]] = record
        return record

    def put_level(
        self, sku: str, location_id: str, on_hand: int, *, allocated: int = 0, cost: Cost | None = None,
        condition: str = "sellable", lot: str | None = None,
    ) -> None:
        """Seed units directly (no transaction is logged)."""
        if location_id not in self.locations:
            raise unknown_id("inventory_location_id", location_id)
        self._batch(sku, location_id, condition, lot).add(on_hand, cost)
        if allocated:
            self.allocated[(sku, location_id)] = self.allocated.get((sku, location_id), 0) + allocated
        self.version += 1

    def set_allocated(self, sku: str, location_id: str, allocated: int) -> None:
        """Units of `sku` at `location_id` held for open orders (not changed by transactions)."""
        if location_id not in self.locations:
            raise unknown_id("inventory_location_id", location_id)
        self.allocated[(sku, location_id)] = allocated
        self.version += 1

    # -- reading ---------------------------------------------------------------------------------

    def on_hand(self, sku: str, location_id: str) -> int:
        """Units of `sku` at `location_id`, every condition and lot."""
        return sum(b.on_hand for b in self.batches if b.sku == sku and b.location_id == location_id)

    def levels(
        self, *, skus: Iterable[str] | None = None, warehouse_id: str | None = None,
        location_id: str | None = None, group_by: str | None = None,
    ) -> list[Record]:
        """Inventory levels, one per (SKU, location) — or per (SKU, warehouse) with `group_by="warehouse"`
        — sorted by SKU, then location/warehouse creation order."""
        wanted = None if skus is None else set(skus)
        order = {key: n for n, key in enumerate([*self.locations, *self.warehouses])}
        groups: dict[tuple[str, str], list[tuple[str, list[Batch]]]] = {}
        for sku, loc in self._level_keys():
            warehouse = self.locations[loc]["inventory_warehouse_id"]
            if (wanted is not None and sku not in wanted) or (warehouse_id and warehouse != warehouse_id) \
                    or (location_id and loc != location_id):
                continue
            key = (sku, warehouse if group_by == "warehouse" else loc)
            members = [b for b in self.batches if b.sku == sku and b.location_id == loc]
            groups.setdefault(key, []).append((loc, members))
        rows = [self._row(sku, place, members, group_by) for (sku, place), members in groups.items()]
        return sorted(rows, key=lambda r: (r["sku"], order[r["inventory_location_id"] or r["inventory_warehouse_id"]]))

    def _level_keys(self) -> list[tuple[str, str]]:
        keys = dict.fromkeys((b.sku, b.location_id) for b in self.batches)
        keys.update(dict.fromkeys(self.allocated))
        return list(keys)

    def _row(self, sku: str, place: str, members: list[tuple[str, list[Batch]]], group_by: str | None) -> Record:
        batches = [b for _, group in members for b in group]
        on_hand = sum(b.on_hand for b in batches)
        allocated = sum(self.allocated.get((sku, loc), 0) for loc, _ in members)
        costed = [b for b in batches if b.cost is not None]
        average = None
        if costed:
            amount = _average([(b.cost, b.on_hand) for b in costed])  # type: ignore[misc]
            average = {"amount": amount, "currency": costed[0].currency}
        by_warehouse = group_by == "warehouse"
        return {"sku": sku, "on_hand": on_hand, "allocated": allocated, "available": on_hand - allocated,
                "average_cost": average,
                "inventory_warehouse_id": place if by_warehouse else self.locations[place]["inventory_warehouse_id"],
                "inventory_location_id": None if by_warehouse else place}

    # -- transactions ----------------------------------------------------------------------------

    def post_transaction(self, raw: bytes | Any) -> None:
        """Validate and apply one `POST /v2/inventory` body (bytes or decoded); log it either way."""
        body: Any = raw
        try:
            body = loads(raw) if isinstance(raw, bytes | bytearray) else raw
            self.apply(parse_transaction(body))
        except V2Error as error:
            self._log(body, error)
            raise
        self._log(body, None)

    def apply(self, tx: Transaction) -> None:
        """Apply a validated transaction, all or nothing."""
        self._check_references(tx)
        saved = [replace(batch) for batch in self.batches]
        try:
            {"increment": self._increment, "decrement": self._decrement,
             "adjust": self._adjust, "modify": self._modify}[tx.transaction_type](tx)
        except V2Error:
            self.batches = saved
            raise
        self.version += 1

    def _check_references(self, tx: Transaction) -> None:
        if tx.location_id not in self.locations:
            raise unknown_id("inventory_location_id", tx.location_id)
        if tx.new_location_id is not None and tx.new_location_id not in self.locations:
            raise unknown_id("new_inventory_location_id", tx.new_location_id)
        if self.known_skus is not None and tx.sku not in self.known_skus:
            raise invalid(f"sku {tx.sku!r} is not a product in this account")

    def _increment(self, tx: Transaction) -> None:
        condition = tx.condition or "sellable"
        self._batch(tx.sku, tx.location_id, condition, tx.lot).add(tx.quantity, tx.cost or self._level_cost(tx))

    def _decrement(self, tx: Transaction) -> None:
        self._take(tx.sku, tx.location_id, tx.condition, tx.lot, tx.quantity)

    def _adjust(self, tx: Transaction) -> None:
        # §5.2: set on-hand at the location to `quantity` by adding or removing units in `condition`.
        condition = tx.condition or "sellable"
        delta = tx.quantity - self.on_hand(tx.sku, tx.location_id)
        if delta > 0:
            self._batch(tx.sku, tx.location_id, condition, tx.lot).add(delta, tx.cost or self._level_cost(tx))
        elif delta < 0:
            self._take(tx.sku, tx.location_id, condition, tx.lot, -delta)

    def _modify(self, tx: Transaction) -> None:
        for source, units in self._take(tx.sku, tx.location_id, tx.condition, tx.lot, tx.quantity):
            target = self._batch(tx.sku, tx.new_location_id or source.location_id,
                                 tx.new_condition or source.condition, source.lot)
            old_cost = None if source.cost is None else (source.cost, source.currency or "")
            target.add(units, tx.new_cost or old_cost)

    def _take(self, sku: str, location_id: str, condition: str | None, lot: str | None,
              quantity: int) -> list[tuple[Batch, int]]:
        """Remove `quantity` units (sellable first unless a condition is given); all or nothing."""
        batches = [b for b in self.batches if b.sku == sku and b.location_id == location_id
                   and (condition is None or b.condition == condition) and (lot is None or b.lot == lot)]
        batches.sort(key=lambda b: b.condition != "sellable")
        have = sum(max(b.on_hand, 0) for b in batches)
        if have < quantity:
            raise refused(f"sku {sku!r} has {have} matching units on hand at {location_id}, cannot remove {quantity}")
        taken = []
        for batch in batches:
            units = min(max(batch.on_hand, 0), quantity)
            if units:
                batch.on_hand -= units
                taken.append((batch, units))
                quantity -= units
        return taken

    def _batch(self, sku: str, location_id: str, condition: str, lot: str | None) -> Batch:
        for batch in self.batches:
            if (batch.sku, batch.location_id, batch.condition, batch.lot) == (sku, location_id, condition, lot):
                return batch
        batch = Batch(sku, location_id, condition, lot)
        self.batches.append(batch)
        return batch

    def _level_cost(self, tx: Transaction) -> Cost | None:
        costed = [b for b in self.batches if b.sku == tx.sku and b.location_id == tx.location_id and b.cost is not None]
        if not costed:
            return None
        return _average([(b.cost, b.on_hand) for b in costed]), costed[0].currency or ""  # type: ignore[misc]

    def _log(self, body: Any, error: V2Error | None) -> None:
        self.transactions.append({
            "seq": len(self.transactions) + 1, "received_at": iso(self.now()),
            "body": body if isinstance(body, dict) else {"_raw": body.decode("utf-8", "replace")
                                                         if isinstance(body, bytes | bytearray) else body},
            "status": 204 if error is None else error.status,
            "error_code": None if error is None else error.error_code,
            "message": None if error is None else error.message,
        })

"""One Acumatica tenant in memory: records per entity, the business clock, sessions and counters.

Records are stored in the form `values.py` describes. The business clock (`now`) starts at the
real time or a given moment and only moves when the control plane advances it; session timeouts
and `LastModified…` stamps follow it.
"""

from __future__ import annotations

import copy
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.acumatica import errors
from sandbox.acumatica.graphs import GRAPHS, Graph, Record, has_errors, merge, new_guid
from sandbox.acumatica.schema import contracts
from sandbox.acumatica.sessions import Licence, SessionTable

DEFAULT_VERSIONS = ("22.200.001", "23.200.001", "24.200.001")
BUILD = "24.212.0017"
NUMBER_FORMATS = {"SalesOrder": "SO{:06d}", "Shipment": "{:06d}"}


@dataclass
class Fault:
    status: int
    count: int
    message: str = "[sandbox] injected server fault"


@dataclass
class Stats:
    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_path": dict(self.by_path),
                "by_status": {str(k): v for k, v in self.by_status.items()}}


class AcumaticaState:
    """A tenant (`tenant`, `branches`) behind one instance that offers `versions` of `Default`."""

    def __init__(self, *, tenant: str = "SANDBOX", branches: Iterable[str] = ("MAIN",),
                 users: dict[str, str] | None = None, base_currency: str = "USD", timezone: str = "UTC",
                 versions: Iterable[str] = DEFAULT_VERSIONS, licence: Licence | None = None,
                 start: datetime | None = None, seed: int = 0, site: str = "") -> None:
        known = contracts()
        self.versions = tuple(v for v in versions if v in known)
        if not self.versions:
            raise ValueError(f"no known endpoint version among {tuple(versions)}; known: {tuple(known)}")
        self.tenant, self.site = tenant, site
        self.base_currency = base_currency
        self.tz = ZoneInfo(timezone)
        self.licence = licence or Licence()
        self._start_real = datetime.now(UTC)
        self._start = (start or self._start_real).astimezone(UTC)
        self._offset = timedelta(0)
        self.sessions = SessionTable(self.now, self.licence, users or {"admin": "123"}, {tenant: list(branches)})
        self.records: dict[str, dict[str, Record]] = {name: {} for name in GRAPHS}
        self.index: dict[str, dict[tuple[str, ...], str]] = {name: {} for name in GRAPHS}
        self.counters: Counter[str] = Counter()
        self.shipment_index: dict[tuple[str, ...], dict[str, None]] = {}
        self.faults: deque[Fault] = deque()
        self.stats = Stats()
        self.rng = random.Random(seed)
        self._seeding = False

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Business time: the start moment plus real time elapsed plus any advance."""
        return self._start + (datetime.now(UTC) - self._start_real) + self._offset

    def today(self) -> datetime:
        local = self.now().astimezone(self.tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()

    # -- lookups -------------------------------------------------------------------------------

    def new_id(self) -> str:
        return new_guid(self.rng)

    def number(self, entity: str) -> str:
        """The next free number of the entity's numbering sequence."""
        graph = GRAPHS[entity]
        while True:
            self.counters[entity] += 1
            number = NUMBER_FORMATS[entity].format(self.counters[entity])
            if self.find(entity, (*("SO",) * (len(graph.keys) - 1), number)) is None:
                return number

    @staticmethod
    def _fold(keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k.strip().casefold() for k in keys)

    def find(self, entity: str, keys: tuple[str, ...]) -> Record | None:
        ident = self.index[entity].get(self._fold(keys))
        return None if ident is None else self.records[entity][ident]

    def by_id(self, entity: str, ident: str) -> Record | None:
        return self.records[entity].get(ident.lower())

    def all(self, entity: str) -> Iterable[Record]:
        return self.records[entity].values()

    def locate(self, entity: str, ids: list[str]) -> Record:
        """A record by its GUID or by its keys in the URL, or the real 'no entity' 500."""
        graph = GRAPHS[entity]
        record = None
        if len(ids) == 1 and len(ids[0]) == 36 and ids[0].count("-") == 4:
            record = self.by_id(entity, ids[0])
        if record is None and len(ids) == len(graph.keys):
            record = self.find(entity, tuple(ids))
        if record is None:
            raise errors.no_entity()
        return record

    # -- writing -------------------------------------------------------------------------------

    def put(self, entity: str, incoming: Record, *, insert_only: bool = False, update_only: bool = False) -> Record:
        """Create or update from a stored-form body; returns the saved record or raises the answer."""
        graph = GRAPHS[entity]
        current = self._match(graph, incoming)
        if insert_only and current is not None:
            raise errors.precondition_failed("[sandbox] The entity with the specified keys already exists.")
        if update_only and current is None:
            raise errors.precondition_failed("[sandbox] The entity with the specified keys does not exist.")
        if current is not None and graph.closed(current):
            return current
        candidate = merge(copy.deepcopy(current) if current else {"id": self.new_id()}, incoming, self.new_id)
        if current is None:
            graph.insert(candidate, self)
            key = graph.key_of(candidate)
            if key is not None and self.find(entity, key) is not None:
                errors_ = candidate.setdefault("_errors", {})
                errors_[graph.keys[-1]] = "[sandbox] A record with this key already exists."
        graph.derive(candidate, self)
        if has_errors(candidate):
            verb = "Inserting" if current is None else "Updating"
            candidate["_error"] = f"{verb} '{entity}' record raised at least one error. Please review the errors."
            raise _Invalid(candidate)
        return self.save(graph, candidate, current)

    def _match(self, graph: Graph, incoming: Record) -> Record | None:
        if incoming.get("id"):
            found = self.by_id(graph.entity, incoming["id"])
            if found is None:
                raise errors.no_entity()
            return found
        key = graph.key_of(incoming)
        return None if key is None else self.find(graph.entity, key)

    def save(self, graph: Graph, record: Record, current: Record | None) -> Record:
        """Store `record`, stamping it when anything changed; orders follow their shipments."""
        if current is not None and _same(current, record, graph.stamp):
            return current
        now = (current or record).get(graph.stamp) if self._seeding else self.now()
        for name in (graph.stamp, *graph.also_stamped):
            record[name] = now
        if current is None and graph.created and not (self._seeding and record.get(graph.created)):
            record[graph.created] = now
        key = graph.key_of(record)
        if current is not None:
            self.index[graph.entity].pop(self._fold(graph.key_of(current) or ()), None)
        self.records[graph.entity][record["id"]] = record
        if key is not None:
            self.index[graph.entity][self._fold(key)] = record["id"]
        if graph.entity == "Shipment":
            orders = {(str(row.get("OrderType") or "SO"), str(row.get("OrderNbr")))
                      for row in (record.get("Details") or []) + ((current or {}).get("Details") or [])}
            for key in orders:
                self.shipment_index.setdefault(self._fold(key), {})[record["id"]] = None
            self.refresh_orders(orders)
        return record

    def shipments_of(self, order_type: str, order_nbr: str) -> list[Record]:
        """The shipments with a line of this order, oldest first."""
        ids = self.shipment_index.get(self._fold((order_type, order_nbr)), {})
        return [self.records["Shipment"][i] for i in ids if i in self.records["Shipment"]]

    def refresh_orders(self, numbers: Iterable[tuple[str, str]]) -> None:
        graph = GRAPHS["SalesOrder"]
        for key in set(numbers):
            order = self.find("SalesOrder", key)
            if order is None:
                continue
            candidate = copy.deepcopy(order)
            graph.derive(candidate, self)
            for item in (candidate, *(candidate.get("Details") or [])):
                item.pop("_errors", None)
            self.save(graph, candidate, order)

    def seed(self, entity: str, records: Iterable[Record]) -> list[Record]:
        """Store records as they stand (stored form, Python values), deriving totals and numbering."""
        graph = GRAPHS[entity]
        saved: list[Record] = []
        self._seeding = True
        try:
            self._seed_each(graph, records, saved)
        finally:
            self._seeding = False
        return saved

    def _seed_each(self, graph: Graph, records: Iterable[Record], saved: list[Record]) -> None:
        entity = graph.entity
        for plain in records:
            record = merge({"id": plain.get("id") or self.new_id()}, plain, self.new_id)
            if entity in NUMBER_FORMATS:
                self._count_number(entity, record.get(graph.keys[-1]))
            status = record.get("Status")
            graph.insert(record, self)
            if status:
                record["Status"] = status
            graph.derive(record, self)
            if status and entity == "SalesOrder" and not record.get("Shipments"):
                record["Status"] = status
            stamp = record.get(graph.stamp) or self.now()
            for item in (record, *(record.get("Details") or [])):
                item.pop("_errors", None)
            record[graph.stamp] = stamp
            saved.append(self.save(graph, record, None))

    def _count_number(self, entity: str, number: Any) -> None:
        digits = "".join(ch for ch in str(number or "") if ch.isdigit())
        if digits:
            self.counters[entity] = max(self.counters[entity], int(digits))

    def set_fields(self, entity: str, record: Record, changes: Record, replace: Iterable[str] = ()) -> Record:
        """Control-plane write that bypasses closed-document rules (status, payment, late edits);
        detail fields named in `replace` are replaced wholesale."""
        graph = GRAPHS[entity]
        candidate = merge(copy.deepcopy(record), changes, self.new_id)
        for name in replace:
            candidate[name] = [{**row, "id": row.get("id") or self.new_id()} for row in changes.get(name) or []]
        graph.derive(candidate, self)
        return self.save(graph, candidate, record)

    def delete(self, entity: str, record: Record) -> None:
        graph = GRAPHS[entity]
        self.records[entity].pop(record["id"], None)
        self.index[entity].pop(self._fold(graph.key_of(record) or ()), None)

    # -- faults --------------------------------------------------------------------------------

    def take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self.faults.popleft()
        return fault


class _Invalid(errors.AcumaticaError):
    """A PUT that failed validation; the app renders the candidate with its errors (422)."""

    def __init__(self, candidate: Record) -> None:
        super().__init__(422, None)
        self.candidate = candidate


Invalid = _Invalid


def _same(a: Record, b: Record, stamp: str) -> bool:
    strip: Callable[[Record], Record] = lambda r: {k: v for k, v in r.items() if k != stamp}  # noqa: E731
    return strip(a) == strip(b)

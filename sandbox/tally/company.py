"""One Tally company: its masters, its vouchers, the id sequences and the lookup indexes."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable, Iterator
from datetime import date

from .model import (
    COSTCENTRE,
    DEFAULT_GODOWN,
    DEFAULT_VOUCHER_TYPES,
    GODOWN,
    GROUP,
    LEDGER,
    MASTER_KINDS,
    NAMESPACE,
    PREDEFINED_GROUPS,
    PREDEFINED_LEDGERS,
    STOCKGROUP,
    STOCKITEM,
    UNIT,
    VOUCHERTYPE,
    Master,
    Voucher,
)

CHILD_KINDS = {
    GROUP: (GROUP, LEDGER), STOCKGROUP: (STOCKGROUP, STOCKITEM), GODOWN: (GODOWN,),
    VOUCHERTYPE: (VOUCHERTYPE,), COSTCENTRE: (COSTCENTRE,),
}


class Company:
    """Masters keyed by exact name; vouchers keyed by MasterID and indexed by date and number."""

    def __init__(self, name: str, books_from: date, *, guid: str | None = None) -> None:
        self.name = name
        self.books_from = books_from
        self.guid = guid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"tally-sandbox:{name}"))
        self.masters: dict[str, dict[str, Master]] = {kind: {} for kind in MASTER_KINDS}
        self._names: dict[str, dict[str, Master]] = {ns: {} for ns in set(NAMESPACE.values())}
        self.vouchers: dict[int, Voucher] = {}
        self._by_date: list[tuple[int, int]] = []
        self._by_number: dict[tuple[date, str], list[int]] = {}
        self._by_guid: dict[str, int] = {}
        self._auto_numbers: dict[str, int] = {}
        self._object_seq = 0
        self._master_seq = self._voucher_seq = 0
        self.alt_mst_id = self.alt_vch_id = 0
        self.price_levels: list[str] = []  # F11 "multiple price levels": names a FULLPRICELIST may use

    @classmethod
    def create(
        cls, name: str, books_from: date, voucher_types: Iterable[str | tuple[str, str]] | None = None,
    ) -> Company:
        """A new company with Tally's predefined groups, ledgers, godown and voucher types."""
        company = cls(name, books_from)
        for group, parent in PREDEFINED_GROUPS:
            company.add_master(GROUP, group, parent=parent, predefined=True)
        for ledger, parent in PREDEFINED_LEDGERS:
            company.add_master(LEDGER, ledger, parent=parent, predefined=True)
        company.add_master(GODOWN, DEFAULT_GODOWN, predefined=True)
        for entry in DEFAULT_VOUCHER_TYPES if voucher_types is None else voucher_types:
            vt_name, parent = (entry, entry) if isinstance(entry, str) else entry
            company.add_master(VOUCHERTYPE, vt_name, parent=parent, predefined=vt_name == parent)
        return company

    # ---- ids ------------------------------------------------------------------------------

    def _next_guid(self) -> str:
        # One counter for every object, so a ledger and a voucher never share a GUID (reference §6).
        self._object_seq += 1
        return f"{self.guid}-{self._object_seq:08x}"

    def bump_master(self, master: Master) -> None:
        self.alt_mst_id += 1
        master.alter_id = self.alt_mst_id

    def bump_voucher(self, voucher: Voucher) -> None:
        self.alt_vch_id += 1
        voucher.alter_id = self.alt_vch_id

    # ---- masters --------------------------------------------------------------------------

    def add_master(self, kind: str, name: str, **values: object) -> Master:
        self._master_seq += 1
        master = Master(kind, name, self._master_seq, self._next_guid(), 0, **values)  # type: ignore[arg-type]
        self.bump_master(master)
        self.masters[kind][name] = master
        self._register(master)
        return master

    def master(self, kind: str, name: str) -> Master | None:
        """Exact-name lookup: no alias, no case folding, no trimming (reference §4)."""
        return self.masters[kind].get(name)

    def taken(self, kind: str, name: str) -> Master | None:
        """The master already using `name` (as name or alias) in this kind's name space."""
        return self._names[NAMESPACE[kind]].get(name)

    def _register(self, master: Master) -> None:
        space = self._names[NAMESPACE[master.kind]]
        for key in (master.name, *master.aliases):
            space[key] = master

    def _unregister(self, master: Master) -> None:
        space = self._names[NAMESPACE[master.kind]]
        for key in (master.name, *master.aliases):
            if space.get(key) is master:
                del space[key]

    def rename_master(self, master: Master, name: str, aliases: list[str]) -> None:
        old = master.name
        self._unregister(master)
        del self.masters[master.kind][old]
        master.name, master.aliases = name, aliases
        self.masters[master.kind][name] = master
        self._register(master)
        if old != name:
            self._relink(master.kind, old, name)

    def _relink(self, kind: str, old: str, new: str) -> None:
        """Children name their parent (and items their unit) by name; a rename carries over."""
        for child_kind in CHILD_KINDS.get(kind, ()):
            for other in self.masters[child_kind].values():
                if other.parent == old:
                    other.parent = new
        if kind == UNIT:
            for item in self.masters[STOCKITEM].values():
                if item.base_unit == old:
                    item.base_unit = new

    def remove_master(self, master: Master) -> None:
        self._unregister(master)
        del self.masters[master.kind][master.name]

    def base_type(self, vtype: Master) -> str:
        """The predefined voucher type a (possibly user-defined) type descends from."""
        seen: set[str] = set()
        while not vtype.predefined and vtype.parent and vtype.parent not in seen:
            seen.add(vtype.name)
            parent = self.master(VOUCHERTYPE, vtype.parent)
            if parent is None:
                break
            vtype = parent
        return vtype.name

    # ---- vouchers -------------------------------------------------------------------------

    def next_number(self, vtype: Master) -> str:
        """Automatic voucher numbering, one sequence per voucher type."""
        self._auto_numbers[vtype.name] = self._auto_numbers.get(vtype.name, 0) + 1
        return str(self._auto_numbers[vtype.name])

    def add_voucher(self, voucher: Voucher) -> Voucher:
        self._voucher_seq += 1
        voucher.master_id, voucher.guid = self._voucher_seq, self._next_guid()
        self.bump_voucher(voucher)
        self._index(voucher)
        return voucher

    def replace_voucher(self, old: Voucher, new: Voucher) -> Voucher:
        """Alter: the new body takes the old identity (GUID, MasterID) and a fresh AlterID."""
        self._unindex(old)
        new.master_id, new.guid = old.master_id, old.guid
        self.bump_voucher(new)
        self._index(new)
        return new

    def remove_voucher(self, voucher: Voucher) -> None:
        self._unindex(voucher)

    def _index(self, v: Voucher) -> None:
        self.vouchers[v.master_id] = v
        bisect.insort(self._by_date, (v.date.toordinal(), v.master_id))
        self._by_number.setdefault((v.date, v.number), []).append(v.master_id)
        self._by_guid[v.guid] = v.master_id

    def _unindex(self, v: Voucher) -> None:
        del self.vouchers[v.master_id]
        key = (v.date.toordinal(), v.master_id)
        del self._by_date[bisect.bisect_left(self._by_date, key)]
        ids = self._by_number[(v.date, v.number)]
        ids.remove(v.master_id)
        if not ids:
            del self._by_number[(v.date, v.number)]
        del self._by_guid[v.guid]

    def by_number(self, day: date, number: str) -> Voucher | None:
        """Date + number lookup. Ignores the voucher type on purpose (reference §3: collisions)."""
        ids = self._by_number.get((day, number))
        return self.vouchers[min(ids)] if ids else None

    def by_guid(self, guid: str) -> Voucher | None:
        mid = self._by_guid.get(guid)
        return None if mid is None else self.vouchers[mid]

    def between(self, start: date | None = None, end: date | None = None) -> Iterator[Voucher]:
        """Vouchers in date order (then entry order) within [start, end], found by bisection."""
        lo = 0 if start is None else bisect.bisect_left(self._by_date, (start.toordinal(), 0))
        hi = (
            len(self._by_date) if end is None
            else bisect.bisect_right(self._by_date, (end.toordinal(), 1 << 62))
        )
        vouchers = self.vouchers
        return (vouchers[mid] for _, mid in self._by_date[lo:hi])

    def count_between(self, start: date | None = None, end: date | None = None) -> int:
        """How many vouchers `between(start, end)` yields, without walking them."""
        lo = 0 if start is None else bisect.bisect_left(self._by_date, (start.toordinal(), 0))
        hi = (
            len(self._by_date) if end is None
            else bisect.bisect_right(self._by_date, (end.toordinal(), 1 << 62))
        )
        return max(0, hi - lo)

    def last_voucher_date(self) -> date | None:
        return date.fromordinal(self._by_date[-1][0]) if self._by_date else None

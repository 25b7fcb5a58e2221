"""Master import (ID `All Masters`): Create / Alter / Delete of groups, ledgers, items... (reference §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .company import CHILD_KINDS, Company
from .costcentres import check_category, named_in
from .model import (
    COSTCENTRE,
    GODOWN,
    GROUP,
    KIND_LABEL,
    LEDGER,
    STOCKGROUP,
    STOCKITEM,
    UNIT,
    VOUCHERTYPE,
    Master,
    Raw,
    Voucher,
)
from .prices import PRICE_TAGS, read_price_lists
from .raw import raw_node
from .replies import ImportResult, Rejected
from .values import is_yes, parse_amount, parse_quantity, parse_rate
from .xmlio import attr, child, kids, text, value

PARENT_KIND = {
    GROUP: GROUP, LEDGER: GROUP, STOCKGROUP: STOCKGROUP, STOCKITEM: STOCKGROUP, GODOWN: GODOWN,
    VOUCHERTYPE: VOUCHERTYPE, COSTCENTRE: COSTCENTRE,
}
_MISSING_PARENT = {GROUP: "Parent group '{}' does not exist!", STOCKGROUP: "Stock Group '{}' does not exist!",
                   GODOWN: "Godown '{}' does not exist!", VOUCHERTYPE: "Voucher Type '{}' does not exist!",
                   COSTCENTRE: "[sandbox] Cost Centre '{}' does not exist!"}
_MODELLED = frozenset({"NAME", "NAME.LIST", "LANGUAGENAME.LIST", "PARENT", "BASEUNITS", "OPENINGBALANCE",
                       "OPENINGRATE", "DECIMALPLACES", "ISSIMPLEUNIT", "GUID", "MASTERID", "ALTERID"})


@dataclass(slots=True)
class MasterInput:
    kind: str
    target: str
    names: list[str]
    tags: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    extra: list[Raw] = field(default_factory=list)
    price_nodes: dict[str, list[etree._Element]] = field(default_factory=dict)


def apply_master(company: Company, el: etree._Element, dups: str, result: ImportResult) -> None:
    """Process one master element; failures become line errors, never exceptions."""
    action = (attr(el, "ACTION") or "Create").strip().lower()
    try:
        data = read_master(el)
        if action == "create":
            _create(company, data, dups.strip().lower(), result)
        elif action == "alter":
            _alter(company, _target(company, data), data)
            result.add("ALTERED")
        elif action == "delete":
            _delete(company, _target(company, data))
            result.add("DELETED")
        else:
            raise Rejected(f"Unknown ACTION '{action}' for {KIND_LABEL[data.kind]}", structural=True)
    except Rejected as exc:
        result.fail(exc)


def read_master(el: etree._Element) -> MasterInput:
    data = MasterInput(el.tag, attr(el, "NAME"), _names(el), {})
    for node in kids(el):
        if node.tag in _MODELLED:
            data.tags[node.tag] = value(node)
        elif node.tag in PRICE_TAGS and data.kind == STOCKITEM:
            data.price_nodes.setdefault(node.tag, []).append(node)
        elif len(node):
            data.extra.append(raw_node(node))
        else:
            data.fields[node.tag] = text(node)
    return data


def _names(el: etree._Element) -> list[str]:
    """Primary name first, aliases after: LANGUAGENAME.LIST/NAME.LIST/NAME, NAME.LIST, or NAME."""
    holder = child(el, "LANGUAGENAME.LIST")
    lists = [holder] if holder is not None else [el]
    for parent in lists:
        name_list = child(parent, "NAME.LIST")
        if name_list is not None:
            return [text(n) for n in kids(name_list) if n.tag == "NAME"]
    return [text(n) for n in kids(el) if n.tag == "NAME"]


def _target(company: Company, data: MasterInput) -> Master:
    found = company.master(data.kind, data.target)
    if found is None:
        raise Rejected(f"{KIND_LABEL[data.kind]} '{data.target}' does not exist!")
    return found


def _create(company: Company, data: MasterInput, dups: str, result: ImportResult) -> None:
    name = data.names[0] if data.names else data.target
    if not name:
        raise Rejected(f"{KIND_LABEL[data.kind]} name is missing", structural=True)
    existing = next((m for key in (name, *data.names[1:]) if (m := company.taken(data.kind, key))), None)
    if existing is not None:
        _duplicate(company, existing, data, dups, result)
        return
    _check_name(data, name)
    values = _values(company, data, name, None)
    master = company.add_master(data.kind, name, aliases=data.names[1:], fields=data.fields,
                                extra=data.extra, **values)
    result.add("CREATED")
    result.counts["LASTMID"] = master.master_id


def _duplicate(company: Company, existing: Master, data: MasterInput, dups: str, result: ImportResult) -> None:
    """IMPORTDUPS (reference §4): modify or ignore when asked; otherwise a duplicate is an error."""
    if dups.startswith("modify") and existing.kind == data.kind:
        data.target = existing.name
        _alter(company, existing, data)
        result.add("ALTERED")
    elif dups.startswith("ignore"):
        result.add("IGNORED")
    else:
        raise Rejected(f"{KIND_LABEL[existing.kind]} '{existing.name}' already exists!")


def _alter(company: Company, master: Master, data: MasterInput) -> None:
    """Alter changes only what the element carries; NAME.LIST renames (reference §4)."""
    name = data.names[0] if data.names else master.name
    aliases = data.names[1:] if data.names else master.aliases
    for key in (name, *aliases):
        clash = company.taken(master.kind, key)
        if clash is not None and clash is not master:
            raise Rejected(f"{KIND_LABEL[clash.kind]} '{key}' already exists!")
    _check_name(data, name)
    values = _values(company, data, name, master)
    company.rename_master(master, name, aliases)
    for key, val in values.items():
        setattr(master, key, val)
    master.fields.update(data.fields)
    master.extra = data.extra or master.extra
    company.bump_master(master)


def _delete(company: Company, master: Master) -> None:
    if master.predefined or _in_use(company, master):
        raise Rejected(f"{KIND_LABEL[master.kind]} '{master.name}' Cannot be deleted!")
    company.remove_master(master)


def _check_name(data: MasterInput, name: str) -> None:
    simple = is_yes(data.tags.get("ISSIMPLEUNIT", "Yes"))
    if data.kind == UNIT and simple and any(ch.isspace() for ch in name):
        raise Rejected("Master name contains invalid characters")


def _values(company: Company, data: MasterInput, name: str, current: Master | None) -> dict[str, Any]:
    """Validated model attributes carried by the element (all of them on create)."""
    tags, out = data.tags, {}
    if "PARENT" in tags or current is None:
        out["parent"] = _parent(company, data.kind, tags.get("PARENT", ""), name)
    try:
        if data.kind == LEDGER and "OPENINGBALANCE" in tags:
            out["opening_balance"] = parse_amount(tags["OPENINGBALANCE"] or "0")
        if data.kind == UNIT:
            out.update(_unit_values(tags))
        if data.kind == COSTCENTRE:
            check_category(data.fields.get("CATEGORY", ""))
        if data.kind == STOCKITEM:
            out.update(_item_values(company, data, current))
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc
    return out


def _parent(company: Company, kind: str, parent: str, name: str) -> str:
    parent_kind = PARENT_KIND.get(kind)
    if parent_kind is None:
        return ""
    # Empty PARENT means Primary; the literal "Primary" is looked up and fails (reference §4).
    if not parent and kind not in (LEDGER, VOUCHERTYPE):
        return ""
    seen = {name}
    node = company.master(parent_kind, parent)
    if node is None:
        raise Rejected(_MISSING_PARENT[parent_kind].format(parent))
    while node is not None and node.name not in seen:
        seen.add(node.name)
        node = company.master(parent_kind, node.parent) if node.parent else None
    if node is not None and kind == parent_kind:
        raise Rejected(f"{KIND_LABEL[kind]} '{name}' cannot be under its own child '{parent}'")
    return parent


def _unit_values(tags: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "ISSIMPLEUNIT" in tags:
        out["is_simple"] = is_yes(tags["ISSIMPLEUNIT"])
    if tags.get("DECIMALPLACES", "").strip():
        places = int(tags["DECIMALPLACES"])
        if not 0 <= places <= 4:
            raise ValueError(f"DECIMALPLACES {places} is out of range")
        out["decimal_places"] = places
    return out


def _item_values(company: Company, data: MasterInput, current: Master | None) -> dict[str, Any]:
    tags = data.tags
    unit = tags["BASEUNITS"] if "BASEUNITS" in tags else (current.base_unit if current else "")
    if unit and company.master(UNIT, unit) is None:
        raise Rejected(f"Unit '{unit}' does not exist!")
    out: dict[str, Any] = {"base_unit": unit}
    if data.price_nodes or current is None:
        # A list that is sent replaces that list; the others stay as they were (prices.py).
        kept = dict(current.prices) if current is not None else {}
        out["prices"] = kept | read_price_lists(data.price_nodes, unit, company.price_levels)
    if tags.get("OPENINGBALANCE", "").strip():
        qty, qty_unit = parse_quantity(tags["OPENINGBALANCE"])
        if qty_unit and qty_unit != unit:
            raise Rejected(f"[sandbox] Unit '{qty_unit}' is not the base unit '{unit}' of the item")
        out["opening_qty"] = qty
    if tags.get("OPENINGRATE", "").strip():
        out["opening_rate"] = parse_rate(tags["OPENINGRATE"])[0]
    return out


def _in_use(company: Company, master: Master) -> bool:
    for child_kind in CHILD_KINDS.get(master.kind, ()):
        if any(m.parent == master.name for m in company.masters[child_kind].values()):
            return True
    if master.kind == UNIT and any(i.base_unit == master.name for i in company.masters[STOCKITEM].values()):
        return True
    if master.kind == COSTCENTRE:
        return _in_use_cost_centre(company, master)
    return any(master in _references(v) for v in company.vouchers.values())


def _in_use_cost_centre(company: Company, master: Master) -> bool:
    lines = (line for v in company.vouchers.values()
             for line in (*v.ledger_lines, *(a for i in v.inventory_lines for a in i.allocations)))
    return any(master.name in named_in(line.extra) for line in lines)


def _references(v: Voucher) -> set[Master]:
    refs: set[Master] = {v.vtype, *(ln.ledger for ln in v.ledger_lines)}
    if v.party is not None:
        refs.add(v.party)
    for line in v.inventory_lines:
        refs.add(line.item)
        refs.update(b.godown for b in line.batches)
        refs.update(a.ledger for a in line.allocations)
    return refs


"""Exports: ad-hoc collections with inline TDL, the Company collection, and `$$` functions (reference §6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from lxml import etree

from .company import Company
from .cost import Walk
from .envelope import Request
from .fields import (
    COMPANY_FIELDS,
    LEDGER_FIELDS,
    MASTER_FIELDS,
    STOCKITEM_FIELDS,
    UNIT_FIELDS,
    VOUCHER_FIELDS,
    Context,
    Field,
    generic,
    normalise,
    render,
    value_writer,
)
from .formulas import Compiled, FormulaError, compile_formula
from .model import COSTCENTRE, GODOWN, GROUP, LEDGER, STOCKGROUP, STOCKITEM, UNIT, VOUCHERTYPE
from .replies import envelope, export_error
from .reports import run_report
from .values import parse_any_date
from .xmlio import E, attr, attributes_text, kids, text, typed_line, write_node, written

# Collection TYPE → (master kind or special, field registry, element tag of each object).
_TYPES: dict[str, tuple[str, dict[str, Field], str]] = {
    "voucher": ("VOUCHER", VOUCHER_FIELDS, "VOUCHER"),
    "ledger": (LEDGER, LEDGER_FIELDS, "LEDGER"),
    "group": (GROUP, MASTER_FIELDS, "GROUP"),
    "stockitem": (STOCKITEM, STOCKITEM_FIELDS, "STOCKITEM"),
    "stockgroup": (STOCKGROUP, MASTER_FIELDS, "STOCKGROUP"),
    "godown": (GODOWN, MASTER_FIELDS, "GODOWN"),
    "unit": (UNIT, UNIT_FIELDS, "UNIT"),
    "vouchertype": (VOUCHERTYPE, MASTER_FIELDS, "VOUCHERTYPE"),
    "costcentre": (COSTCENTRE, MASTER_FIELDS, "COSTCENTRE"),
    "company": ("COMPANY", COMPANY_FIELDS, "COMPANY"),
}
# Built-in collections asked for by ID without TDL, and the fields the simulator gives them [U].
_BUILTIN = {"company": "company", "listofcompanies": "company", "ledger": "ledger", "group": "group",
            "stockitem": "stockitem", "godown": "godown", "unit": "unit", "vouchertype": "vouchertype",
            "stockgroup": "stockgroup", "costcentre": "costcentre"}
_BUILTIN_FETCH = ["parent", "guid", "masterid", "alterid", "booksfrom", "lastvoucherdate", "altmstid", "altvchid"]
_UNSIMULATED = {"COMPUTE", "CHILDOF", "BELONGSTO", "SOURCECOLLECTION", "BY", "AGGRCOMPUTE", "WALK",
                "COLLECTION", "SORT", "KEEPSOURCE"}


class ExportError(ValueError):
    """The export cannot run; the message becomes a LINEERROR."""


@dataclass(slots=True)
class CollectionSpec:
    name: str
    type: str
    fetch: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)


def run_export(loaded: Iterable[Company], company: Company, request: Request, walk: Walk | None = None) -> E:
    """Answer one export; `walk` (if given) counts the vouchers it walked, for the cost model."""
    walk = Walk() if walk is None else walk
    try:
        if request.type == "function":
            return _function(company, request.id)
        if request.type == "collection":
            return _collection(loaded, company, request, walk)
        if request.type == "data":
            return run_report(company, request)
        raise ExportError(f"[sandbox] {request.type.title()} export '{request.id}' is not simulated")
    except (ExportError, FormulaError) as exc:
        return export_error(str(exc))


def _function(company: Company, name: str) -> E:
    """`$$CurrentSimpleCompany` / `$$CurrentCompany` answer `DATA/RESULT TYPE="String"`."""
    if normalise(name).lstrip("$") in ("currentsimplecompany", "currentcompany"):
        result = E("RESULT", company.name, {"TYPE": "String"})
        return envelope("1", E("DATA", kids=[result]))
    raise ExportError(f"[sandbox] Function '{name}' is not simulated")


def _collection(loaded: Iterable[Company], company: Company, request: Request, walk: Walk) -> E:
    spec = _find_collection(request)
    kind, registry, tag = _TYPES[spec.type]
    ctx = Context(company, *_period(request), walk=walk, depth=_ROW_DEPTH + 1)
    tests = [_formula(request.tdl, name, registry, ctx) for name in spec.filters]
    objects = _objects(loaded, company, kind, ctx, tests)
    passed = (o for o in objects if all(t.test(o) for t in tests))
    plan = [_planned(method, registry.get(method)) for method in dict.fromkeys(spec.fetch)]
    rows = [_object_text(o, tag, plan, ctx) for o in passed]
    return envelope("1", E("DATA", kids=[E("COLLECTION", kids=rows)]))


_ROW_DEPTH = 4  # where `_collection` puts each object: ENVELOPE > BODY > DATA > COLLECTION > object


def _find_collection(request: Request) -> CollectionSpec:
    defs = [] if request.tdl is None else [c for c in kids(request.tdl) if c.tag == "COLLECTION"]
    # The legacy style runs the ad-hoc collection when REPORTNAME is "Collection" (reference §2).
    if request.style == "legacy" and defs:
        return _read_collection(defs[0])
    wanted = request.id.strip().casefold()
    for definition in defs:
        if attr(definition, "NAME").strip().casefold() == wanted:
            return _read_collection(definition)
    builtin = _BUILTIN.get(normalise(request.id))
    if builtin is None:
        raise ExportError(f"Could not find Collection '{request.id}'!")
    return CollectionSpec(request.id, builtin, _BUILTIN_FETCH)


def _read_collection(el: etree._Element) -> CollectionSpec:
    spec = CollectionSpec(attr(el, "NAME"), "")
    for node in kids(el):
        if node.tag == "TYPE":
            spec.type = normalise(text(node))
        elif node.tag in ("FETCH", "NATIVEMETHOD"):
            spec.fetch += [normalise(m) for m in text(node).split(",") if m.strip()]
        elif node.tag in ("FILTER", "FILTERS"):
            spec.filters += [m.strip() for m in text(node).split(",") if m.strip()]
        elif node.tag in _UNSIMULATED:
            raise ExportError(f"[sandbox] Collection attribute '{node.tag}' is not simulated")
    if spec.type not in _TYPES:
        raise ExportError(f"[sandbox] Collection TYPE '{spec.type}' is not simulated")
    return spec


def _period(request: Request) -> tuple[date | None, date | None]:
    bounds = []
    for var in ("SVFROMDATE", "SVTODATE"):
        raw = request.statics.get(var, "").strip()
        day = parse_any_date(raw) if raw else None
        if raw and day is None:
            raise ExportError(f"[sandbox] {var} '{raw}' is not a date")
        bounds.append(day)
    return bounds[0], bounds[1]


def _formula(tdl: etree._Element | None, name: str, registry: dict[str, Field], ctx: Context) -> Compiled:
    for node in [] if tdl is None else kids(tdl):
        if node.tag == "SYSTEM" and attr(node, "NAME").strip().casefold() == name.casefold():
            try:
                return compile_formula(text(node), lambda method: _getter(registry, method, ctx))
            except FormulaError as exc:
                raise FormulaError(f"[sandbox] Formula '{name}' is not simulated: {exc}") from exc
    raise ExportError(f"Could not find Formula '{name}'!")


def _getter(registry: dict[str, Field], method: str, ctx: Context) -> Callable[[Any], Any]:
    known = registry.get(method)
    if known is not None and known.type != "List":
        return lambda obj: known.read(obj, ctx)
    # Fields kept verbatim from the import; an unknown method reads as empty, as in TDL.
    return lambda obj: (found[1] if (found := generic(getattr(obj, "fields", {}), method)) else "")


def _objects(loaded: Iterable[Company], company: Company, kind: str, ctx: Context,
             tests: list[Compiled]) -> Iterable[Any]:
    if kind == "COMPANY":
        return list(loaded)
    if kind != "VOUCHER":
        # Masters come back sorted by name, as Tally lists them [U].
        return sorted(company.masters[kind].values(), key=lambda m: m.name.casefold())
    start, end = ctx.start, ctx.end
    for test in tests:  # a formula's $Date bounds narrow the scan like SVFROMDATE/SVTODATE
        start = max(filter(None, (start, test.start)), default=None)
        end = min(filter(None, (end, test.end)), default=None)
    ctx.walk.over(company, start, end)
    return company.between(start, end)


Planned = tuple[str, Field | None, Callable[[Any], str] | None]


def _planned(method: str, spec: Field | None) -> Planned:
    """A FETCH method, its registry field and, for a value, the writer of its typed leaf from the value read."""
    scalar = spec is not None and spec.type not in ("List", "Attr")
    return method, spec, value_writer(spec.tag, spec.type) if scalar else None


def _object_text(obj: Any, tag: str, plan: list[Planned], ctx: Context) -> str:
    """One object of the collection, written at `ctx.depth - 1` (xmlio.written): its fetched fields (`plan`:
    each method once, as `_planned`)."""
    if tag == "VOUCHER":
        attrs = _voucher_attributes(obj.vtype.name, obj.view)
    else:
        attrs = attributes_text({"NAME": obj.name, "RESERVEDNAME": ""})
    depth = ctx.depth
    kids: list[str] = []
    for method, spec, write in plan:
        if write is not None:
            kids.append(write(spec.read(obj, ctx)))
        elif spec is not None:
            # a voucher's lines come written already; a master's lists as nodes
            kids += [kid if kid.__class__ is str else written(kid, depth) for kid in render(spec, spec.read(obj, ctx))]
        elif (found := generic(getattr(obj, "fields", {}), method)) is not None:
            kids += render(found[0], found[0].read(obj, ctx), typed_line)
    return write_node(tag, attrs, kids, depth - 1)


@lru_cache(maxsize=1024)  # a voucher's start tag varies only with its type and view
def _voucher_attributes(vtype: str, view: str) -> str:
    return attributes_text({"REMOTEID": "", "VCHTYPE": vtype, "ACTION": "Create", "OBJVIEW": view})

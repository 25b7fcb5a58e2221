"""Import requests: objects processed one by one, no rollback, aggregate counters (reference §5)."""

from __future__ import annotations

from lxml import etree

from .company import Company
from .envelope import Request
from .masters import apply_master
from .model import MASTER_KINDS, Voucher
from .replies import ImportResult, Rejected, refused
from .values import parse_any_date
from .voucher_build import build_voucher
from .xmlio import attr, child, text

_REPORTS = {"vouchers": "VOUCHER", "all masters": "MASTER"}


def run_import(company: Company, request: Request) -> ImportResult:
    wanted = _REPORTS.get(request.id.strip().lower())
    if wanted is None:
        return refused(f"Could not find Report '{request.id}'!")
    result = ImportResult()
    dups = request.statics.get("IMPORTDUPS", "")
    for el in request.objects:
        kind = "VOUCHER" if el.tag == "VOUCHER" else "MASTER" if el.tag in MASTER_KINDS else None
        if kind is None:
            result.fail(Rejected(f"[sandbox] '{el.tag}' objects are not simulated", structural=True))
        elif kind != wanted:
            result.fail(Rejected(f"[sandbox] {el.tag} cannot be imported with '{request.id}'", structural=True))
        elif kind == "VOUCHER":
            apply_voucher(company, el, result)
        else:
            apply_master(company, el, dups, result)
    return result


def apply_voucher(company: Company, el: etree._Element, result: ImportResult) -> None:
    """One voucher: Create / Alter / Cancel / Delete (reference §3.7); failures become line errors."""
    action = (attr(el, "ACTION") or "Create").strip().lower()
    try:
        if action == "create" or (action == "alter" and not attr(el, "TAGNAME")):
            # An Alter without an identifying attribute creates a new voucher (reference §3.7, §9.8).
            created = company.add_voucher(build_voucher(company, el))
            result.add("CREATED")
            result.counts["LASTVCHID"] = created.master_id
        elif action == "alter":
            old = locate(company, el)
            company.replace_voucher(old, build_voucher(company, el, default_number=old.number))
            result.add("ALTERED")
        elif action == "cancel":
            _cancel(company, locate(company, el), el)
            result.add("CANCELLED")
        elif action == "delete":
            company.remove_voucher(locate(company, el))
            result.add("DELETED")
        else:
            raise Rejected(f"Unknown ACTION '{action}' for Voucher", structural=True)
    except Rejected as exc:
        result.fail(exc)


def locate(company: Company, el: etree._Element) -> Voucher:
    """Find the target of Alter/Cancel/Delete by MasterId, GUID, or DATE + Voucher Number."""
    tag = attr(el, "TAGNAME").replace(" ", "").lower()
    tag_value = attr(el, "TAGVALUE")
    found: Voucher | None = None
    if tag == "masterid":
        found = company.vouchers.get(int(tag_value)) if tag_value.strip().isdigit() else None
    elif tag == "guid":
        found = company.by_guid(tag_value.strip())
    elif tag == "vouchernumber":
        day = parse_any_date(attr(el, "DATE"))
        # Deliberately ignores VCHTYPE: a Sales #4 and a Purchase #4 collide (reference §3).
        found = company.by_number(day, tag_value) if day else None
    if found is None:
        raise Rejected("Voucher does not exist!")
    return found


def _cancel(company: Company, voucher: Voucher, el: etree._Element) -> None:
    """Cancel keeps the voucher, flagged, with no accounting or stock effect; a NARRATION is taken."""
    voucher.cancelled = True
    narration = child(el, "NARRATION")
    if narration is not None:
        voucher.narration = text(narration)
    company.bump_voucher(voucher)

"""Reports by name (``TYPE`` Data, or the legacy ``Export Data`` with a REPORTNAME): the discovery ones.

Other Tally clients find a company's masters with the built-in ``List of Accounts`` report
(reference §6: it "dumps all masters"), versioned (``TYPE`` Data, ``ID`` List of Accounts) or
legacy (``<TALLYREQUEST>Export Data</TALLYREQUEST>`` + ``EXPORTDATA/REQUESTDESC/REPORTNAME``).
What the simulator answers, and where it comes from:

- Shape: an ``Import Data`` document, so the dump can be imported elsewhere —
  ``ENVELOPE/HEADER/TALLYREQUEST`` "Import Data", ``BODY/IMPORTDATA/REQUESTDESC`` (REPORTNAME
  "All Masters", STATICVARIABLES/SVCURRENTCOMPANY) and ``REQUESTDATA`` with one
  ``TALLYMESSAGE xmlns:UDF="TallyUDF"`` per master. [R: public clients read
  ``ENVELOPE.BODY.IMPORTDATA.REQUESTDATA.TALLYMESSAGE`` as a list of messages, each holding one
  GROUP / LEDGER / STOCKITEM ..., and take the name from the NAME attribute or NAME.LIST.]
- ``ACCOUNTTYPE`` in STATICVARIABLES narrows the dump. Values seen in public clients: "Ledgers",
  "Groups", "Stock Items", "Stock Groups", "Units", "All Inventory Masters" [R]; "All Masters",
  "All Accounting Masters", "Godowns", "Voucher Types" follow Tally's master-export menu [U].
  Matching ignores case and spaces. Absent or empty means "All Masters" (the reference's "dumps all
  masters"). Any other value (including the singular "Ledger" one client sends) answers a
  ``[sandbox]`` LINEERROR: what Tally does with it is not known, and a silently empty or full
  answer would hide the mistake.
- Order: kinds in import-dependency order (groups, ledgers, voucher types, units, godowns, stock
  groups, stock items), parents before children, else creation order, so the dump re-imports.
- Each master: ``NAME`` and ``RESERVEDNAME`` attributes (a predefined master's reserved name is its
  own name [U]), then GUID, PARENT (``&#4; Primary`` at the top), MASTERID, ALTERID,
  LANGUAGENAME.LIST and the kind's opening values (ledger OPENINGBALANCE; item BASEUNITS, CATEGORY,
  OPENINGBALANCE/RATE/VALUE; unit DECIMALPLACES, ISSIMPLEUNIT), then every tag kept verbatim from
  the import. No closing balances: a masters dump walks no vouchers, so it costs nothing under the
  cost model (``cost.py``) [U].
- ``List of Ledgers`` (public clients send it legacy-style, parse ``LEDGER`` elements by their NAME
  attribute and PARENT) answers the same document holding ledgers only [U: no captured reply].
- The list of companies is the ``Company`` collection (reference §6; ``exports.py``); a report of
  that name is not known, so ``List of Companies`` asked as a report is ``[sandbox]`` not simulated
  rather than invented.
- Reports Tally has but the simulator does not build (Trial Balance, Day Book, ...): ``[sandbox]``
  LINEERROR. Any other name: ``Could not find Report 'X'!`` — the wording Tally uses for an
  unknown report (reference §5's captured texts; the same answer as an import to an unknown ID).
"""

from __future__ import annotations

from collections.abc import Iterable

from .company import Company
from .envelope import Request
from .fields import LEDGER_FIELDS, MASTER_FIELDS, STOCKITEM_FIELDS, UNIT_FIELDS, Context, Field, render
from .model import GODOWN, GROUP, LEDGER, STOCKGROUP, STOCKITEM, UNIT, VOUCHERTYPE, Master
from .raw import raw_to_e
from .replies import export_error
from .xmlio import E

_ORDER = (GROUP, LEDGER, VOUCHERTYPE, UNIT, GODOWN, STOCKGROUP, STOCKITEM)
_ACCOUNTING = (GROUP, LEDGER, VOUCHERTYPE)
_INVENTORY = (UNIT, GODOWN, STOCKGROUP, STOCKITEM)
ACCOUNT_TYPES: dict[str, tuple[str, ...]] = {
    "allmasters": _ORDER, "allaccountingmasters": _ACCOUNTING, "allinventorymasters": _INVENTORY,
    "groups": (GROUP,), "ledgers": (LEDGER,), "vouchertypes": (VOUCHERTYPE,), "units": (UNIT,),
    "godowns": (GODOWN,), "stockgroups": (STOCKGROUP,), "stockitems": (STOCKITEM,),
}
_REGISTRY: dict[str, dict[str, Field]] = {LEDGER: LEDGER_FIELDS, STOCKITEM: STOCKITEM_FIELDS, UNIT: UNIT_FIELDS}
# Values that need vouchers (closing balances) are not part of a masters dump.
_SKIPPED = {"name", "closingbalance", "closingrate", "closingvalue"}
# Real Tally reports the simulator does not build: refused as "not simulated", never as unknown.
_UNSIMULATED = {"trialbalance", "daybook", "balancesheet", "profit&lossa/c", "stocksummary", "ledgervouchers",
                "groupsummary", "salesregister", "purchaseregister", "billsreceivable", "billspayable",
                "listofcompanies"}


def run_report(company: Company, request: Request) -> E:
    """Answer an export of a report by name (TYPE Data or legacy REPORTNAME)."""
    key = _key(request.id)
    if key == "listofaccounts":
        raw = request.statics.get("ACCOUNTTYPE", "")
        kinds = ACCOUNT_TYPES.get(_key(raw) or "allmasters")
        if kinds is None:
            return export_error(f"[sandbox] ACCOUNTTYPE '{raw}' is not simulated "
                                f"(use one of: {', '.join(sorted(ACCOUNT_TYPES))}, spaced as in Tally)")
        return masters_dump(company, kinds)
    if key == "listofledgers":
        return masters_dump(company, (LEDGER,))
    if key in _UNSIMULATED:
        return export_error(f"[sandbox] Report '{request.id}' is not simulated")
    return export_error(f"Could not find Report '{request.id}'!")


def masters_dump(company: Company, kinds: Iterable[str]) -> E:
    """The `Import Data` document holding `company`'s masters of `kinds`, one TALLYMESSAGE each."""
    ctx = Context(company)
    messages = [
        E("TALLYMESSAGE", attrs={"xmlns:UDF": "TallyUDF"}, kids=[_master_e(m, ctx)])
        for kind in _ORDER if kind in kinds for m in _parents_first(company.masters[kind].values())
    ]
    statics = E("STATICVARIABLES", kids=[E("SVCURRENTCOMPANY", company.name)])
    desc = E("REQUESTDESC", kids=[E("REPORTNAME", "All Masters"), statics])
    body = E("BODY", kids=[E("IMPORTDATA", kids=[desc, E("REQUESTDATA", kids=messages)])])
    header = E("HEADER", kids=[E("TALLYREQUEST", "Import Data")])
    return E("ENVELOPE", kids=[header, body])


def _master_e(master: Master, ctx: Context) -> E:
    attrs = {"NAME": master.name, "RESERVEDNAME": master.name if master.predefined else ""}
    kids: list[E] = []
    for method, spec in _REGISTRY.get(master.kind, MASTER_FIELDS).items():
        if method not in _SKIPPED:
            kids += render(spec, spec.read(master, ctx))
    written = {k.tag for k in kids}
    kids += [E(tag, text) for tag, text in master.fields.items() if tag not in written]
    kids += [raw_to_e(node) for node in master.extra]
    return E(master.kind, attrs=attrs, kids=kids)


def _parents_first(masters: Iterable[Master]) -> list[Master]:
    """Creation order, except that a parent of the same kind always comes before its children."""
    ordered = sorted(masters, key=lambda m: m.master_id)
    by_name = {m.name: m for m in ordered}
    done: set[int] = set()
    out: list[Master] = []

    def visit(master: Master, seen: frozenset[int]) -> None:
        if master.master_id in done or master.master_id in seen:
            return
        parent = by_name.get(master.parent)
        if parent is not None:
            visit(parent, seen | {master.master_id})
        done.add(master.master_id)
        out.append(master)

    for master in ordered:
        visit(master, frozenset())
    return out


def _key(name: str) -> str:
    return "".join(name.split()).casefold()

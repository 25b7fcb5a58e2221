"""A TallyPrime XML-over-HTTP simulator: a test double of the real Tally, not of our client.

It follows /work/shared/reference/tallyprime.md ("reference §n" in comments), answers HTTP 200 for
everything Tally would (the body carries the outcome), and refuses what Tally refuses. Nothing here
imports `connectors`, `pipelines`, `resources` or `ml_connector`.

Public API
----------
- ``create_app(state, *, import_delay=0.0, cost=None) -> Starlette``: ``GET``/``POST /`` is Tally's
  endpoint; ``cost`` is a ``cost.CostModel`` (off by default).
- ``TallyState``: companies by exact name, ``loaded`` (load order; the last is active), ``stats``;
  ``TallyState.from_masters(spec, *, loaded=True)`` builds one company from the plain spec
  (company, books_from, groups, ledgers, units, godowns, cost_centres, stock_groups, stock_items, voucher_types;
  a custom voucher type is ``{"name": ..., "parent": <standard type>}``; without ``voucher_types``
  every standard type exists, with it only those listed do). ``price_levels`` names the company's
  price levels; a stock item may carry ``standard_prices`` / ``standard_costs``
  (``[{"date", "rate"}]``) and ``price_levels`` (``[{"date", "level", "rate", "discount"?}]``).
- ``Company``: masters and vouchers of one company (``Company.create(name, books_from)``).

Control plane (NOT Tally's API; JSON; does not wait for the request lock; ``?company=`` picks one)
- ``GET /__sandbox/vouchers``: every voucher incl. cancelled (guid, master_id, alter_id, type, date,
  number, reference, party, narration, remote_id, cancelled, ledger_entries, inventory_entries).
- ``GET /__sandbox/stock``: closing quantity per item (all dates). ``GET /__sandbox/masters`` (stock items
  carry their rate lists under ``prices``).
- ``GET /__sandbox/stats``: request counts (ping, requests, import, export, unknown, and
  ``<action>:<type>:<id>``), ``vouchers_walked`` by exports, ``objects_imported``, ``cost_ms``
  charged (only once something was charged). ``POST /__sandbox/reset-stats`` ``{}`` clears them.
- ``GET /__sandbox/cost``; ``POST /__sandbox/cost`` ``{"per_voucher_walked_ms": 0.05, "walk":
  "period"|"company", "per_object_imported_ms": 0.2}`` replaces the cost model (absent keys take
  their defaults, ``{}`` is off; 400 on an unknown key, a negative cost or another walk).
  ``ml-connector sandbox`` reads ``$SANDBOX_TALLY_COST`` (that JSON, or
  ``per_voucher_walked_ms=0.05,walk=company``) in ``sandbox/stack.py``.
- ``POST /__sandbox/company`` ``{"loaded": bool, "name"?: str}``: load / unload a company (unloaded
  is "not open"; a protected company stays unloaded until a person opens it in real Tally).
- ``POST /__sandbox/security`` ``{"username": str, "password": str, "name"?: str}``: give a company
  a login (``"username": ""`` removes it); requests without it are refused (see ``security.py``).
  Tally not running is simply the server stopped.
- ``POST /__sandbox/vouchers/{master_id}/delete`` and ``.../edit`` (UI-style edits: narration,
  reference, number, date, party, cancelled, ledger_amounts, item_quantities; validated like an
  import, bumps ALTERID; 422 with the error if Tally's UI would refuse it).
- ``POST /__sandbox/import-delay`` ``{"seconds": x}``.

Behaviour chosen where the reference is silent or only [R]/[U]
------------------------------------------------------------
Transport and envelopes
- Request encoding: a BOM wins, then the Content-Type charset ("utf-16"/"unicode" mean
  little-endian), then a NUL-byte sniff for BOM-less UTF-16LE; otherwise UTF-8 (ASCII included).
  The reply uses the request's encoding [R/U]: UTF-16 replies are little-endian *without* a BOM,
  ``Content-Type: text/xml; charset=utf-16`` (or ``utf-8``). The running banner is UTF-8.
- Replies are indented one space with CRLF line ends and no XML declaration.
- Versioned requests need ``VERSION`` 1; keyword values (TALLYREQUEST, TYPE, ID, ACTION, TAGNAME)
  are case-insensitive, tag names are not. ``Execute``, a missing HEADER, an unknown
  TALLYREQUEST/TYPE, unparsable XML, or any DOCTYPE/ENTITY declaration (refused before parsing;
  nothing is expanded) answer "Unknown Request, cannot be processed" with STATUS 0.
- ``&#4;`` is accepted on input (XML 1.0 forbids it, Tally uses it) and read as "empty". A
  ``UDF:`` tag needs its ``xmlns:UDF`` declaration (reference §2); without it the XML is malformed.
- TALLYMESSAGE counts only under BODY/DATA (legacy: REQUESTDATA); elsewhere it is ignored and the
  reply shows zero counters.
- Import replies list the counters in the captured order (CREATED, ALTERED, DELETED, LASTVCHID,
  LASTMID, COMBINED, IGNORED, ERRORS, CANCELLED, EXCEPTIONS) then the LINEERRORs. Versioned replies
  also carry ``BODY/DESC/CMPINFO`` (zeros) as captured client models show. STATUS is 1 when the
  request was processed, even if some objects failed; 0 when it was refused (unknown request,
  company not found, unknown import ID) or when nothing was imported and something failed.
- Request-level refusals of an import: zero counters, one LINEERROR, STATUS 0. Export failures
  answer a bare ``<ENVELOPE><LINEERROR>...</LINEERROR></ENVELOPE>`` (the shape seen for "Could not
  find Report").
- Import ID ``Vouchers`` takes only VOUCHER objects and ``All Masters`` only masters; a mismatch, or
  an unsimulated object (COSTCATEGORY, CURRENCY, ...), is an EXCEPTION with a ``[sandbox]`` line
  error. Another ID answers "Could not find Report 'X'!".
- Wording: Tally's own texts end in "!" as in captured replies ("Ledger 'X' does not exist!",
  "Voucher does not exist!"). Texts the simulator had to invent for rules real Tally may not
  enforce start with ``[sandbox]``, so nobody mistakes them for Tally's words.

Companies
- Security (``security.py``): a protected company needs ``SVUSERNAME``/``SVPASSWORD`` in
  STATICVARIABLES on every request that reaches it, except the company list asked without naming
  a company; otherwise a ``[sandbox] Access denied ... password`` LINEERROR. Tally's docs are
  silent on this and integrators' practice is only [R]: the most conservative reading.
- The active company is the last loaded. An empty SVCURRENTCOMPANY means "omitted". Names match
  exactly after XML unescaping. No company loaded: exports (functions included) return an empty
  body; imports answer "Could not find Company '<name as sent>'". A named company that is not
  loaded gets the same LINEERROR on exports and imports.

Masters
- Groups and ledgers share one name space, as do stock groups and stock items; aliases count
  ("<Kind> 'X' already exists!"). IMPORTDUPS "Modify with new data" alters, "Ignore Duplicates"
  counts IGNORED; "Combine Opening Balances" is not simulated (a duplicate stays an error).
- A missing ACTION means Create. Alter changes only the tags sent; a new NAME.LIST renames, and the
  rename follows into children's PARENT and items' BASEUNITS. Delete refuses predefined masters and
  masters still used ("<Kind> 'X' Cannot be deleted!").
- A ledger with an empty PARENT is refused ("Parent group '' does not exist!"): only groups sit
  under Primary. Cycles in group parents are refused.

Vouchers
- Type from VOUCHERTYPENAME, else the VCHTYPE attribute. Checks, first fault wins: type, DATE
  (exactly yyyymmdd: "Voucher date is missing for 'T' voucher 'N'"), DATE not before books
  beginning ("Voucher date 'd' is before the Books Beginning date 'b'!" [U wording]; no upper
  bound), party, then lines in document order (ledgers, items, units, godowns), sign flags, totals.
- Masters are referenced by exact NAME only, never by alias — for ledgers as well as items
  (conservative: Tally resolves the item alias only in the UI).
- Sign rule: a non-zero AMOUNT whose sign disagrees with ISDEEMEDPOSITIVE (Yes = negative) is
  rejected (ERRORS, ``[sandbox]`` text); a missing ISDEEMEDPOSITIVE reads as No. Real Tally may
  accept such a line and book it reversed; rejecting it catches the mistake before a real Tally does.
- Totals: ledger lines + item amounts must net to zero ("Voucher totals do not match! Dr: .. Cr: ..
  Diff: .."); ACCOUNTINGALLOCATIONS are not added, and not checked against the item amount.
  Vouchers without any ledger line (stock journals, plain notes) are not balanced.
- Quantities: the unit must be the item's base unit (``[sandbox]`` error otherwise); a bare number
  is accepted; the value is rounded half-up to the unit's DECIMALPLACES. ACTUALQTY and BILLEDQTY
  stand in for each other; neither means 0. RATE's unit is checked the same way; AMOUNT is never
  recomputed from rate x quantity.
- Godowns: a line without BATCHALLOCATIONS gets one (default godown, "Primary Batch"). A missing
  GODOWNNAME uses the only godown; with several godowns it is Tally's blank EXCEPTIONS 1 with no
  LINEERROR (reference §5). An empty voucher (no lines) is refused (``[sandbox]``).
- VOUCHERNUMBER missing: numbered automatically per type (1, 2, ...) after validation; an Alter
  without a number keeps the old one.
- Ids: GUID = company GUID (uuid5 of the name) + "-" + 8 hex digits of one counter shared by all
  objects, so a master and a voucher never share a GUID; MASTERID and ALTERID run in separate
  master and voucher sequences (reference §6). Cancel bumps ALTERID; Delete does not.
- Alter/Cancel/Delete locate by TAGNAME MasterId, GUID, or Voucher Number + DATE (yyyymmdd or
  1-Apr-2025); the number lookup ignores the type and takes the earliest created match (the
  documented collision). Not found: "Voucher does not exist!". An Alter *without* TAGNAME creates a
  new voucher (reference §3.7, §9.8).
- REMOTEID is stored but never matched: the reported create-or-alter upsert is unverified, so the
  simulator takes the conservative side (the same voucher twice is two vouchers). Collection
  exports write REMOTEID="" on VOUCHER.
- Cancel sets ISCANCELLED (kept, no stock or ledger effect) and takes a NARRATION if sent.

Cost centres (``costcentres.py``)
- COSTCENTRE masters (create, alter, delete; spec ``cost_centres``; exported as collection TYPE CostCentre)
  under the one ``Primary Cost Category``; a ledger line's ``CATEGORYALLOCATIONS.LIST`` /
  ``COSTCENTREALLOCATIONS.LIST`` must name existing cost centres, and a used one cannot be deleted.

Stock item rates (``prices.py``, reference §4 "Standard rates")
- ``STANDARDPRICELIST.LIST`` / ``STANDARDCOSTLIST.LIST`` (DATE, RATE "1600.00/Nos") and
  ``FULLPRICELIST.LIST`` (DATE, PRICELEVEL, PRICELEVELLIST.LIST slabs) are stored, validated (yyyymmdd,
  base unit, known price level, no two entries on one date) and exported by FETCH ``StandardPriceList``,
  ``StandardCostList``, ``FullPriceList``. A list sent on Alter replaces that list. Any alteration
  bumps the item's ALTERID and the company's AltMstId; Delete removes the master without a bump
  (deletions are invisible to AlterID, reference §6), so only the (name, GUID, AlterID) list shows them.

Stock and balances
- Closing quantity = opening + inward - outward over vouchers that are not cancelled or optional,
  of base types Sales, Purchase, Delivery/Receipt Note, Credit/Debit Note, Rejections In/Out, Stock
  Journal, Material In/Out (custom types follow their predefined parent). Orders, memoranda and
  Physical Stock (not simulated) do not move stock. Invoice lines carrying a TRACKINGNUMBER do not
  move stock again (their delivery/receipt note did). Direction is ISDEEMEDPOSITIVE (No = out).
- ClosingValue is average cost over opening + inward, negative because stock is a debit [U];
  ClosingRate is that average. Ledger ClosingBalance = opening + postings of accounting vouchers.

Exports
- The collection is the TDL COLLECTION whose NAME equals ID (case-insensitive); the legacy
  ``Export Data`` with REPORTNAME "Collection" runs the first TDL COLLECTION. A few built-in IDs
  without TDL (Company, List of Companies, Ledger, Group, StockItem, ...) return PARENT, GUID,
  MASTERID, ALTERID (+ company ids, BOOKSFROM, LASTVOUCHERDATE) [U]; anything else is "Could not
  find Collection 'X'!". Object exports are not simulated (``[sandbox]`` LINEERROR).
- Reports (TYPE Data, or legacy REPORTNAME): ``List of Accounts`` (ACCOUNTTYPE) and ``List of
  Ledgers`` answer a masters dump in the ``Import Data`` shape; other real reports are
  ``[sandbox]`` not simulated; unknown names "Could not find Report 'X'!". See ``reports.py``.
- FETCH/NATIVEMETHOD names are case- and space-insensitive; only fetched fields are written, an
  unknown field is silently left out, tags kept verbatim from the import can be fetched by name.
  Fetched lists are written in full. Masters carry NAME and RESERVEDNAME="" attributes and come
  sorted by name; vouchers come in date, then MasterId, order. Empty links read
  ``&#4; Not Applicable``, a Primary parent ``&#4; Primary``. COMPUTE, CHILDOF, SOURCECOLLECTION and
  friends answer a ``[sandbox]`` LINEERROR rather than a wrong result.
- Formulas: the subset in ``formulas.py``; strings compare case-insensitively (TDL); precedence
  NOT > AND > OR; an unknown ``$Field`` reads as empty, as a missing TDL method does (so a typo
  filters everything out). A FILTER naming an undefined formula: "Could not find Formula 'f'!".
- SVFROMDATE/SVTODATE (yyyymmdd, 1-Apr-2025, 01-04-2025) restrict vouchers; SVTODATE is the as-of
  date of closing balances. ``$Date`` bounds in an AND-only formula narrow the scan the same way.
- ``TYPE Function``: ``$$CurrentSimpleCompany``/``$$CurrentCompany`` answer
  ``ENVELOPE/BODY/DATA/RESULT TYPE="String"`` with the resolved company's name; others are not
  simulated.

Concurrency
- Requests are served strictly one at a time (an asyncio lock around processing). After committing
  an import the app sleeps ``import_delay`` seconds inside the lock before answering (the control
  plane stays live).
- Cost model (``cost.py``): an export pays per voucher it walks (the period's, or in the
  pessimistic ``"company"`` walk every voucher of the company), an import per object; the time is
  spent with ``time.sleep`` in the serving thread, so the whole process is busy as Tally's GUI is
  (reference §1, §7): the next request, pings and the control plane wait.
"""

from .app import create_app
from .company import Company
from .state import TallyState

__all__ = ["Company", "TallyState", "create_app"]

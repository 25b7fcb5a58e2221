"""The flows the harness drives, and how to count what each one's target holds, per our key.

Counting reads the simulators' control planes only (never our ledger or our parsers), so a bug in the
product cannot hide itself: Tally's vouchers by the `[ext:<key>]` marker in their narration (active
ones), Zoho Books' invoices and journals by reference number, ShipStation's orders by orderKey (those
the sandbox did not hold before the run), Acumatica's shipments by our key in a package's
`CustomRefNbr1` (`GET <site>/__sandbox/records/Shipment`, every shipment as stored).

Writing flows of `pipelines/registry.py` left out, and why: `master-alignment` and `contacts-zoho`
create masters/contacts the record flows above also create on the way (counted there as part of
each record's write); `inventory-to-shipstation`, `tally-stock-to-walmart` and `acumatica-freight`
set absolute values by key (a level, a price, a freight amount): re-sending is the recovery, there is
no object to duplicate or lose; `acumatica-confirmations` is the confirmation step the
shipments-to-acumatica flow also runs (its ledger flow is counted there).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

MARKER = re.compile(r"\[ext:([^\]]+)\]")


@dataclass(frozen=True)
class Traffic:
    """How a target system's writes and read-backs look on the wire, for placing faults."""

    write: dict[str, str]  # Rule matchers (method / path / body)
    read_back: dict[str, str]
    kind: str  # "tally", "zoho", "shipstation", "acumatica"
    read: dict[str, str]  # any read of the target (exports, lookups): kill points between the writes


TALLY = Traffic(write={"method": "POST", "body": "<ID>Vouchers</ID>"},
                read_back={"method": "POST", "body": "<ID>MLVoucherIds</ID>"}, kind="tally",
                read={"method": "POST", "body": "<TALLYREQUEST>Export"})
ZOHO = Traffic(write={"method": "POST", "path": r"/invoices(\?|$)"},
               read_back={"method": "GET", "path": r"/invoices\?"}, kind="zoho", read={"method": "GET"})
ZOHO_JOURNALS = Traffic(write={"method": "POST", "path": r"/journals(\?|$)"},
                        read_back={"method": "GET", "path": r"/journals\?"}, kind="zoho", read={"method": "GET"})
SHIPSTATION = Traffic(write={"method": "POST", "path": r"/orders/createorders?\b"},
                      read_back={"method": "GET", "path": r"^/orders\?"}, kind="shipstation", read={"method": "GET"})
# A Shipment PUT without keys always creates (the target's docstring); the lookup by our key is a GET of Shipments.
ACUMATICA = Traffic(write={"method": "PUT", "path": r"/Shipment(\?|$)"},
                    read_back={"method": "GET", "path": r"/Shipment\?"}, kind="acumatica", read={"method": "GET"})


@dataclass(frozen=True)
class FlowCase:
    name: str  # the CLI name (pipelines/registry.py)
    ledger_flow: str  # the ledger flow of its posting (failed records are counted there)
    key_prefix: str  # our key of each record it writes, as found in the target
    target: Traffic
    source: str  # the proxy in front of the system it reads: "shipstation", "walmart", "acumatica"
    window: Callable[[Any], tuple[datetime, datetime]] | None = None  # --start/--end (given the sandbox)
    day: Callable[[Any], date] | None = None  # --date (given the sandbox)
    first: tuple[str, ...] = ()  # flows run before it, without faults (a return needs its sale's voucher)
    setup: Callable[[Any], None] | None = None  # after `first`, on the sandbox (e.g. buy labels)


def walmart_window(sandbox: Any) -> tuple[datetime, datetime]:
    """The seeded Walmart orders fall in the 17 days before the merchant's start."""
    start = sandbox.merchant.start
    return start - timedelta(days=17), start + timedelta(days=1)


def settlement_day(sandbox: Any) -> date:
    """The seeded settlement's report date (Walmart names it MMDDYYYY)."""
    [report] = sorted(sandbox.walmart_state.settlements)
    return datetime.strptime(report, "%m%d%Y").date()


def labels_now(sandbox: Any) -> tuple[datetime, datetime]:
    """Labels bought by `ship_acumatica_orders` are created now (ShipStation's clock is the wall clock)."""
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(minutes=5)


def ship_acumatica_orders(sandbox: Any) -> None:
    """The warehouse buys a label for every order Acumatica sent to ShipStation (keyed by its order type and
    number, e.g. `SO000123`), as the demo does for three."""
    for order in list(sandbox.shipstation_state.orders.values()):
        if str(order.get("orderKey", "")).startswith("SO") and order["orderStatus"] == "awaiting_shipment":
            sandbox.ship(order["orderId"])


FLOWS: tuple[FlowCase, ...] = (
    FlowCase("shipstation-to-tally", "shipstation_tally.orders", "ss-order-", TALLY, "shipstation"),
    FlowCase("shipments-to-tally", "shipstation_tally.shipments", "ss-shipment-", TALLY, "shipstation"),
    FlowCase("walmart-orders-to-tally", "walmart_tally.sales", "wm-po-", TALLY, "walmart", window=walmart_window),
    FlowCase("walmart-returns-to-tally", "walmart_tally.credit_notes", "wm-rma-", TALLY, "walmart",
             window=walmart_window, first=("walmart-orders-to-tally",)),
    FlowCase("walmart-settlements-to-tally", "walmart_tally.settlement_receipts", "wm-settle-", TALLY, "walmart",
             day=settlement_day, first=("walmart-orders-to-tally", "walmart-returns-to-tally")),
    FlowCase("shipstation-to-zoho", "shipstation_zoho.invoices", "ss-order-", ZOHO, "shipstation"),
    FlowCase("shipments-to-zoho", "shipstation_zoho.journals", "ss-label", ZOHO_JOURNALS, "shipstation",
             first=("shipstation-to-zoho",)),
    FlowCase("acumatica-to-shipstation", "acumatica_shipstation.orders", "", SHIPSTATION, "acumatica"),
    FlowCase("shipments-to-acumatica", "acumatica_shipstation.shipments", "ss-label-", ACUMATICA, "shipstation",
             window=labels_now, first=("acumatica-to-shipstation",), setup=ship_acumatica_orders),
)
BY_NAME = {case.name: case for case in FLOWS}


def sync_args(case: FlowCase, sandbox: Any) -> list[str]:
    """`ml-connector sync` arguments: the flow's window or day, as the demo gives them."""
    if case.window is not None:
        start, end = case.window(sandbox)
        return [case.name, "--start", start.isoformat(), "--end", end.isoformat()]
    if case.day is not None:
        return [case.name, "--date", case.day(sandbox).isoformat()]
    return [case.name]


def tally_keys(sandbox: object) -> Counter[str]:
    vouchers = httpx.get(f"{sandbox.tally.base_url}/__sandbox/vouchers", timeout=120).json()
    return Counter(key for v in vouchers if not v.get("cancelled") for key in MARKER.findall(v.get("narration") or ""))


def zoho_keys(sandbox: object) -> Counter[str]:
    rows = httpx.get(f"{sandbox.zoho_books.base_url}/__sandbox/records/invoices", timeout=120).json()
    return Counter(row.get("reference_number") or "" for row in rows if row.get("status") != "void")


def shipstation_keys(sandbox: object) -> Counter[str]:
    # The V1 API lists orders by page; the state holds every one (the harness shares the process).
    return Counter(str(order.get("orderKey") or "") for order in list(sandbox.shipstation_state.orders.values()))


def postable_orders(sandbox: object) -> set[str]:
    """An oracle read from ShipStation itself: orders not cancelled and with no SKU unknown to Tally."""
    unknown = sandbox.merchant.special["unknown_sku"]
    orders = list(sandbox.shipstation_state.orders.values())
    return {f"ss-order-{o['orderId']}" for o in orders if o["orderStatus"] != "cancelled"
            and o["orderNumber"] != unknown}


# Independent of the product: what a flow's baseline must post (checked before it is trusted as the oracle).
ORACLES: dict[str, Callable[[object], set[str]]] = {"shipstation-to-tally": postable_orders,
                                                    "shipstation-to-zoho": postable_orders}

def acumatica_keys(sandbox: Any) -> Counter[str]:
    """Our key of every package of every shipment Acumatica holds (deleted ones are gone from its records)."""
    from sandbox.merchant_acumatica import ACUMATICA_SITE

    url = f"{sandbox.acumatica.base_url}{ACUMATICA_SITE}/__sandbox/records/Shipment"
    shipments = httpx.get(url, timeout=120).json()["records"]
    return Counter(str(p.get("CustomRefNbr1") or "") for s in shipments for p in s.get("Packages") or [])


def zoho_journal_keys(sandbox: Any) -> Counter[str]:
    rows = httpx.get(f"{sandbox.zoho_books.base_url}/__sandbox/records/journals", timeout=120).json()
    return Counter(row.get("reference_number") or "" for row in rows if row.get("status") != "void")


COUNTERS: dict[str, Callable[[Any], Counter[str]]] = {"tally": tally_keys, "zoho": zoho_keys,
                                                     "shipstation": shipstation_keys, "acumatica": acumatica_keys}


def counter(case: FlowCase) -> Callable[[Any], Counter[str]]:
    return zoho_journal_keys if case.target is ZOHO_JOURNALS else COUNTERS[case.target.kind]


def held(case: FlowCase, sandbox: object, before: Counter[str]) -> Counter[str]:
    """Objects the target holds per key of this flow, leaving out what it held before the run."""
    found = counter(case)(sandbox)
    return Counter({k: n for k, n in found.items() if k.startswith(case.key_prefix) and k and k not in before})

"""The flows the harness drives, and how to count what each one's target holds, per our key.

Counting reads the simulators' control planes only (never our ledger or our parsers), so a bug in the
product cannot hide itself: Tally's vouchers by the `[ext:<key>]` marker in their narration (active
ones), Zoho Books' invoices by reference number, ShipStation's orders by orderKey (those the sandbox
did not hold before the run).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

MARKER = re.compile(r"\[ext:([^\]]+)\]")


@dataclass(frozen=True)
class Traffic:
    """How a target system's writes and read-backs look on the wire, for placing faults."""

    write: dict[str, str]  # Rule matchers (method / path / body)
    read_back: dict[str, str]
    kind: str  # "tally", "zoho", "shipstation"


TALLY = Traffic(write={"method": "POST", "body": "<ID>Vouchers</ID>"},
                read_back={"method": "POST", "body": "<ID>MLVoucherIds</ID>"}, kind="tally")
ZOHO = Traffic(write={"method": "POST", "path": r"/invoices(\?|$)"},
               read_back={"method": "GET", "path": r"/invoices\?"}, kind="zoho")
SHIPSTATION = Traffic(write={"method": "POST", "path": r"/orders/createorders?\b"},
                      read_back={"method": "GET", "path": r"^/orders\?"}, kind="shipstation")


@dataclass(frozen=True)
class FlowCase:
    name: str  # the CLI name (pipelines/registry.py)
    ledger_flow: str  # the ledger flow of its posting (failed records are counted there)
    key_prefix: str  # our key of each record it writes, as found in the target
    target: Traffic
    source: str  # the proxy in front of the system it reads: "shipstation", "walmart", "acumatica"
    window: bool = False  # sync the seeded Walmart window (--start/--end), as the demo does
    first: tuple[str, ...] = ()  # flows run before it, without faults (a return needs its sale's voucher)

    @property
    def pair(self) -> str:
        return {"tally": f"{self.source}-tally", "zoho": "shipstation-zoho",
                "shipstation": "acumatica-shipstation"}[self.target.kind]


FLOWS: tuple[FlowCase, ...] = (
    FlowCase("shipstation-to-tally", "shipstation_tally.orders", "ss-order-", TALLY, "shipstation"),
    FlowCase("shipments-to-tally", "shipstation_tally.shipments", "ss-shipment-", TALLY, "shipstation"),
    FlowCase("walmart-orders-to-tally", "walmart_tally.sales", "wm-po-", TALLY, "walmart", window=True),
    FlowCase("walmart-returns-to-tally", "walmart_tally.credit_notes", "wm-rma-", TALLY, "walmart", window=True,
             first=("walmart-orders-to-tally",)),
    FlowCase("shipstation-to-zoho", "shipstation_zoho.invoices", "ss-order-", ZOHO, "shipstation"),
    FlowCase("acumatica-to-shipstation", "acumatica_shipstation.orders", "", SHIPSTATION, "acumatica"),
)
BY_NAME = {case.name: case for case in FLOWS}


def sync_args(case: FlowCase, sandbox: object) -> list[str]:
    """`ml-connector sync` arguments: the seeded Walmart orders fall in the 17 days before the merchant's start."""
    if not case.window:
        return [case.name]
    start = sandbox.merchant.start
    return [case.name, "--start", (start - timedelta(days=17)).isoformat(),
            "--end", (start + timedelta(days=1)).isoformat()]


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

COUNTERS: dict[str, Callable[[object], Counter[str]]] = {"tally": tally_keys, "zoho": zoho_keys,
                                                        "shipstation": shipstation_keys}


def held(case: FlowCase, sandbox: object, before: Counter[str]) -> Counter[str]:
    """Objects the target holds per key of this flow, leaving out what it held before the run."""
    found = COUNTERS[case.target.kind](sandbox)
    return Counter({k: n for k, n in found.items() if k.startswith(case.key_prefix) and k and k not in before})

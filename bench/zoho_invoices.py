"""Benchmark: ShipStation orders to Zoho Books invoices against the simulator, its 100/minute limit off and on.

Each case (size × limit) runs in its own process: the seeded merchant's orders (customers one per
four orders) are posted as contacts then invoices through the real posters, targets, client and
limiter over loopback HTTP to the Zoho simulator, with a fresh ledger. With the limit on, our
limiter and the simulator share one virtual clock: the simulator really refuses a 101st request in
a minute and our limiter really waits, but a wait advances the clock instead of sleeping, so the
virtual time it took is the wall time the real API would take. The daily cap is off (a 10,000-order
backlog is several days' budget on any plan: see the figures). Printed per case: Zoho requests
(refused ones included) per order, seconds, peak memory (the process's resident high-water mark
above the loaded merchant; the simulator runs in the same process and holds every record it made),
and the wall time at the real 100 requests a minute (measured on the virtual clock with the limit
on; requests ÷ 100 minutes with it off).

    python -m bench.zoho_invoices                  # 1,000 / 5,000 / 10,000 orders, limit off and on
    python -m bench.zoho_invoices --orders 500     # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (1_000, 5_000, 10_000)


def case(orders: int, limited: bool) -> dict[str, Any]:
    """One size, limit on or off: post every order's contact and invoice; the figures."""
    from connectors.common.http import decode_json
    from connectors.shipstation.models import Order
    from connectors.zoho_books.auth import zoho_auth
    from connectors.zoho_books.client import ZohoBooksClient
    from connectors.zoho_books.limits import OrgLimits
    from pipelines.shipstation_zoho.mapping import InvoiceConfig, contact_body, contact_email
    from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, ContactPoster, InvoicePoster
    from pipelines.sides.zoho_books import TARGET
    from pipelines.sides.zoho_books.contacts import ZohoContactTarget
    from pipelines.sides.zoho_books.invoices import ZohoInvoiceTarget
    from pipelines.sides.zoho_books.items import ItemCatalog
    from sandbox import merchant_zoho as mz
    from sandbox.merchant import generate_merchant
    from sandbox.shipstation import serialize
    from sandbox.shipstation.state import ShipStationState
    from state.ledger import SyncLedger

    merchant = generate_merchant(seed=7, n_orders=orders, n_customers=max(120, orders // 4), ship_share=0)
    accounts, books, zoho = mz.start_zoho(merchant, "us", per_minute=100 if limited else 0)
    org = zoho.orgs[mz.ORGANIZATION_ID]
    zoho.limiter.configure(org, daily=0)
    clock = zoho.clock
    auth = zoho_auth(mz.CLIENT_ID, mz.CLIENT_SECRET, mz.REFRESH_TOKEN, accounts_url=accounts["us"].base_url,
                     clock=clock.monotonic)
    limits = OrgLimits(per_minute=100 if limited else 0, concurrency=10, clock=clock.monotonic,
                       sleep=lambda s: clock.advance(s), now=clock.now)
    client = ZohoBooksClient(auth=auth, organization_id=mz.ORGANIZATION_ID, limits=limits,
                             sleep=lambda s: clock.advance(s))
    wire = (decode_json(serialize.dumps(serialize.order(stored))) for stored in ShipStationState.from_merchant(
        merchant).orders.values())  # the orders as ShipStation's V1 API sends them
    parsed = [(Order.from_raw(raw), raw) for raw in wire]
    baseline = _rss_mb()
    with tempfile.TemporaryDirectory() as home:
        ledger = SyncLedger(Path(home) / "ledger.sqlite3")
        started, virtual = time.perf_counter(), clock.monotonic() - time.monotonic()
        contacts = {contact_email(o): (contact_email(o), contact_body(o), raw) for o, raw in parsed
                    if o.order_status != "cancelled"}
        ContactPoster(ZohoContactTarget(client), ledger, "bench", batch_size=10).post(contacts.values())

        def lookup(email: str) -> str | None:
            entry = ledger.get(CONTACTS_FLOW, email, TARGET)
            return entry.target_id if entry is not None and entry.state == "posted" else None

        items = ItemCatalog(client, "create", ledger=ledger)
        poster = InvoicePoster(ZohoInvoiceTarget(client), ledger, "bench", contacts=lookup, items=items,
                               cfg=InvoiceConfig(timezone="Asia/Kolkata"), batch_size=10)
        report = poster.post((o, raw, []) for o, raw in parsed)
        seconds = time.perf_counter() - started
        waited = (clock.monotonic() - time.monotonic()) - virtual
    requests = zoho.limiter.requests[mz.ORGANIZATION_ID]
    refused = sum(zoho.limiter.refused.values())
    books.stop()
    for served in accounts.values():
        served.stop()
    zoho.webhooks.close()
    # With the limit off, the projection: the first minute's 100 requests go at once, then 100 a minute.
    wall = seconds + waited if limited else seconds + max(0, requests - 100) / 100 * 60
    return {"orders": orders, "limit": "on" if limited else "off", "invoices": report.created,
            "failed": report.failed, "why": sorted({f["error"][:90] for f in report.failures})[:3],
            "contacts": len(contacts), "requests": requests, "refused": refused,
            "per_order": round(requests / orders, 2), "seconds": round(seconds, 1),
            "peak_mb": round(_rss_mb() - baseline, 1), "wall_at_100_per_min_h": round(wall / 3600, 2)}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--case", nargs=2, metavar=("ORDERS", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(int(args.case[0]), args.case[1] == "on")))
        return
    print(f"{'orders':>7} {'limit':>5} {'invoices':>8} {'failed':>6} {'requests':>8} {'refused':>7} "
          f"{'req/order':>9} {'seconds':>8} {'peak MB':>8} {'wall @100/min':>13}")
    for orders in args.orders:
        for limit in ("off", "on"):
            out = subprocess.run([sys.executable, "-m", "bench.zoho_invoices", "--case", str(orders), limit],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['orders']:>7,} {r['limit']:>5} {r['invoices']:>8,} {r['failed']:>6,} {r['requests']:>8,} "
                  f"{r['refused']:>7,} {r['per_order']:>9} {r['seconds']:>8} {r['peak_mb']:>8} "
                  f"{r['wall_at_100_per_min_h']:>11} h", flush=True)


if __name__ == "__main__":
    main()

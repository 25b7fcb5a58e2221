"""Benchmark: Tally stock and prices -> Walmart for 1,000 / 5,000 / 10,000 SKUs.

Both simulators run in this process (Tally with its cost model off; Walmart with its rate limits on and
feeds that finish as soon as they are polled, so the seconds are ours, not Walmart's queue). Each sync
runs in a child process, as one Dagster step would: `read_changes` (Tally by AlterID) -> plan ->
`OfferPusher` for inventory, then prices. Three syncs per size:

- `first`: an empty state: every item read from Tally, every SKU sent (bulk feeds);
- `again`: nothing changed in Tally: two small Tally reads, nothing sent;
- `1% changed`: 1% of the items get a new price, 1% sell some units (one Delivery Note): only those go.

Reported: Tally and Walmart requests (the simulators' counters, token requests included), wall seconds of
the child, and its peak resident memory (ru_maxrss).

    python -m bench.walmart_stock                  # 1,000 / 5,000 / 10,000
    python -m bench.walmart_stock --skus 2000      # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx

COMPANY = "Bench Exports Pvt Ltd"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
TODAY = date(2026, 5, 1)
THRESHOLD = 25


def tally_spec(skus: int) -> dict[str, Any]:
    items = [{"name": f"SKU-{n:05d}", "unit": "Nos", "opening_qty": 5 + n % 50,
              "standard_prices": [{"date": "2025-04-01", "rate": f"{10 + n % 90}.99"}]} for n in range(skus)]
    return {"company": COMPANY, "books_from": "2025-04-01", "units": [{"name": "Nos"}], "stock_items": items}


def serve(skus: int) -> tuple[Any, Any]:
    from sandbox.runner import ServedApp
    from sandbox.tally import TallyState
    from sandbox.tally import create_app as tally_app
    from sandbox.walmart import WalmartState
    from sandbox.walmart import create_app as walmart_app
    from sandbox.walmart.catalog import Item
    from sandbox.walmart.feeds import Feeds

    walmart = WalmartState(feeds=Feeds(received_for=0.0, processing_for=0.0))
    for n in range(skus):
        sku = f"SKU-{n:05d}"
        walmart.items[sku] = Item(sku, f"Item {n}", Decimal("1.00"), f"{n:014d}", f"WP{n}", "Tea", "Grocery")
    tally = ServedApp(tally_app(TallyState.from_masters(tally_spec(skus)))).start()
    return tally, ServedApp(walmart_app(walmart, credentials={CLIENT_ID: CLIENT_SECRET})).start()


def tally_import(url: str, report: str, body: str) -> None:
    xml = (f"<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>"
           f"<ID>{report}</ID></HEADER><BODY><DESC><STATICVARIABLES><SVCURRENTCOMPANY>{escape(COMPANY)}"
           f"</SVCURRENTCOMPANY></STATICVARIABLES></DESC><DATA><TALLYMESSAGE>{body}</TALLYMESSAGE></DATA></BODY>"
           f"</ENVELOPE>")
    reply = httpx.post(url + "/", content=xml.encode(), headers={"Content-Type": "text/xml;charset=utf-8"},
                       timeout=120).text
    if "<ERRORS>0</ERRORS>" not in reply or "<EXCEPTIONS>0</EXCEPTIONS>" not in reply:
        raise RuntimeError(f"Tally refused the bench's edit: {reply[-400:]}")


def change_one_percent(url: str, skus: int) -> None:
    """1% of the items: a new standard price from 2026-01-01; another 1%: 2 units sold on one Delivery Note."""
    step = 100
    alters = "".join(f'<STOCKITEM NAME="SKU-{n:05d}" ACTION="Alter"><STANDARDPRICELIST.LIST><DATE>20250401</DATE>'
                     f"<RATE>{10 + n % 90}.99/Nos</RATE></STANDARDPRICELIST.LIST><STANDARDPRICELIST.LIST>"
                     f"<DATE>20260101</DATE><RATE>{n % 90 + 11}.49/Nos</RATE></STANDARDPRICELIST.LIST></STOCKITEM>"
                     for n in range(0, skus, step))
    tally_import(url, "All Masters", alters)
    lines = "".join(f"<ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>SKU-{n:05d}</STOCKITEMNAME>"
                    f"<ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE><RATE>1.00/Nos</RATE><AMOUNT>2.00</AMOUNT>"
                    f"<ACTUALQTY> 2 Nos</ACTUALQTY><BILLEDQTY> 2 Nos</BILLEDQTY></ALLINVENTORYENTRIES.LIST>"
                    for n in range(1, skus, step))
    tally_import(url, "Vouchers", f'<VOUCHER VCHTYPE="Delivery Note" ACTION="Create"><DATE>20260301</DATE>'
                                  f"<VOUCHERTYPENAME>Delivery Note</VOUCHERTYPENAME>{lines}</VOUCHER>")


def child(tally_url: str, walmart_url: str, home: str) -> None:
    """One sync, as the Dagster steps run it; prints what it did and its peak memory."""
    from connectors.tally import TallyClient
    from connectors.walmart.client import WalmartClient
    from connectors.walmart.items import InventoryUpdate, PriceUpdate, WalmartItems
    from pipelines.sides.tally.stock import StockStage, read_changes
    from pipelines.walmart_tally.outbound_feeds import OutstandingFeeds
    from pipelines.walmart_tally.outbound_plan import plan_offers
    from pipelines.walmart_tally.outbound_push import Change, FeedOptions, OfferPusher
    from state.ledger import SyncLedger
    from state.staging import StagingStore

    started = time.perf_counter()
    store = StagingStore(Path(home) / "staging.duckdb")
    stage = StockStage(store)
    with TallyClient(tally_url, COMPANY, timeout=300) as tally:
        read = read_changes(tally, stage, TODAY)
    plan = plan_offers(stage.sellable(TODAY), {})
    ledger, options = SyncLedger(Path(home) / "ledger.sqlite3"), FeedOptions(threshold=THRESHOLD, poll_seconds=0.2)
    sent = {}
    with WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=walmart_url) as client:
        items = WalmartItems(client)
        inventory = [Change(InventoryUpdate(sku=o.sku, quantity=o.quantity), o.stock_item) for o in plan.offers]
        prices = [Change(PriceUpdate(sku=o.sku, amount=o.price), o.stock_item) for o in plan.offers if o.price]
        for kind, changes in (("inventory", inventory), ("price", prices)):
            pusher = OfferPusher(items, ledger, "bench:1:run", kind, options,  # type: ignore[arg-type]
                                 outstanding=OutstandingFeeds(store))
            result = pusher.push(changes)
            sent[kind] = (len(result.sent), len(result.failed), len(result.feeds), result.single_calls)
    print(json.dumps({"seconds": time.perf_counter() - started, "items_read": len(read.changed),
                      "quantities_read": read.quantities_read, "sent": sent,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def requests(url: str, key: str) -> int:
    stats = httpx.get(url + "/__sandbox/stats").json()
    httpx.post(url + "/__sandbox/reset-stats", json={})
    return int(stats.get(key, 0))


def measure(skus: int) -> list[dict[str, Any]]:
    tally, walmart = serve(skus)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as home:
            for case in ("first", "again", "1% changed"):
                if case == "1% changed":
                    change_one_percent(tally.base_url, skus)
                requests(tally.base_url, "requests"), requests(walmart.base_url, "requests")
                out = subprocess.run([sys.executable, "-m", "bench.walmart_stock", "--child", tally.base_url,
                                      walmart.base_url, home], capture_output=True, text=True, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"skus": skus, "case": case, "tally_requests": requests(tally.base_url, "requests"),
                             "walmart_requests": requests(walmart.base_url, "requests"), **result})
    finally:
        tally.stop()
        walmart.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, action="append")
    parser.add_argument("--child", nargs=3, metavar=("TALLY_URL", "WALMART_URL", "HOME"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'SKUs':>6} {'sync':<11} {'Tally req':>9} {'Walmart req':>11} {'items read':>10} "
          f"{'inv sent/failed/feeds/calls':>28} {'price sent/failed/feeds/calls':>30} {'seconds':>8} {'peak MB':>8}")
    for skus in args.skus or (1_000, 5_000, 10_000):
        for r in measure(skus):
            inv, price = ("/".join(map(str, r["sent"][k])) for k in ("inventory", "price"))
            print(f"{r['skus']:>6} {r['case']:<11} {r['tally_requests']:>9} {r['walmart_requests']:>11} "
                  f"{r['items_read']:>10} {inv:>28} {price:>30} {r['seconds']:>8.2f} {r['peak_mb']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()

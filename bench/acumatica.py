"""Benchmark: Acumatica sales orders out to ShipStation and ShipStation labels back as Acumatica shipments.

Both simulators (sandbox/acumatica with its licence throttle off, sandbox/shipstation with its rate limit
off) run in a child process, so the figures are this process's: the pipeline's passes (`runs`) against
real HTTP. Every order is fulfilment-ready (Open, prepayment captured), one to three lines; after the
outbound pass each order gets one label (the ShipStation control plane), then the inbound pass writes
the shipments and the confirmation pass (FULFIL_ON=label) confirms them.

Per size and side: records, requests (and per record), seconds, peak Python memory of the pass
(tracemalloc), Acumatica sessions opened (the simulator's own count) and left open.

    python -m bench.acumatica                 # 1,000 and 5,000 orders
    python -m bench.acumatica --sizes 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

SITE, TENANT, BRANCH, USER, PASSWORD = "/ERP", "Bench", "MAIN", "bench", "bench-pw"
SS_KEY, SS_SECRET = "bench-key", "bench-secret"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


# --- the child: both simulators, seeded ------------------------------------------------------------
def serve(n_orders: int) -> None:
    from sandbox.acumatica import AcumaticaState, Licence, create_app
    from sandbox.runner import serve as run
    from sandbox.shipstation.app import create_app as shipstation_app
    from sandbox.shipstation.state import ShipStationState

    state = AcumaticaState(tenant=TENANT, branches=(BRANCH,), users={USER: PASSWORD}, site=SITE,
                           licence=Licence(requests_per_minute=None, max_api_users=2))
    state.seed("Customer", [{"CustomerID": f"C{n:06d}", "CustomerName": f"Customer {n}", "Status": "Active"}
                            for n in range(1, 201)])
    state.seed("StockItem", [{"InventoryID": f"SKU-{n:03d}", "Description": f"Item {n}", "ItemStatus": "Active",
                              "DimensionWeight": Decimal("0.45"), "WeightUOM": "KG", "DefaultPrice": Decimal("12.50")}
                             for n in range(1, 51)])
    state.seed("SalesOrder", [_order(n) for n in range(1, n_orders + 1)])
    acumatica = run(create_app(state))
    shipstation = run(shipstation_app(ShipStationState(), credentials={SS_KEY: SS_SECRET}, rate_limit=0,
                                      webhook_drop_rate=0.0))
    print(json.dumps({"acumatica": acumatica.base_url + SITE, "shipstation": shipstation.base_url}), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin


def _order(n: int) -> dict[str, Any]:
    lines = [{"LineNbr": k, "InventoryID": f"SKU-{(n * 7 + k) % 50 + 1:03d}", "OrderQty": Decimal(1 + (n + k) % 3),
              "UnitPrice": Decimal("12.50"), "UOM": "EA", "WarehouseID": "MAIN"} for k in range(1, 2 + n % 3)]
    total = sum((line["OrderQty"] * line["UnitPrice"] for line in lines), Decimal(0)) + Decimal("4.75")
    when = START + timedelta(minutes=n)
    return {"OrderType": "SO", "OrderNbr": f"SO{n:06d}", "Status": "Open", "Hold": False, "Date": when,
            "CustomerID": f"C{n % 200 + 1:06d}", "CurrencyID": "USD", "TaxTotal": Decimal(0),
            "ShipToAddress": {"AddressLine1": f"{n} Main St", "City": "Austin", "State": "TX", "PostalCode": "78701",
                              "Country": "US"},
            "ShipToContact": {"Attention": f"Buyer {n}", "Email": f"buyer{n}@example.com"},
            "Totals": {"Freight": Decimal("4.75")}, "Details": lines,
            "Payments": [{"DocType": "Prepayment", "ReferenceNbr": f"PP{n:06d}", "PaymentAmount": total,
                          "AppliedToOrder": total, "Status": "Open", "Capture": True}],
            "LastModified": when}


# --- the parent: the pipeline's passes --------------------------------------------------------------
class Counting(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return super().handle_request(request)


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, peak


def bench(n_orders: int) -> list[dict[str, Any]]:
    from connectors.acumatica import AcumaticaClient
    from connectors.shipstation.client import ShipStationClient
    from connectors.shipstation.ratelimit import RateLimiter
    from pipelines.acumatica_shipstation import runs
    from pipelines.acumatica_shipstation.mapping import OutboundConfig
    from pipelines.acumatica_shipstation.shipments import InboundConfig
    from state.ledger import SyncLedger

    child = subprocess.Popen([sys.executable, "-m", "bench.acumatica", "--serve", str(n_orders)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        urls = json.loads(child.stdout.readline())
        stats = lambda: httpx.get(f"{urls['acumatica']}/__sandbox/stats", timeout=60).json()  # noqa: E731
        ledger = SyncLedger(Path(tempfile.mkdtemp()) / "ledger.sqlite3")
        acu_t, ss_t = Counting(), Counting()

        def clients() -> tuple[AcumaticaClient, ShipStationClient]:
            acu = AcumaticaClient(url=urls["acumatica"], tenant=TENANT, branch=BRANCH, username=USER,
                                  password=PASSWORD, transport=acu_t, poll_seconds=0.05, page_size=500)
            ss = ShipStationClient(api_key=SS_KEY, api_secret=SS_SECRET, base_url=urls["shipstation"],
                                   transport=ss_t, rate_limiter=RateLimiter(sleep=lambda s: None))
            return acu, ss

        rows = []

        def phase(name: str, fn: Callable[[AcumaticaClient, ShipStationClient], Any], count: Callable[[Any], int]):
            before, a0, s0 = stats(), acu_t.requests, ss_t.requests
            acu, ss = clients()
            with acu, ss:
                result, seconds, peak = measure(lambda: fn(acu, ss))
            after = stats()
            records = count(result)
            a, s = acu_t.requests - a0, ss_t.requests - s0
            rows.append({"orders": n_orders, "pass": name, "records": records, "acumatica_requests": a,
                         "acumatica_per_record": round(a / max(records, 1), 3), "shipstation_requests": s,
                         "shipstation_per_record": round(s / max(records, 1), 3), "seconds": round(seconds, 2),
                         "peak_mb": round(peak, 1), "sessions_opened": after["logins"] - before["logins"],
                         "sessions_left_open": after["sessions_open"]})
            return result

        since = START - timedelta(days=1)
        phase("orders out", lambda acu, ss: runs.post_orders(acu, ss, ledger, OutboundConfig(), "bench-out",
                                                             since=since), lambda p: p.report.created)
        order_ids = sorted(o["orderId"] for page in ShipStationClient(
            api_key=SS_KEY, api_secret=SS_SECRET, base_url=urls["shipstation"],
            rate_limiter=RateLimiter(sleep=lambda s: None)).iter_order_pages_raw(since) for o in page)
        with httpx.Client(base_url=urls["shipstation"], timeout=60) as http:
            for order_id in order_ids:
                http.post("/__sandbox/ship", json={"orderId": order_id, "items": None}).raise_for_status()
        until = datetime.now(UTC) + timedelta(days=3650)
        label_policy = InboundConfig(fulfil_on="label")
        phase("shipments back", lambda acu, ss: runs.post_shipments(
            acu, ss, ledger, label_policy, "bench-back",
            ss.iter_shipment_pages_raw(datetime(2000, 1, 1, tzinfo=UTC), until, by="create")),
            lambda p: p.report.created)
        phase("confirmations", lambda acu, ss: runs.confirm_shipments(acu, ledger, label_policy, lambda p: None,
                                                                      "bench-confirm"), lambda p: p.report.created)
        return rows
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    columns = ["orders", "pass", "records", "acumatica_requests", "acumatica_per_record", "shipstation_requests",
               "shipstation_per_record", "seconds", "peak_mb", "sessions_opened", "sessions_left_open"]
    print(" | ".join(columns))
    for size in args.sizes:
        for row in bench(size):
            print(" | ".join(str(row[c]) for c in columns), flush=True)


if __name__ == "__main__":
    main()

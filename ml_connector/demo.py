"""`ml-connector demo` and `ml-connector sandbox`: the product against the embedded simulators.

This module (with the tests) is the only place where the simulators and our own code meet.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ml_connector.runner import RunSummary
from pipelines.registry import flow

# The demo's story, told with the registry's flows.
JOB = flow("shipstation-to-tally").job
SHIPMENTS_JOB = flow("shipments-to-tally").job
MASTERS_JOB = flow("master-alignment").job
INVENTORY_JOB = flow("inventory-to-shipstation").job
RECON_JOB, REPORT_JOB, MONTH = "reconciliation", "month_end_report", "2026-03"


@contextmanager
def demo_environment(name: str, seed: int, orders: int) -> Iterator[tuple[Any, Any, Path]]:
    """The embedded sandbox and a LAN agent in front of its TallyPrime, with this process's environment
    pointed at them and a fresh state directory `<ML_CONNECTOR_HOME>/<name>`: (sandbox, agent, state dir)."""
    from connectors.tally.agent import create_agent_app
    from sandbox.merchant_walmart import sku_map_csv
    from sandbox.runner import serve
    from sandbox.stack import start_sandbox

    state_dir = Path(os.environ.get("ML_CONNECTOR_HOME", ".ml-connector")).resolve() / name
    shutil.rmtree(state_dir, ignore_errors=True)  # the sandbox starts empty, so must the ledger
    # Zoho's 100 requests a minute would make the demo take minutes: off here, on in the tests and benches.
    with start_sandbox(seed=seed, orders=orders, zoho_per_minute=0) as sandbox:
        token = secrets.token_urlsafe(24)
        agent = serve(create_agent_app(sandbox.tally.base_url, token))
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            sku_map = state_dir / "walmart_sku_map.csv"
            sku_map.write_text(sku_map_csv(sandbox.merchant), encoding="utf-8")
            os.environ.update(sandbox.env() | {"TALLY_URL": agent.base_url, "TALLY_AGENT_TOKEN": token,
                                               "ML_CONNECTOR_HOME": str(state_dir),
                                               "DAGSTER_HOME": str(state_dir / "dagster"),
                                               "WALMART_SKU_MAP": str(sku_map), "ZOHO_REQUESTS_PER_MINUTE": "0"})
            yield sandbox, agent, state_dir
        finally:
            agent.stop()


def run_demo(orders: int = 200, seed: int = 7, out: Callable[[str], None] = print) -> int:
    """Sandbox + LAN agent: orders, then shipments, edits, new labels and voids, master data and stock."""
    with demo_environment("demo", seed, orders) as (sandbox, agent, state_dir):
        runs = tell_story(sandbox, agent, state_dir, out)
        out(f"\nState (ledger, audit trail, DuckDB snapshots): {state_dir}")
        out("See these runs in the Dagster UI, with the sandbox still serving: make ui")
    return 0 if all(run.success for run in runs) else 1


def tell_story(sandbox: Any, agent: Any, state_dir: Path, out: Callable[[str], None] = print) -> list[RunSummary]:
    """The demo's runs against a started `demo_environment`, each summarised as it ends."""
    from ml_connector.config import Settings
    from ml_connector.runner import instance_for, run_job
    from pipelines.definitions import build_definitions

    settings = Settings.from_env()
    defs, instance = build_definitions(settings), instance_for(state_dir)
    out(f"Sandbox: ShipStation {sandbox.shipstation.base_url}, TallyPrime {sandbox.tally.base_url} "
        f"behind the LAN agent {agent.base_url}; company {settings.tally_company!r}")
    runs = [run_job(defs, JOB, instance, progress=True)]
    print_summary(runs[-1], "Orders", out)
    runs.append(run_job(defs, SHIPMENTS_JOB, instance, progress=True))
    print_summary(runs[-1], "Shipments (labels bought so far)", out)
    for batch in range(2):
        changed = sandbox.advance()
        out(f"\nShipStation since: {changed['edited']} orders edited, {changed['cancelled']} cancelled, "
            f"{changed.get('shipped', 0)} labels bought, {changed.get('voided', 0)} voided.")
        runs.append(run_job(defs, JOB, instance, progress=True))
        print_summary(runs[-1], f"Orders, again ({batch + 1})", out)
        runs.append(run_job(defs, SHIPMENTS_JOB, instance, progress=True))
        print_summary(runs[-1], f"Shipments, again ({batch + 1})", out)
    runs.append(run_job(defs, MASTERS_JOB, instance, progress=True))
    print_summary(runs[-1], "Master data alignment", out)
    runs.append(run_job(defs, INVENTORY_JOB, instance, progress=True))
    print_summary(runs[-1], "Inventory levels to ShipStation", out)
    _print_tally_state(sandbox.vouchers(), settings.tally_order_voucher_type, out)
    runs += tell_other_pairs(sandbox, defs, instance, out)
    runs.append(run_job(defs, RECON_JOB, instance, partitions=(f"{MONTH}-01", f"{MONTH}-31"), progress=True))
    print_summary(runs[-1], f"Reconciliation of {MONTH} for every pair: 31 daily partitions in one run", out)
    runs.append(run_job(defs, REPORT_JOB, instance, partitions=(f"{MONTH}-01", f"{MONTH}-01")))
    report = runs[-1].assets.get("recon/month_report", {})
    out(f"\nMonth-end report for {MONTH} (open the HTML in any browser):")
    for kind in ("html", "csv", "xlsx"):
        out(f"  {report.get(kind)}")
    return runs


def tell_other_pairs(sandbox: Any, defs: Any, instance: Any, out: Callable[[str], None] = print) -> list[RunSummary]:
    """Tally <-> Walmart, ShipStation -> Zoho Books and Acumatica <-> ShipStation on the same merchant."""
    from ml_connector.runner import run_job

    runs: list[RunSummary] = []

    def sync(name: str, title: str, config: dict | None = None) -> RunSummary:
        runs.append(run_job(defs, flow(name).job, instance, config, progress=True))
        print_summary(runs[-1], title, out)
        return runs[-1]

    out("\n--- Tally <-> Walmart Marketplace ---")
    sync("tally-stock-to-walmart", "Tally stock and 'Walmart US' prices -> Walmart (only what changed)")
    start, end = sandbox.merchant.start - timedelta(days=17), sandbox.merchant.start + timedelta(days=1)
    sync("walmart-orders-to-tally", "Walmart orders -> Tally Sales vouchers",
         flow("walmart-orders-to-tally").window_config(start, end))
    sync("walmart-returns-to-tally", "Refunded Walmart returns -> Tally Credit Notes",
         flow("walmart-returns-to-tally").window_config(start, end))
    for report in httpx.get(f"{sandbox.walmart.base_url}/__sandbox/state", timeout=30).json()["settlements"]:
        day = datetime.strptime(report, "%m%d%Y").date()
        sync("walmart-settlements-to-tally", f"Walmart settlement of {day} -> Tally Receipts and a fee Journal",
             flow("walmart-settlements-to-tally").date_config(day))

    out("\n--- ShipStation -> Zoho Books ---")
    sync("shipstation-to-zoho", "ShipStation orders -> Zoho Books contacts and invoices")
    sync("shipments-to-zoho", "ShipStation labels -> Zoho Books journals and tracking")
    sync("contacts-zoho", "Contacts both ways")

    out("\n--- Acumatica <-> ShipStation (Acumatica is the master) ---")
    sync("acumatica-to-shipstation", "Fulfilment-ready Acumatica orders -> ShipStation (keyed by order number)")
    sent = [o for o in sandbox.shipstation_state.orders.values() if str(o.get("orderKey", "")).startswith("SO")]
    labels = [sandbox.ship(order["orderId"]) for order in sent[:3]]
    if labels:
        sandbox.scan(tracking_number=labels[0]["trackingNumber"], status_code="AC")
        out(f"\nThe warehouse bought {len(labels)} labels in ShipStation; the carrier scanned the first.")
    out("\nShipStation now holds Acumatica's orders too: its other flows take them to Tally and Zoho Books.")
    sync("shipstation-to-tally", "ShipStation orders -> TallyPrime, again")
    sync("shipstation-to-zoho", "ShipStation orders -> Zoho Books, again")
    now = datetime.now(UTC)
    sync("shipments-to-acumatica", "ShipStation labels -> Acumatica shipments (confirmed on the carrier's scan)",
         flow("shipments-to-acumatica").window_config(now - timedelta(days=1), now + timedelta(minutes=5)))
    return runs


def print_summary(summary: RunSummary, title: str = "Sync", out: Callable[[str], None] = print) -> None:
    """What a person wants to know after a run: counts, failures with reasons, checks."""
    out(f"\n{title}: run {summary.run_id} {'succeeded' if summary.success else 'FAILED'}")
    if summary.error:
        out(f"  error: {summary.error}")
    for asset, lines in _SECTIONS:
        if asset in summary.assets:
            lines(summary.metric, out)
    for asset in sorted(set(summary.assets) - {asset for asset, _ in _SECTIONS}):
        _counts(asset, summary.assets[asset], out)
    if summary.checks:
        out("  checks:            " + ", ".join(f"{name} {_verdict(ok, name in summary.warnings)}"
                                              for name, ok in sorted(summary.checks.items())))


def _orders(m: Callable, out: Callable[[str], None]) -> None:
    out(f"  orders read:       {m('shipstation/orders', 'orders_read')}")
    out(f"  customer ledgers:  created {m('tally/customer_ledgers', 'ledgers_created')}, "
        f"failed {m('tally/customer_ledgers', 'ledgers_failed')}")
    out(f"  order vouchers:    created {m('tally/order_vouchers', 'created')}, "
        f"altered {m('tally/order_vouchers', 'altered')}, cancelled {m('tally/order_vouchers', 'cancelled')}, "
        f"skipped {m('tally/order_vouchers', 'skipped')}, failed {m('tally/order_vouchers', 'failed')}")
    reasons = m("tally/order_vouchers", "skipped_because", {}) or {}
    if reasons:
        out("  skipped because:   " + "; ".join(f"{why} ({n})" for why, n in sorted(reasons.items())))
    for failure in m("tally/order_vouchers", "failures", []) or []:
        out(f"    - {failure.get('error')}")
    for failure in m("tally/customer_ledgers", "failures", []) or []:
        out(f"    - ledger {failure.get('ledger')}: {failure.get('error')}")


def _notes(m: Callable, out: Callable[[str], None]) -> None:
    a = "tally/delivery_notes"
    out(f"  shipments read:    {m('shipstation/shipments', 'shipments_read')} "
        f"(plus any still waiting for their order)")
    out(f"  delivery notes:    created {m(a, 'created')}, cancelled (voided labels) {m(a, 'cancelled')}, "
        f"skipped {m(a, 'skipped')}, waiting {m(a, 'waiting')}, failed {m(a, 'failed')}; "
        f"orders synced first {m(a, 'orders_synced_first')}")
    reasons = m(a, "skipped_because", {}) or {}
    if reasons:
        out("  skipped because:   " + "; ".join(f"{why} ({n})" for why, n in sorted(reasons.items())))
    moved = m(a, "stock_moved", []) or []
    if moved:
        out(f"  stock moved:       {len(moved)} items, e.g. " + "; ".join(
            f"{r['stock_item']} {r['before']} -> {r['after']}" for r in moved[:3]))
    for failure in m(a, "failures", []) or []:
        out(f"    - {failure.get('error')}")


def _masters(m: Callable, out: Callable[[str], None]) -> None:
    a = "tally/master_alignment"
    out(f"  master data:       {m(a, 'skus_without_stock_item')} SKUs without a stock item "
        f"({m(a, 'stock_items_created')} created), {m(a, 'customers_without_ledger')} customers without a "
        f"ledger ({m(a, 'ledgers_created')} created)")


def _inventory(m: Callable, out: Callable[[str], None]) -> None:
    a = "shipstation/inventory_levels"
    out(f"  inventory push:    {m(a, 'pushed')} SKUs set in ShipStation, {m(a, 'unchanged')} already equal, "
        f"{m(a, 'skus_without_stock_item')} without a stock item, failed {m(a, 'failed')}")
    for failure in m(a, "failures", []) or []:
        out(f"    - {failure.get('sku')}: {failure.get('error')}")


def _reconciliation(m: Callable, out: Callable[[str], None]) -> None:
    a = "recon/exceptions"
    rate = m(a, "match_rate", None)
    out(f"  reconciled:        {m(a, 'days')} days, {m(a, 'orders')} orders, match rate "
        f"{'n/a' if rate is None else f'{rate:.1%}'}; {m(a, 'exceptions')} exceptions, "
        f"{m(a, 'unexplained')} unexplained")
    per_category = m(a, "per_category", {}) or {}
    if per_category:
        out("  by category:       " + "; ".join(f"{k} {v}" for k, v in sorted(per_category.items())))


# Metadata keys that say an asset wrote somewhere: a newer pair's writing assets are summarised by them.
WRITE_KEYS = frozenset({"created", "altered", "updated", "cancelled", "voided", "posted", "pushed", "sent",
                        "skipped", "waiting", "failed", "rejected", "held_back"})


def _counts(asset: str, metadata: dict, out: Callable[[str], None]) -> None:
    """An asset without a section of its own (a newer pair's) that wrote: its counts, then its failures."""
    counts = {key: value for key, value in metadata.items() if isinstance(value, int) and not isinstance(value, bool)}
    if asset.startswith("recon/") or not WRITE_KEYS & set(counts):  # reconciliation has its own lines
        return
    out(f"  {asset}: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items()))
    for failure in metadata.get("failures", []) or []:
        if isinstance(failure, dict):
            record = failure.get("record") or failure.get("number") or failure.get("sku") or ""
            out(f"    - {record}{': ' if record else ''}{failure.get('error') or failure.get('reason')}")


_SECTIONS = (("shipstation/orders", _orders), ("tally/delivery_notes", _notes),
             ("tally/master_alignment", _masters), ("shipstation/inventory_levels", _inventory),
             ("recon/exceptions", _reconciliation))


def _verdict(passed: bool, warning_only: bool) -> str:
    if passed:
        return "passed"
    return "warning" if warning_only else "FAILED"


def _print_tally_state(vouchers: list[dict], voucher_type: str, out: Callable[[str], None]) -> None:
    for kind in (voucher_type, "Delivery Note"):
        held = [v for v in vouchers if v.get("type") == kind]
        cancelled = sum(1 for v in held if v.get("cancelled"))
        out(f"\nTallyPrime now holds {len(held)} {kind} vouchers ({cancelled} cancelled).")


def serve_sandbox(orders: int, seed: int, rate_limit: int, ports_file: str | None,
                  out: Callable[[str], None] = print) -> int:
    """Serve the simulators until Ctrl-C, printing (and optionally writing) how to reach them."""
    from sandbox.stack import start_sandbox

    # The simulators keep the merchant's books in memory and add to them with every import: a larger
    # first-generation threshold keeps the cyclic GC from re-walking them as often (measured at 50,000
    # orders: the sandbox's GC 1.72 -> 0.75 s, its CPU 15.7 -> 14.5 s). Only this process: tests untouched.
    gc.set_threshold(10_000, 10, 10)
    with start_sandbox(seed=seed, orders=orders, rate_limit=rate_limit) as sandbox:
        env = sandbox.env()
        out(f"ShipStation V1 sandbox: {sandbox.shipstation.base_url}")
        out(f"TallyPrime sandbox:     {sandbox.tally.base_url}")
        out("Point ml-connector at them with:")
        for key, value in env.items():
            out(f"  export {key}={_shell_quote(value)}")
        if ports_file:
            Path(ports_file).write_text(json.dumps({"shipstation": sandbox.shipstation.base_url,
                                                    "tally": sandbox.tally.base_url, "env": env}, indent=2))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"

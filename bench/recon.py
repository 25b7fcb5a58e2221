"""Benchmark: month-end reconciliation of 100,000 and 1,000,000 orders, generated straight into DuckDB.

A month of 30 days: every order has two lines, a Sales Order with the same two stock lines, one label
and its Delivery Note; SKUs, stock and on-hand counts per day. `generate` then plants a known number of
exceptions of every category (records deleted, edited or added by hand, voided labels, over-shipments,
failed and stuck ledger entries) and returns what a correct reconciliation must find. Reconciling runs
in its own process, on a connection limited like the staging store's, so its peak RSS is its own.

    python -m bench.recon                       # 100,000 and 1,000,000 orders
    python -m bench.recon --orders 20000        # a quick look
    python -m bench.recon --rules 30            # and the 30 slowest pack statements at each size

Besides wall seconds it prints the machine's load average before and after reconciling, the reconciling
process's CPU seconds (every DuckDB thread together; on a shared machine wall time follows the load, CPU time
much less) and the seconds each statement of the pack took, summed over the month's spans
(engine.reconcile_days(timings=...)).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.reconciliation import engine, tables
from pipelines.shipstation_tally.recon import PAIR, rule_pack
from pipelines.shipstation_tally.recon.scope import ORDERS_FLOW, SHIPMENTS_FLOW
from state.ledger import Entry
from state.staging import MEMORY_LIMIT

START, DAYS, TIMEZONE = date(2026, 3, 1), 30, "Asia/Kolkata"
FETCHED = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
SKUS = 500
ORDER_ID, SHIPMENT_ID, EXTRA_LABEL = 1_000_000, 50_000_000, 90_000_000
PLANTED = ("order_without_voucher", "duplicate_vouchers", "amount_mismatch", "quantity_mismatch", "customer_mismatch",
           "date_mismatch", "cancelled_voucher_active", "shipment_without_note", "voided_label_note_active",
           "over_shipment", "shipped_without_note", "shipping_cost_variance", "sync_failed", "sync_stuck_pending")
ORPHANS = ("voucher_without_order", "note_without_shipment", "stock_drift")
EXPLAINED = {"shipping_cost_variance", "sync_failed", "sync_stuck_pending"}

# Clean data: order i is dated START + i % DAYS; Sales Order MasterId i + 1, Delivery Note MasterId n + i + 1.
_CLEAN = [
    """INSERT INTO recon_ss_orders SELECT $start + (i % $days)::INT, $oid + i, 'WC-' || i, 'shipped',
        ($start + (i % $days)::INT)::TIMESTAMP::TIMESTAMPTZ, 'Customer ' || (i % 5000),
        (1 + i % 3) * 10 + 30, 5, $fetched, NULL FROM range($n) t(i)""",
    """INSERT INTO recon_ss_order_lines SELECT $start + (i % $days)::INT, $oid + i, 'item:' || (2 * i + k),
        'SKU-' || ((i + 7 * k) % $skus), CASE k WHEN 0 THEN 1 + i % 3 ELSE 1 END,
        CASE k WHEN 0 THEN (1 + i % 3) * 10 ELSE 25 END, false FROM range($n) t(i), range(2) u(k)""",
    """INSERT INTO recon_tally_vouchers SELECT $start + (i % $days)::INT, 'Sales Order', i + 1, NULL, 'WC-' || i,
        'WC-' || i, 'Customer ' || (i % 5000), 'ss-order-' || ($oid + i), false, (1 + i % 3) * 10 + 30, $fetched
        FROM range($n) t(i)""",
    """INSERT INTO recon_tally_voucher_lines SELECT $start + (i % $days)::INT, i + 1,
        'Item SKU-' || ((i + 7 * k) % $skus), CASE k WHEN 0 THEN 1 + i % 3 ELSE 1 END,
        CASE k WHEN 0 THEN (1 + i % 3) * 10 ELSE 25 END, 'WC-' || i, NULL FROM range($n) t(i), range(2) u(k)""",
    """INSERT INTO recon_ss_shipments SELECT $start + (i % $days)::INT, $sid + i, $oid + i, 'WC-' || i,
        ($start + (i % $days)::INT)::TIMESTAMP::TIMESTAMPTZ, false, NULL, 5, '1Z' || i, 'ups', $fetched
        FROM range($n) t(i)""",
    """INSERT INTO recon_ss_shipment_lines SELECT $start + (i % $days)::INT, $sid + i, $oid + i, 'item:' || (2 * i + k),
        'SKU-' || ((i + 7 * k) % $skus), CASE k WHEN 0 THEN 1 + i % 3 ELSE 1 END FROM range($n) t(i), range(2) u(k)""",
    """INSERT INTO recon_tally_vouchers SELECT $start + (i % $days)::INT, 'Delivery Note', $n + i + 1, NULL,
        'SS-' || ($sid + i), '1Z' || i, 'Customer ' || (i % 5000), 'ss-shipment-' || ($sid + i), false,
        (1 + i % 3) * 10 + 25, $fetched FROM range($n) t(i)""",
    """INSERT INTO recon_tally_voucher_lines SELECT $start + (i % $days)::INT, $n + i + 1,
        'Item SKU-' || ((i + 7 * k) % $skus), CASE k WHEN 0 THEN 1 + i % 3 ELSE 1 END,
        CASE k WHEN 0 THEN (1 + i % 3) * 10 ELSE 25 END, 'WC-' || i, 'SS-' || ($sid + i)
        FROM range($n) t(i), range(2) u(k)""",
    """INSERT INTO recon_sku_items SELECT $start + d::INT, 'SKU-' || s, 'Item SKU-' || s
        FROM range($days) t(d), range($skus) u(s)""",
    """INSERT INTO recon_tally_stock SELECT $start + d::INT, 'Item SKU-' || s, 100, $fetched
        FROM range($days) t(d), range($skus) u(s)""",
    """INSERT INTO recon_ss_inventory SELECT $start + d::INT, 'SKU-' || s, 100, $fetched
        FROM range($days) t(d), range($skus) u(s)""",
]

# One statement per planted category, on the orders `$ids` (0-based order numbers) picked for it.
_IDS = "(SELECT unnest($ids))"
_PLANT = {
    "order_without_voucher": [f"DELETE FROM recon_tally_vouchers WHERE master_id - 1 IN {_IDS}",
                              f"DELETE FROM recon_tally_voucher_lines WHERE master_id - 1 IN {_IDS}"],
    "duplicate_vouchers": [f"""INSERT INTO recon_tally_vouchers SELECT day, voucher_type, master_id + 20 * $n, guid,
        voucher_number, reference, party, ext_key, false, amount, fetched_at FROM recon_tally_vouchers
        WHERE voucher_type = 'Sales Order' AND master_id - 1 IN {_IDS}"""],
    "amount_mismatch": [f"UPDATE recon_tally_vouchers SET amount = amount - 7 WHERE master_id - 1 IN {_IDS}"],
    "quantity_mismatch": [f"""UPDATE recon_tally_voucher_lines SET quantity = quantity + 1
        WHERE master_id - 1 IN {_IDS} AND stock_item = 'Item SKU-' || ((master_id - 1) % $skus)"""],
    "customer_mismatch": [f"UPDATE recon_tally_vouchers SET party = 'Someone Else' WHERE master_id - 1 IN {_IDS}"],
    "date_mismatch": [f"UPDATE recon_tally_vouchers SET day = day + 1 WHERE master_id - 1 IN {_IDS}",
                      f"UPDATE recon_tally_voucher_lines SET day = day + 1 WHERE master_id - 1 IN {_IDS}"],
    "cancelled_voucher_active": [
        f"UPDATE recon_ss_orders SET order_status = 'cancelled' WHERE order_id - $oid IN {_IDS}"],
    "shipment_without_note": [f"DELETE FROM recon_tally_vouchers WHERE master_id - $n - 1 IN {_IDS}"],
    "voided_label_note_active": [
        f"UPDATE recon_ss_shipments SET voided = true, void_date = $fetched WHERE shipment_id - $sid IN {_IDS}"],
    "over_shipment": [
        f"""INSERT INTO recon_ss_shipments SELECT day, shipment_id - $sid + $extra, order_id, order_number,
            create_date, false, NULL, 0, NULL, 'ups', fetched_at FROM recon_ss_shipments
            WHERE shipment_id - $sid IN {_IDS}""",
        f"""INSERT INTO recon_ss_shipment_lines SELECT day, shipment_id - $sid + $extra, order_id, line_key, sku, 1
            FROM recon_ss_shipment_lines
            WHERE shipment_id - $sid IN {_IDS} AND sku = 'SKU-' || ((order_id - $oid) % $skus)""",
        f"""INSERT INTO recon_tally_vouchers SELECT day, voucher_type, master_id + 30 * $n, NULL,
            voucher_number || '-2', NULL, party, 'ss-shipment-' || (master_id - $n - 1 + $extra), false, 10, fetched_at
            FROM recon_tally_vouchers WHERE master_id - $n - 1 IN {_IDS}"""],
    "shipped_without_note": [f"DELETE FROM recon_ss_shipments WHERE shipment_id - $sid IN {_IDS}",
                             f"DELETE FROM recon_ss_shipment_lines WHERE shipment_id - $sid IN {_IDS}",
                             f"DELETE FROM recon_tally_vouchers WHERE master_id - $n - 1 IN {_IDS}"],
    "shipping_cost_variance": [
        f"UPDATE recon_ss_shipments SET shipment_cost = 7.25 WHERE shipment_id - $sid IN {_IDS}"],
}


@dataclass
class Month:
    """A generated month: what a correct reconciliation finds, as (day, category, record id) triples."""

    orders: int
    expected: list[tuple[date, str, str]] = field(default_factory=list)
    ledger: list[Entry] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return sum(1 for _, category, _ in self.expected if category not in EXPLAINED)


def generate(conn: duckdb.DuckDBPyConnection, orders: int, *, per_category: int = 3) -> Month:
    """Write a clean month of `orders` orders into `conn`, then plant `per_category` exceptions of each category."""
    for statement in tables.ddl([rule_pack()]):
        conn.execute(statement)
    values = {"start": START, "days": DAYS, "n": orders, "oid": ORDER_ID, "sid": SHIPMENT_ID, "skus": SKUS,
              "fetched": FETCHED, "extra": EXTRA_LABEL}
    for statement in _CLEAN:
        engine.run_sql(conn, statement, values)
    month, step = Month(orders), orders // (len(PLANTED) * per_category + 1)
    for index, category in enumerate(PLANTED):
        ids = [(index * per_category + j) * step + 17 for j in range(per_category)]
        for statement in _PLANT.get(category, []):
            engine.run_sql(conn, statement, values | {"ids": ids})
        base = SHIPMENT_ID if category in _BY_LABEL else ORDER_ID
        month.expected += [(_day(i), category, str(base + i)) for i in ids]
        month.ledger += [_entry(category, i) for i in ids if category.startswith("sync_")]
    _plant_orphans(conn, month, per_category)
    return month


_BY_LABEL = ("shipment_without_note", "voided_label_note_active", "sync_stuck_pending")  # found by label id


def _day(i: int) -> date:
    return START + timedelta(days=i % DAYS)


def _entry(category: str, i: int) -> Entry:
    """A failed order posting, or a shipment's write left pending by a process that is gone, on order i's day."""
    noon = datetime.combine(_day(i), datetime.min.time().replace(hour=12), tzinfo=ZoneInfo(TIMEZONE)).timestamp()
    failed = category == "sync_failed"
    return Entry(flow=ORDERS_FLOW if failed else SHIPMENTS_FLOW,
                 source_id=str(ORDER_ID + i if failed else SHIPMENT_ID + i), target="tally",
                 external_key=f"ss-order-{ORDER_ID + i}", state="failed" if failed else "pending", action="alter",
                 target_id=str(i + 1), posted_hash=None, cancelled=False, attempts=1,
                 last_error="Tally refused the alteration: voucher date is locked" if failed else None,
                 owner=None if failed else f"{socket.gethostname()}:999999999:run-gone",
                 detail={"order_number": f"WC-{i}"},
                 source_payload=None, claimed_at=None if failed else noon, updated_at=noon)


def _plant_orphans(conn: duckdb.DuckDBPyConnection, month: Month, per_category: int) -> None:
    for j in range(per_category):
        day, master = START + timedelta(days=(7 * j + 3) % DAYS), 40 * month.orders + j
        conn.execute("INSERT INTO recon_tally_vouchers VALUES (?, 'Sales Order', ?, NULL, ?, NULL, 'Walk-in', NULL,"
                     " false, 99, ?)", [day, master, f"MANUAL-{j}", FETCHED])
        conn.execute("INSERT INTO recon_tally_vouchers VALUES (?, 'Delivery Note', ?, NULL, ?, NULL, 'Walk-in',"
                     " 'ss-shipment-7', false, 10, ?)", [day, master + 1000, f"DN-MANUAL-{j}", FETCHED])
        conn.execute("UPDATE recon_ss_inventory SET on_hand = on_hand + 3 WHERE day = ? AND sku = ?",
                     [day, f"SKU-{37 * j % SKUS}"])
        month.expected += [(day, "voucher_without_order", str(master)),
                           (day, "note_without_shipment", str(master + 1000)),
                           (day, "stock_drift", f"Item SKU-{37 * j % SKUS}")]


def reconcile_month(conn: duckdb.DuckDBPyConnection, ledger: list[Entry],
                    timings: dict[str, float] | None = None) -> engine.MonthResult:
    """Load the ledger, reconcile every day of the month, roll it up; `timings` gains seconds per statement."""
    engine.load_ledger(conn, ledger, now=NOW, lease_seconds=900)
    days = [START + timedelta(days=offset) for offset in range(DAYS)]
    # as the asset runs a month's range
    engine.reconcile_days(conn, rule_pack(), days, now=NOW, timezone=TIMEZONE, timings=timings)
    return engine.month_rollup(conn, START.strftime("%Y-%m"))


def found(result: engine.MonthResult) -> list[tuple[date, str, str]]:
    """(day, category, record id) of each exception: the source id, or the target id when there is none."""
    rows = result.exceptions
    return [(d, c, s if s is not None and c != "stock_drift" else t)
            for d, c, s, t in zip(rows["day"], rows["category"], rows["source_id"], rows["target_id"], strict=True)]


# --- the benchmark -----------------------------------------------------------------------------------
def _child(path: str, orders: int) -> None:
    """Reconcile the generated month in `path` and print figures as JSON (run in its own process)."""
    month = json.loads(Path(path + ".json").read_text())
    ledger = [_entry(c, i) for c, i in month["ledger"]]
    conn = duckdb.connect(path, config={"memory_limit": MEMORY_LIMIT})
    threads = conn.execute("SELECT current_setting('threads')").fetchone()[0]
    started, cpu, timings, waited = time.perf_counter(), time.process_time(), {}, _run_queue_wait()
    result = reconcile_month(conn, ledger, timings)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    waited = None if waited is None else _run_queue_wait() - waited
    report_s = time_report(result)
    expected = sorted((date.fromisoformat(d), c, r) for d, c, r in month["expected"])
    print(json.dumps({"orders": orders, "seconds": seconds, "cpu": cpu, "threads": threads,
                      "days": result.days_reconciled, "report_s": report_s,
                      "exceptions": result.exception_count, "unexplained": result.unexplained,
                      "correct": sorted(found(result)) == expected, "match_rate": result.pair(PAIR).match_rate,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "timings": timings,
                      "waited": waited}))


def _run_queue_wait() -> float | None:
    """Seconds this process's main thread has waited, runnable, for a CPU (Linux schedstat), else None.

    Wall seconds less this wait estimates a quiet machine's: the main thread drives every statement (DuckDB runs
    on it and one worker per further thread), so a second it waited for a CPU another process held is a second a
    quiet machine would not spend. A rough figure: time blocked on a worker that waited too is still counted,
    and CPU seconds themselves grow on a busy machine. At load ~4 it said 5.7 s for a 1M month that took 6.3-6.6 s
    at load ~2.
    """
    try:
        return int(Path(f"/proc/self/task/{os.getpid()}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def time_report(result: engine.MonthResult) -> float:
    """Seconds to write the month's HTML, CSV and .xlsx (pipelines.reconciliation.report)."""
    from pipelines.reconciliation.report import report_data_from, write_report

    with tempfile.TemporaryDirectory(prefix="mlc-report-") as out:
        started = time.perf_counter()
        write_report(report_data_from(result, generated_at=NOW), Path(out))
        return time.perf_counter() - started


def time_big_reports(sizes: tuple[int, ...] = (10_000, 100_000)) -> dict[int, float]:
    """Report build time for months with many exception rows (the planted rows, repeated)."""
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="mlc-recon-") as tmp:
        conn = duckdb.connect(str(Path(tmp) / "r.duckdb"), config={"memory_limit": MEMORY_LIMIT})
        generate(conn, 20_000, per_category=10)
        result = reconcile_month(conn, [])
    times = {}
    for size in sizes:
        rows = pd.concat([result.exceptions] * (size // len(result.exceptions) + 1)).head(size)
        times[size] = time_report(dataclasses.replace(result, exceptions=rows, exception_count=size))
    return times


def measure(orders: int, per_category: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mlc-recon-") as tmp:
        path = str(Path(tmp) / "recon.duckdb")
        started = time.perf_counter()
        with duckdb.connect(path, config={"memory_limit": "1GB"}) as conn:
            month = generate(conn, orders, per_category=per_category)
        generated = time.perf_counter() - started
        ledger = [(c, int(r) - (SHIPMENT_ID if c in _BY_LABEL else ORDER_ID)) for _, c, r in month.expected
                  if c.startswith("sync_")]
        Path(path + ".json").write_text(json.dumps(
            {"expected": [(d.isoformat(), c, r) for d, c, r in month.expected], "ledger": ledger}))
        size_mb = Path(path).stat().st_size / 2**20
        load = [_load()]
        out = subprocess.run([sys.executable, "-m", "bench.recon", "--child", path, "--orders", str(orders)],
                             capture_output=True, text=True, check=True)
        load.append(_load())
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "generate_s": generated, "file_mb": size_mb,
            "planted": len(month.expected), "load": load}


def _load() -> float:
    """The machine's 1-minute load average (wall seconds follow it on a shared machine; CPU seconds much less)."""
    return float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, action="append", help="order counts (default 100000 and 1000000)")
    parser.add_argument("--per-category", type=int, default=10, help="exceptions planted per category")
    parser.add_argument("--no-big-reports", action="store_true", help="skip timing reports of 10,000+ rows")
    parser.add_argument("--rules", type=int, default=12, help="print the N slowest statements per size (0: none)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.orders[0])
    print(f"memory_limit {MEMORY_LIMIT} (the staging store's), {DAYS} days, {args.per_category} exceptions planted "
          f"per category; `cpu s` is the reconciling process's CPU time, all DuckDB threads together")
    print("`quiet s` is wall seconds less the run-queue wait of the reconciling thread, not under CPU s / threads "
          "(a rough estimate of a quiet machine's wall seconds)")
    print(f"{'orders':>9} {'file MB':>8} {'gen s':>6} {'recon s':>8} {'quiet s':>7} {'cpu s':>6} {'threads':>7} "
          f"{'s/day':>6} {'peak MB':>8} {'found':>6} {'planted':>8} {'correct':>8} {'report s':>9} {'load':>11}")
    slowest = {}
    for n in args.orders or [100_000, 1_000_000]:
        r = measure(n, args.per_category)
        # never less than the CPU seconds spread over every thread
        quiet = (f"{max(r['seconds'] - r['waited'], r['cpu'] / int(r['threads'])):>7.1f}" if r.get("waited") is not None
                 else f"{'n/a':>7}")
        print(f"{n:>9,} {r['file_mb']:>8.0f} {r['generate_s']:>6.1f} {r['seconds']:>8.1f} {quiet} {r['cpu']:>6.1f} "
              f"{r['threads']:>7} {r['seconds'] / max(r['days'], 1):>6.2f} {r['peak_mb']:>8.0f} {r['exceptions']:>6} "
              f"{r['planted']:>8} {str(r['correct']):>8} {r['report_s']:>9.2f} "
              f"{r['load'][0]:>5.1f}-{r['load'][1]:<5.1f}")
        slowest[n] = r["timings"]
    for n, timings in slowest.items():
        if args.rules:
            print(f"slowest statements at {n:,} orders (wall s, summed over the month's spans):")
        for name, seconds in sorted(timings.items(), key=lambda item: -item[1])[:args.rules]:
            print(f"  {seconds:7.2f}  {name}")
    for size, seconds in ({} if args.no_big_reports else time_big_reports()).items():
        print(f"report of a month with {size:,} exception rows (HTML, CSV, .xlsx): {seconds:.1f} s")


if __name__ == "__main__":
    main()

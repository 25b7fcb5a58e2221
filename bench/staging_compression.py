"""Benchmark: how the staging store's checkpoints compress text, DuckDB's own choice against ZSTD.

Every unit of staged orders ends in a checkpoint that compresses the table's new row groups, and for the
`raw` JSON column DuckDB's automatic choice (DICT_FSST in 2.0.1) costs much of the staging step's CPU.
`state.staging.STAGED_COMPRESSION` sets the choice for the store's own units of work. This bench stages the
same orders with DuckDB's own choice (`auto`), with ZSTD for every text column of the units (`zstd`, what
the store does) and with ZSTD declared on the raw column alone in the table (`column`, other text columns
left to DuckDB), and prints, per order count and mode:

- `stage s` / `stage cpu`: wall and CPU seconds of `stage_order_pages` (the process's CPU, every thread),
  and `duckdb cpu`: the same less the CPU spent decoding pages and making their columns;
- `file MB`: the staging file's size after the run;
- `read s` / `read cpu`: reading the run back with `iter_staged_orders` (JSON decoded, as the posting step
  does), and `texts s`: the raw texts alone (`_iter_staged_texts`: DuckDB's scan and decompression);
- `base MB` / `stage pk` / `read pk`: the process's resident size before staging, its peak while staging
  and its peak while reading back (the process holds one page of orders at a time, as the sync's step does);
- `raw`: how the checkpoints stored the `raw` column (`pragma_storage_info`, segments per method).

The orders are a sandbox merchant's (`sandbox.merchant.generate_merchant`, distinct orders, one customer
for every five orders) as the ShipStation simulator writes them (`serialize.order`, pages of 500) and our
client decodes them (`decode_json`); each order count and mode runs in its own process, on a file in a
fresh temporary directory. Wall seconds follow the machine's load; CPU seconds much less.

    python -m bench.staging_compression                        # 10,000 and 100,000 orders
    python -m bench.staging_compression --orders 2000 --orders 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# auto: DuckDB's own choice; zstd: every text column of the units (STAGED_COMPRESSION); column: only the raw
# column, declared in the table (`raw VARCHAR NOT NULL USING COMPRESSION zstd`: the choice then holds for any
# connection's checkpoint, but only a table made so has it)
MODES = {"auto": {}, "zstd": {"force_compression": "zstd"}, "column": {}}
RAW_COLUMN = "raw VARCHAR NOT NULL"
PAGE = 500
RUN = "bench-run"


def write_pages(orders: int, path: Path) -> None:
    """`orders` distinct sandbox orders as the simulator's response bodies, one page of JSON per line."""
    from sandbox.merchant import generate_merchant
    from sandbox.shipstation import serialize

    merchant = generate_merchant(seed=7, n_orders=orders, n_customers=max(120, orders // 5), ship_share=0)
    rows = merchant.orders[:orders]
    with path.open("wb") as out:
        for first in range(0, len(rows), PAGE):
            page = [serialize.order(o) for o in rows[first:first + PAGE]]
            out.write(serialize.dumps(serialize.page("orders", page, len(rows), first // PAGE + 1, PAGE)) + b"\n")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """The process's peak resident size since it started or since the last reset (VmHWM)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def child(pages_path: str, mode: str, db_path: str) -> dict:
    """Stage the pages in `pages_path` into a new store at `db_path` with `mode`'s compression, read them back."""
    from connectors.common.http import decode_json
    from pipelines.shipstation_tally.customers import staged_party
    from pipelines.sides.shipstation import reading
    from state import staging

    staging.STAGED_COMPRESSION = MODES[mode]
    if mode == "column":
        staging.SCHEMA = [sql.replace(RAW_COLUMN, f"{RAW_COLUMN} USING COMPRESSION zstd") for sql in staging.SCHEMA]
    store = staging.StagingStore(db_path)
    base_mb, making = _rss_mb(), [0.0]

    def columns():
        with open(pages_path, "rb") as lines:
            for line in lines:
                started = _cpu()
                page = decode_json(line)["orders"]
                made = store.order_columns(page, [reading.modify_date(r) for r in page],
                                           [staged_party(r) for r in page])
                del page
                making[0] += _cpu() - started
                yield made

    started, cpu = time.perf_counter(), _cpu()
    staged = store.stage_order_pages(RUN, datetime.now(UTC), columns())
    stage_s, stage_cpu = time.perf_counter() - started, _cpu() - cpu
    stage_peak = _peak_mb()
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current resident size
    started, cpu = time.perf_counter(), _cpu()
    read = sum(len(chunk) for chunk in store.iter_staged_orders(RUN))
    read_s, read_cpu = time.perf_counter() - started, _cpu() - cpu
    started = time.perf_counter()
    texts = sum(len(chunk) for chunk in store._iter_staged_texts(staging.ORDERS_TABLE, RUN, 500))
    texts_s, read_peak = time.perf_counter() - started, _peak_mb()
    with store.connect() as conn:
        raw = dict(conn.execute("SELECT compression, count(*) FROM pragma_storage_info(?) WHERE column_name = 'raw'"
                                " AND segment_type = 'VARCHAR' GROUP BY ALL", [staging.ORDERS_TABLE]).fetchall())
    if not staged == read == texts:
        raise AssertionError(f"staged {staged}, read back {read} and {texts}")
    return {"stage_s": stage_s, "stage_cpu": stage_cpu, "duckdb_cpu": stage_cpu - making[0],
            "file_mb": Path(db_path).stat().st_size / 2**20, "read_s": read_s, "read_cpu": read_cpu,
            "texts_s": texts_s, "base_mb": base_mb, "stage_peak_mb": stage_peak, "read_peak_mb": read_peak, "raw": raw}


def measure(orders: int, modes: list[str]) -> dict[str, dict]:
    with tempfile.TemporaryDirectory(prefix="mlc-stagecomp-") as tmp:
        pages = Path(tmp) / "pages.jsonl"
        write_pages(orders, pages)
        results = {}
        for mode in modes:
            db = Path(tmp) / f"{mode}.duckdb"
            out = subprocess.run([sys.executable, "-m", "bench.staging_compression", "--child", str(pages),
                                  "--mode", mode, "--db", str(db)], capture_output=True, text=True, check=True)
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            db.unlink()
        return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, action="append", help="order counts (default 10000 and 100000)")
    parser.add_argument("--mode", action="append", choices=sorted(MODES), help="compression modes (default all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.mode[0], args.db)))
        return
    import duckdb

    print(f"DuckDB {duckdb.__version__}; load average {os.getloadavg()[0]:.1f} (wall seconds follow it, CPU much less)")
    print(f"{'orders':>8} {'mode':>6} {'stage s':>8} {'stage cpu':>9} {'duckdb cpu':>10} {'file MB':>8} {'read s':>7}"
          f" {'read cpu':>8} {'texts s':>7} {'base MB':>7} {'stage pk':>8} {'read pk':>7}  raw")
    for n in args.orders or [10_000, 100_000]:
        for mode, r in measure(n, args.mode or list(MODES)).items():
            print(f"{n:>8,} {mode:>6} {r['stage_s']:>8.2f} {r['stage_cpu']:>9.2f} {r['duckdb_cpu']:>10.2f}"
                  f" {r['file_mb']:>8.1f} {r['read_s']:>7.2f} {r['read_cpu']:>8.2f} {r['texts_s']:>7.2f}"
                  f" {r['base_mb']:>7.0f} {r['stage_peak_mb']:>8.0f} {r['read_peak_mb']:>7.0f}  {r['raw']}")


if __name__ == "__main__":
    main()

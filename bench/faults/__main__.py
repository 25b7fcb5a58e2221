"""`python -m bench.faults` (`make faults`): every writing flow under every fault, then recovery, then a count.

    python -m bench.faults                                   # 1,000 records, every flow, every fault
    python -m bench.faults --size 200 --flows shipstation-to-tally --faults kill --kills 2
    python -m bench.faults --markdown reliability.md
    python -m bench.faults --jobs 3 --flows walmart-orders-to-tally shipments-to-acumatica --markdown out.md

Prints one row per (flow, fault): records expected (the fault-free baseline), posted, duplicates, lost,
failed with a reason and the permanent failures expected (the merchant's own bad records plus those
the fault injects), runs, seconds. Exits 1 if any row has a duplicate, a loss, or a failure count
other than the expected one, or if its fault did not meet the run (`ok` = "no — fault not met": a fault
that never fired proves nothing).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from rich.console import Console

from bench.faults.flows import BY_NAME, FLOWS
from bench.faults.harness import Row
from bench.faults.report import print_table, write_markdown
from bench.faults.runner import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="orders in the sandbox merchant (default 1000)")
    parser.add_argument("--flows", nargs="*", default=[], choices=sorted(BY_NAME), help="default: every flow")
    parser.add_argument("--faults", nargs="*", default=[],
                        help="scenario name prefixes (kill, kill-before, 429, 5xx, timeout, reset, two-syncs, "
                             "tally, token, session, disk); default: all")
    parser.add_argument("--kills", type=int, default=5,
                        help="kill points per kind, 4 kinds (default 5: 20); a flow with fewer writes gets the rest "
                             "at its reads")
    parser.add_argument("--jobs", type=int, default=1, help="rows run at a time, each in its own process and world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="short stalls and outages (CI)")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = parser.parse_args(argv)
    console = Console()
    flows = [BY_NAME[name] for name in args.flows] or list(FLOWS)
    started = time.monotonic()

    def progress(row: Row, rows: list[Row]) -> None:
        mark = "ok " if row.ok else "BAD" if not row.counts_ok else "NOT MET"
        print(f"{mark} {row.flow} / {row.fault}: expected {row.expected}, posted {row.posted}, "
              f"dup {row.duplicates}, lost {row.lost}, failed {row.failed}/{row.permanent}, {row.runs} runs "
              f"({row.seconds:.0f} s) {row.note}", flush=True)
        if args.markdown:  # the table so far: a long run cut short keeps what it did
            write_markdown(rows, f"Fault harness (in progress, {len(rows)} rows): {args.size} records per flow, "
                                 f"seed {args.seed}, {time.monotonic() - started:.0f} s", args.markdown)

    rows = run(flows, args.size, args.seed, args.kills, args.faults, args.quick, args.jobs, progress)
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))  # every sync, worker and simulator: load does not inflate it
    title = (f"Fault harness: {args.size} records per flow, seed {args.seed}, {time.monotonic() - started:.0f} s wall, "
             f"{cpu:.0f} s CPU, {args.jobs} job(s)")
    print_table(rows, title, console)
    if args.markdown:
        write_markdown(rows, title, args.markdown)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

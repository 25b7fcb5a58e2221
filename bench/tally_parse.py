"""Benchmark: reading back vouchers, full records (`list_vouchers`) vs identities (`list_voucher_ids`)
vs identities with amounts (`list_voucher_amounts`, the voucher check's read-back).

Bodies are generated in the simulator's shape (UTF-16LE, indented, `&#4;` blanks, a Devanagari
party on every tenth voucher): a Sales Order with three ledger lines and one stock line per
voucher. Three cases per size:

- `records`: the full FETCH list parsed into `VoucherRecord`s (what `list_vouchers` does);
- `ids`: the cut FETCH list parsed into `VoucherId`s (what `list_voucher_ids` gets from Tally);
- `ids-full`: the identity parser over a full body (a Tally that ignored the FETCH list);
- `amounts`: the voucher check's parser (`VoucherAmounts`) over a full body: its FETCH list still
  asks for the lines, which Tally sends whole (reference §6), so the body is the full one.

Each case runs in its own process, timed from reply bytes to models (decode included), best of
three; peak memory is the process's resident high-water mark above the loaded body (Linux).

    python -m bench.tally_parse                     # 1,000 / 10,000 / 50,000 vouchers
    python -m bench.tally_parse --vouchers 2000     # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.tally import codec

HEAD = ("<ENVELOPE>\n <HEADER>\n  <VERSION>1</VERSION>\n  <STATUS>1</STATUS>\n </HEADER>\n <BODY>\n  <DESC>\n"
        "  </DESC>\n  <DATA>\n   <COLLECTION>\n")
TAIL = "   </COLLECTION>\n  </DATA>\n </BODY>\n</ENVELOPE>\n"
IDENTITY = """\
    <VOUCHER REMOTEID="" VCHTYPE="Sales Order" ACTION="Create" OBJVIEW="Invoice Voucher View">
     <DATE TYPE="Date">2026{month:02d}{day:02d}</DATE>
     <VOUCHERTYPENAME TYPE="String">Sales Order</VOUCHERTYPENAME>
     <VOUCHERNUMBER TYPE="String">SO-{n}</VOUCHERNUMBER>
     <NARRATION TYPE="String">Order WC-{n} for {party} [ext:ss-order-{n}]</NARRATION>
     <MASTERID TYPE="Number"> {n}</MASTERID>
     <ALTERID TYPE="Number"> {alter}</ALTERID>
     <ISCANCELLED TYPE="Logical">No</ISCANCELLED>
"""
LINES = """\
     <REFERENCE TYPE="String">WC-{n}</REFERENCE>
     <PARTYLEDGERNAME TYPE="String">{party}</PARTYLEDGERNAME>
     <GUID TYPE="String">75d36a2d-7ab4-59cf-b312-2df535f40887-{n:08x}</GUID>
     <ALLLEDGERENTRIES.LIST>
      <LEDGERNAME TYPE="String">{party}</LEDGERNAME>
      <ISDEEMEDPOSITIVE TYPE="Logical">Yes</ISDEEMEDPOSITIVE>
      <ISPARTYLEDGER TYPE="Logical">Yes</ISPARTYLEDGER>
      <AMOUNT TYPE="Amount">-308.35</AMOUNT>
     </ALLLEDGERENTRIES.LIST>
     <ALLLEDGERENTRIES.LIST>
      <LEDGERNAME TYPE="String">Shipping Charges</LEDGERNAME>
      <ISDEEMEDPOSITIVE TYPE="Logical">No</ISDEEMEDPOSITIVE>
      <ISPARTYLEDGER TYPE="Logical">No</ISPARTYLEDGER>
      <AMOUNT TYPE="Amount">49.00</AMOUNT>
     </ALLLEDGERENTRIES.LIST>
     <ALLLEDGERENTRIES.LIST>
      <LEDGERNAME TYPE="String">Output Tax</LEDGERNAME>
      <ISDEEMEDPOSITIVE TYPE="Logical">No</ISDEEMEDPOSITIVE>
      <ISPARTYLEDGER TYPE="Logical">No</ISPARTYLEDGER>
      <AMOUNT TYPE="Amount">12.35</AMOUNT>
     </ALLLEDGERENTRIES.LIST>
     <ALLINVENTORYENTRIES.LIST>
      <STOCKITEMNAME TYPE="String">SPC-TUR-250</STOCKITEMNAME>
      <ISDEEMEDPOSITIVE TYPE="Logical">No</ISDEEMEDPOSITIVE>
      <RATE TYPE="Rate">123.50/Nos</RATE>
      <AMOUNT TYPE="Amount">247.00</AMOUNT>
      <ACTUALQTY TYPE="Quantity"> 2 Nos</ACTUALQTY>
      <BILLEDQTY TYPE="Quantity"> 2 Nos</BILLEDQTY>
      <BATCHALLOCATIONS.LIST>
       <GODOWNNAME TYPE="String">Main Location</GODOWNNAME>
       <BATCHNAME TYPE="String">Primary Batch</BATCHNAME>
       <ORDERNO TYPE="String">SO-{n}</ORDERNO>
       <TRACKINGNUMBER TYPE="String">&#4; Not Applicable</TRACKINGNUMBER>
       <AMOUNT TYPE="Amount">247.00</AMOUNT>
       <ACTUALQTY TYPE="Quantity"> 2 Nos</ACTUALQTY>
       <BILLEDQTY TYPE="Quantity"> 2 Nos</BILLEDQTY>
      </BATCHALLOCATIONS.LIST>
      <ACCOUNTINGALLOCATIONS.LIST>
       <LEDGERNAME TYPE="String">Sales</LEDGERNAME>
       <ISDEEMEDPOSITIVE TYPE="Logical">No</ISDEEMEDPOSITIVE>
       <ISPARTYLEDGER TYPE="Logical">No</ISPARTYLEDGER>
       <AMOUNT TYPE="Amount">247.00</AMOUNT>
      </ACCOUNTINGALLOCATIONS.LIST>
     </ALLINVENTORYENTRIES.LIST>
"""
CLOSE = "    </VOUCHER>\n"
SIZES = (1_000, 10_000, 50_000)
CASES: dict[str, tuple[bool, Callable[[str], list[Any]]]] = {
    "records": (True, codec.parse_vouchers),
    "ids": (False, codec.parse_voucher_ids),
    "ids-full": (True, codec.parse_voucher_ids),
    "amounts": (True, codec.parse_voucher_amounts),
}


def export_body(vouchers: int, *, full: bool) -> bytes:
    """A voucher collection reply as TallyPrime sends it: UTF-16LE with a BOM."""
    parts = [HEAD]
    for n in range(1, vouchers + 1):
        values = {"n": n, "alter": 1000 + n, "month": 1 + n % 12, "day": 1 + n % 28,
                  "party": "राम कुमार &amp; Sons" if n % 10 == 0 else f"Customer {n % 997}"}
        parts.append(IDENTITY.format(**values))
        if full:
            parts.append(LINES.format(**values))
        parts.append(CLOSE)
    parts.append(TAIL)
    return "\ufeff".encode("utf-16-le") + "".join(parts).encode("utf-16-le")


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _high_water() -> int:
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _reset_high_water() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def child(case: str, path: str) -> None:
    """Measure one case on one body; prints a JSON line."""
    parse = CASES[case][1]
    body = Path(path).read_bytes()
    parse(codec.decode_response(export_body(3, full=True)))  # imports and first-call costs
    _reset_high_water()
    baseline = _resident()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        found = parse(codec.decode_response(body, "text/xml; charset=utf-16"))
        timings.append(time.perf_counter() - started)
        if len(timings) == 1:
            peak = _high_water() - baseline
        del found
    print(json.dumps({"seconds": min(timings), "peak_mb": peak / 2**20}))


def measure(case: str, path: Path) -> dict[str, float]:
    """Run `child` in a fresh interpreter so each case's peak memory is its own."""
    out = subprocess.run([sys.executable, "-m", "bench.tally_parse", "--child", case, str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vouchers", type=int, action="append", help="body size(s); default 1k, 10k, 50k")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'vouchers':>9} {'case':<9} {'body MB':>8} {'parse s':>8} {'us/vch':>7} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for vouchers in args.vouchers or SIZES:
            for case, (full, _parse) in CASES.items():
                path = Path(tmp) / f"{vouchers}-{full}.xml"
                if not path.exists():
                    path.write_bytes(export_body(vouchers, full=full))
                result = measure(case, path)
                print(f"{vouchers:>9,} {case:<9} {path.stat().st_size / 2**20:>8.1f} {result['seconds']:>8.3f} "
                      f"{result['seconds'] / vouchers * 1e6:>7.1f} {result['peak_mb']:>8.1f}")


if __name__ == "__main__":
    main()

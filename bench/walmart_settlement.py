"""Benchmark: a Walmart settlement file of 5,000 / 20,000 / 50,000 rows parsed and posted to Tally.

The TallyPrime simulator runs in this process (cost model off); each size runs in a child process, as one
Dagster step would: the zipped v1 file is streamed through `ReconReport` and coded (`code_settlement`),
then its Receipts (100 bills each) and fee Journal are posted exactly once through `VoucherPoster` and
`TallyTarget`, and posted a second time (nothing must be sent again). Each PO's sale is recorded as
posted in the sync ledger beforehand, as the orders flow would have left it.

Reported per size: rows, POs, seconds to parse and code, seconds to post, seconds of the repeat run, peak
resident memory of the child (ru_maxrss), Tally requests (first post, repeat), vouchers, and whether the
bank lines equal the payout to the cent.

    python -m bench.walmart_settlement                 # 5,000 / 20,000 / 50,000 rows
    python -m bench.walmart_settlement --rows 10000    # one size
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

REPORT_DATE = "04022026"
PER_PO = (("Product Price", "23.47"), ("Product tax", "1.55"), ("Product tax withheld", "-1.55"),
          ("Shipping Price", "5.99"), ("Commission on Product", "-3.52"))
LEDGERS = [("Walmart Marketplace", "Sundry Debtors"), ("Walmart Payouts", "Bank Accounts"),
           ("Walmart Commission", "Indirect Expenses"), ("Walmart Fees", "Indirect Expenses"),
           ("Walmart Adjustments", "Indirect Expenses")]
V1_HEADER = ["Period Start Date", "Period End Date", "Total Payable", "Currency", "Transaction Key",
             "Transaction Posted Timestamp", "Transaction Type", "Transaction Description", "Customer Order #",
             "Customer Order line #", "Purchase Order #", "Purchase Order line #", "Amount", "Amount Type",
             "Ship Qty", "Partner Item Id", "Fulfillment Type"]


def write_report(path: Path, rows: int) -> tuple[int, Decimal]:
    """A zipped v1 report of `rows` amount rows (five per PO) and its payout; written row by row."""
    pos = rows // len(PER_PO)
    payout = sum((Decimal(a) for _, a in PER_PO), Decimal(0)) * pos
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("bench.csv", "w") as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(out)
        writer.writerow(V1_HEADER)
        writer.writerow(["03/20/2026", "04/01/2026", f"{payout:.2f}", "USD", "", "04/02/2026", "PaymentSummary",
                         "Deposited in account", "", "", "", "", "", "", "", "", ""])
        for n in range(pos):
            po = f"{1796000000000 + n}"
            for kind, amount in PER_PO:
                writer.writerow(["", "", "", "USD", f"{po}-1-S", "03/25/2026", "Sale", "Purchase", f"C{po}", "1",
                                 po, "1", amount, kind, "1", f"SKU-{n % 300}", "Seller Fulfilled"])
        out.flush()
        out.detach()
    return pos, payout


def serve_tally() -> Any:
    from connectors.tally.client import TallyClient
    from connectors.tally.models import Ledger
    from sandbox.merchant import generate_merchant
    from sandbox.runner import serve
    from sandbox.tally import TallyState, create_app

    merchant = generate_merchant(seed=11, n_orders=12)
    served = serve(create_app(TallyState.from_masters(merchant.tally)))
    TallyClient(served.base_url, merchant.tally["company"]).import_masters(
        [Ledger(name=name, parent=parent) for name, parent in LEDGERS])
    return served, merchant.tally["company"]


def seed_sales(home: Path, pos: int) -> None:
    """Every PO's sale as the orders flow leaves it: posted, with its party and date."""
    from pipelines.sides.tally import TARGET
    from pipelines.walmart_tally.posting import SALES_FLOW
    from state.ledger import Candidate, SyncLedger

    ledger = SyncLedger(home / "ledger.sqlite3")
    for start in range(0, pos, 5000):
        ids = [f"{1796000000000 + n}" for n in range(start, min(pos, start + 5000))]
        ledger.claim(SALES_FLOW, TARGET, [Candidate(po, f"wm-po-{po}", "h", detail={
            "party": "Walmart Marketplace", "date": "2026-03-25"}) for po in ids], "bench")
        ledger.record_posted(SALES_FLOW, TARGET, [(po, po, "h", False) for po in ids])


def child(tally_url: str, company: str, report: str, home: str) -> None:
    """Parse, code and post one report; print the figures as JSON."""
    from connectors.tally.client import TallyClient
    from connectors.walmart.reports import ReconReport
    from pipelines.sides.tally.target import TallyTarget
    from pipelines.walmart_tally.posting import JOURNAL_FLOW, RECEIPT_FLOW, VoucherPoster, posted_sales
    from pipelines.walmart_tally.settlement import SettlementLedgers, code_settlement, settlement_vouchers
    from state.ledger import SyncLedger

    exchanges: list[int] = []
    tally = TallyClient(tally_url, company, on_exchange=lambda exchange: exchanges.append(1))
    ledger, ledgers = SyncLedger(Path(home) / "ledger.sqlite3"), SettlementLedgers()
    started = time.perf_counter()
    with open(report, "rb") as file:
        parsed = ReconReport(file, name=REPORT_DATE)
        book = code_settlement(parsed.lines(), ledgers)
    parse_seconds = time.perf_counter() - started
    figures: dict[str, Any] = {"parse_s": round(parse_seconds, 2)}
    for run in ("post", "again"):
        started, before = time.perf_counter(), len(exchanges)
        parties = {po: party for po, (party, _) in posted_sales(ledger, sorted(book.bills)).items()}
        vouchers = settlement_vouchers(REPORT_DATE, book, parsed.summary, parties, ledgers)
        receipts = VoucherPoster(RECEIPT_FLOW, TallyTarget(tally, ledgers.receipt_type), ledger, run, batch_size=25,
                                 batch_ceiling=50)
        receipts.post((f"{REPORT_DATE}#{n}", key, voucher, {}) for n, (key, voucher) in enumerate(vouchers.receipts))
        journals = VoucherPoster(JOURNAL_FLOW, TallyTarget(tally, ledgers.journal_type), ledger, run)
        journals.post([(REPORT_DATE, *vouchers.journal, {})])
        figures |= {f"{run}_s": round(time.perf_counter() - started, 2),
                    f"{run}_tally_requests": len(exchanges) - before,
                    f"{run}_created": receipts.report.created + journals.report.created}
    figures |= {"rows": parsed.summary.rows, "pos": len(book.bills), "vouchers": len(vouchers.receipts) + 1,
                "posted_total": str(vouchers.posted_total), "payout": str(parsed.summary.total_payable),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(figures))


def bank_total(tally_url: str) -> Decimal:
    import httpx

    vouchers = httpx.get(f"{tally_url}/__sandbox/vouchers", timeout=120).json()
    return -sum((Decimal(str(line["amount"])) for v in vouchers for line in v["ledger_entries"]
                 if line["ledger"] == "Walmart Payouts"), Decimal(0))


def measure(rows: int) -> dict[str, Any]:
    served, company = serve_tally()
    try:
        with tempfile.TemporaryDirectory() as home:
            report = Path(home) / "report.zip"
            pos, payout = write_report(report, rows)
            seed_sales(Path(home), pos)
            out = subprocess.run([sys.executable, "-m", "bench.walmart_settlement", "--child", served.base_url,
                                  company, str(report), home], capture_output=True, text=True, check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            figures["bank_equals_payout"] = bank_total(served.base_url) == payout == Decimal(figures["posted_total"])
            return figures
    finally:
        served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    for rows in args.rows or [5_000, 20_000, 50_000]:
        print(json.dumps({"size": rows, **measure(rows)}), flush=True)


if __name__ == "__main__":
    main()

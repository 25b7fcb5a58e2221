"""Asset checks and materialisation metadata for the order-voucher hand-off."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from pipelines.shipstation_tally.posting import FLOW, TARGET, PostingReport
from state.ledger import Entry, SyncLedger, owner_alive

ORDER_VOUCHERS = dg.AssetKey(["tally", "order_vouchers"])
EVERY_ORDER_ACCOUNTED = "every_order_has_voucher_or_reason"
VOUCHERS_BALANCE = "vouchers_net_to_zero"
NO_UNMAPPED_SKU = "no_unmapped_sku"

ORDER_VOUCHER_CHECKS = [
    dg.AssetCheckSpec(EVERY_ORDER_ACCOUNTED, asset=ORDER_VOUCHERS,
                      description="Every staged order has a voucher in Tally or a recorded reason why not."),
    dg.AssetCheckSpec(VOUCHERS_BALANCE, asset=ORDER_VOUCHERS,
                      description="Every voucher nets to zero and equals its order total."),
    dg.AssetCheckSpec(NO_UNMAPPED_SKU, asset=ORDER_VOUCHERS,
                      description="No order was held back by a SKU with no Tally stock item."),
]

MAX_ROWS = 200


def failure_table(failures: Sequence[dict[str, str]], columns: list[str]) -> dg.MetadataValue:
    """Failures as a table for the Dagster UI (the first MAX_ROWS; the ledger holds them all)."""
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in columns])
    rows = [dg.TableRecord({c: str(f.get(c, "")) for c in columns}) for f in failures[:MAX_ROWS]]
    return dg.MetadataValue.table(records=rows, schema=schema)


def report_metadata(report: PostingReport) -> dict[str, object]:
    return {
        "orders_read": report.read, "created": report.created, "altered": report.altered,
        "cancelled": report.cancelled, "skipped": report.skipped, "failed": report.failed,
        "skipped_because": dict(report.skip_reasons),
        "in_flight_elsewhere": report.busy, "resolved_after_crash": report.resolved,
        "failures": failure_table(report.failures, ["order_number", "order_id", "error"]),
    }


def order_voucher_checks(report: PostingReport, ledger: SyncLedger,
                         staged_ids: Sequence[int]) -> list[dg.AssetCheckResult]:
    """Evaluate the three hand-off checks from the ledger and the run's report."""
    unaccounted = unaccounted_orders(ledger, staged_ids)
    unmapped = [f for f in report.failures if "has no stock item" in f["error"]]
    return [
        dg.AssetCheckResult(check_name=EVERY_ORDER_ACCOUNTED, passed=not unaccounted,
                            metadata={"staged": len(staged_ids), "unaccounted": len(unaccounted),
                                      "examples": ", ".join(unaccounted[:20])}),
        dg.AssetCheckResult(check_name=VOUCHERS_BALANCE, passed=report.unbalanced == 0,
                            metadata={"unbalanced": report.unbalanced}),
        dg.AssetCheckResult(check_name=NO_UNMAPPED_SKU, passed=not unmapped,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"orders_held_by_sku": len(unmapped),
                                      "failures": failure_table(unmapped, ["order_number", "error"])}),
    ]


def unaccounted_orders(ledger: SyncLedger, staged_ids: Sequence[int]) -> list[str]:
    """Staged orders with no ledger outcome (posted, skipped, or failed with a reason)."""
    ids = [str(order_id) for order_id in staged_ids]
    entries = ledger.outcomes(FLOW, TARGET, ids)
    return [sid for sid in ids if not is_accounted(entries.get(sid), ledger.lease_seconds)]


def is_accounted(entry: Entry | None, lease_seconds: float) -> bool:
    """Whether a ledger entry says what became of its record: posted, skipped, waiting, or failed with why."""
    if entry is None:
        return False
    if entry.state == "pending":
        return owner_alive(entry.owner, entry.claimed_at, lease_seconds)  # still in flight in a live run
    return entry.state != "failed" or bool(entry.last_error)

"""Asset checks and materialisation metadata for the Delivery Note hand-off."""

from __future__ import annotations

import dagster as dg

from pipelines.metadata import failure_table
from pipelines.shipstation_tally.checks import is_accounted
from pipelines.shipstation_tally.shipment_run import ShipmentRunResult
from pipelines.shipstation_tally.shipments import FLOW
from pipelines.sides.tally import TARGET
from state.ledger import SyncLedger
from state.staging import StagingStore

DELIVERY_NOTES = dg.AssetKey(["tally", "delivery_notes"])
STOCK_MOVED = "stock_fell_by_exactly_what_shipped"
EVERY_SHIPMENT_ACCOUNTED = "every_shipment_has_note_or_reason"
NO_OVER_SHIPMENT = "no_over_shipment"

DELIVERY_NOTE_CHECKS = [
    dg.AssetCheckSpec(STOCK_MOVED, asset=DELIVERY_NOTES,
                      description="Tally's closing quantity of every shipped item, read back after the run, fell by "
                                  "exactly what the run's Delivery Notes shipped (a void gives it back)."),
    dg.AssetCheckSpec(EVERY_SHIPMENT_ACCOUNTED, asset=DELIVERY_NOTES,
                      description="Every staged shipment has a Delivery Note, is waiting for its order, or has a "
                                  "recorded reason."),
    dg.AssetCheckSpec(NO_OVER_SHIPMENT, asset=DELIVERY_NOTES,
                      description="No shipment would ship more of an order line than was ordered "
                                  "(such a shipment is flagged, not posted)."),
]


def metadata(result: ShipmentRunResult) -> dict[str, object]:
    notes = result.notes
    return {
        "shipments_read": notes.read, "created": notes.created, "cancelled": notes.cancelled,
        "altered": notes.altered, "skipped": notes.skipped, "failed": notes.failed, "waiting": notes.waiting,
        "skipped_because": dict(notes.skip_reasons), "in_flight_elsewhere": notes.busy,
        "resolved_after_crash": notes.resolved, "orders_synced_first": result.orders_synced_first,
        "order_vouchers_created_first": result.orders.created,
        "orders_not_in_shipstation": ", ".join(result.orders_not_found[:50]),
        "failures": failure_table(notes.failures, ["shipment", "shipment_id", "error"]),
        "stock_moved": failure_table(result.stock.rows(), ["stock_item", "before", "after", "shipped", "fell_by"]),
    }


def results(result: ShipmentRunResult, ledger: SyncLedger, store: StagingStore,
            run_id: str) -> list[dg.AssetCheckResult]:
    mismatches = result.stock.mismatches()
    staged = [str(i) for i in store.staged_shipment_ids(run_id)]
    entries = ledger.outcomes(FLOW, TARGET, staged)
    unaccounted = [sid for sid in staged if not is_accounted(entries.get(sid), ledger.lease_seconds)]
    return [
        dg.AssetCheckResult(check_name=STOCK_MOVED, passed=not mismatches, metadata={
            "items_moved": len(result.stock.moved), "mismatched": len(mismatches),
            "mismatches": failure_table(mismatches, ["stock_item", "before", "after", "shipped", "fell_by"])}),
        dg.AssetCheckResult(check_name=EVERY_SHIPMENT_ACCOUNTED, passed=not unaccounted, metadata={
            "staged": len(staged), "unaccounted": len(unaccounted), "examples": ", ".join(unaccounted[:20])}),
        dg.AssetCheckResult(check_name=NO_OVER_SHIPMENT, passed=not result.over_shipped,
                            severity=dg.AssetCheckSeverity.WARN, metadata={
                                "over_shipped": len(result.over_shipped),
                                "shipments": failure_table(result.over_shipped,
                                                           ["shipment", "order_number", "error"])}),
    ]

"""The ShipStation -> Tally posting flows re-driven after transient failures (see `pipelines.retries`)."""

from collections.abc import Sequence

from pipelines.retries import RetrySpec, build_transient_retry_sensor
from pipelines.shipstation_tally import posting, shipments
from pipelines.shipstation_tally.jobs import orders_job, shipments_job
from state.ledger import Entry


def order_retry_config(entries: Sequence[Entry]) -> dict:
    """Re-read the failed orders by id."""
    ids = sorted({int(e.source_id) for e in entries if e.source_id.isdigit()})
    return {"ops": {"shipstation__orders": {"config": {"order_ids": ids}}}}


def shipment_retry_config(entries: Sequence[Entry]) -> dict:
    """Labels have no GET by id (reference §3.1): re-read every label of their orders, as `replay` does."""
    ids = sorted({int(e.group_key) for e in entries if (e.group_key or "").isdigit()})
    return {"ops": {"shipstation__shipments": {"config": {"order_ids": ids}}}}


RETRY_SPECS = (
    RetrySpec("orders", posting.FLOW, orders_job, order_retry_config),
    RetrySpec("shipments", shipments.FLOW, shipments_job, shipment_retry_config),
)

transient_retry_sensor = build_transient_retry_sensor("shipstation_tally_transient_retry", RETRY_SPECS)

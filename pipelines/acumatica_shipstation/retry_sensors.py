"""The pair's posting flows re-driven after transient failures (see `pipelines.retries`)."""

from collections.abc import Sequence

from pipelines.acumatica_shipstation.assets import ORDERS_OP, SHIPMENTS_OP
from pipelines.acumatica_shipstation.jobs import confirm_job, orders_job, shipments_job
from pipelines.acumatica_shipstation.posting import CONFIRM_FLOW, ORDERS_FLOW, SHIPMENTS_FLOW
from pipelines.retries import RetrySpec, build_transient_retry_sensor
from pipelines.sides.shipstation import labels
from state.ledger import Entry


def orders_by_key(entries: Sequence[Entry]) -> dict:
    """Run config re-reading these sales orders by key (replay, transient retries)."""
    keys = sorted({e.source_id for e in entries})
    return {"ops": {ORDERS_OP: {"config": {"order_keys": keys}}}}


labels_of_orders = labels.labels_of_orders(SHIPMENTS_OP, lambda e: e.detail.get("order_id"))


RETRY_SPECS = (
    RetrySpec("acumatica_orders", ORDERS_FLOW, orders_job, orders_by_key),
    RetrySpec("acumatica_shipments", SHIPMENTS_FLOW, shipments_job, labels_of_orders),
    RetrySpec("acumatica_confirmations", CONFIRM_FLOW, confirm_job, lambda entries: {}),
)

transient_retry_sensor = build_transient_retry_sensor("acumatica_shipstation_transient_retry", RETRY_SPECS)

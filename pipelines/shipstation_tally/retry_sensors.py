"""The ShipStation -> Tally posting flows re-driven after transient failures (see `pipelines.retries`)."""

from pipelines.retries import RetrySpec, build_transient_retry_sensor
from pipelines.shipstation_tally import posting, shipments
from pipelines.shipstation_tally.flows import labels_of_orders, orders_by_id
from pipelines.shipstation_tally.jobs import orders_job, shipments_job

RETRY_SPECS = (
    RetrySpec("orders", posting.FLOW, orders_job, orders_by_id),
    RetrySpec("shipments", shipments.FLOW, shipments_job, labels_of_orders),
)

transient_retry_sensor = build_transient_retry_sensor("shipstation_tally_transient_retry", RETRY_SPECS)

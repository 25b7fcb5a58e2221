"""The ShipStation -> Zoho posting flows re-driven after transient failures (see `pipelines.retries`)."""

from pipelines.retries import RetrySpec, build_transient_retry_sensor
from pipelines.shipstation_zoho.flows import labels_of_orders, orders_by_id
from pipelines.shipstation_zoho.jobs import orders_job, shipments_job
from pipelines.shipstation_zoho.posting import INVOICES_FLOW, JOURNALS_FLOW

RETRY_SPECS = (
    RetrySpec("zoho_invoices", INVOICES_FLOW, orders_job, orders_by_id),
    RetrySpec("zoho_journals", JOURNALS_FLOW, shipments_job, labels_of_orders),
)

transient_retry_sensor = build_transient_retry_sensor("shipstation_zoho_transient_retry", RETRY_SPECS)

"""The Walmart -> Tally posting flows re-driven after transient failures (see `pipelines.retries`)."""

from pipelines.retries import RetrySpec, build_transient_retry_sensor
from pipelines.walmart_tally.flows import orders_by_id, returns_by_id, settlements_again
from pipelines.walmart_tally.jobs import orders_job, returns_job, settlements_job
from pipelines.walmart_tally.posting import CREDIT_NOTE_FLOW, JOURNAL_FLOW, RECEIPT_FLOW, SALES_FLOW

RETRY_SPECS = (
    RetrySpec("walmart_sales", SALES_FLOW, orders_job, orders_by_id),
    RetrySpec("walmart_credit_notes", CREDIT_NOTE_FLOW, returns_job, returns_by_id),
    RetrySpec("walmart_receipts", RECEIPT_FLOW, settlements_job, settlements_again),
    RetrySpec("walmart_journals", JOURNAL_FLOW, settlements_job, settlements_again),
)

transient_retry_sensor = build_transient_retry_sensor("walmart_tally_transient_retry", RETRY_SPECS)

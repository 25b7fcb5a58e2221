"""Everything the Walmart <-> TallyPrime pair adds to the code location.

Two halves: inbound (orders, returns, settlements -> Tally vouchers; this package's `assets`,
`settlement_assets`, `sensors`, `recon`) and outbound (Tally stock and prices -> Walmart; `outbound.py`,
whose `outbound_definitions` is merged here). `settings` must carry both halves' fields (the
application's `Settings` does) and the books' `tally_timezone`.
"""

from typing import Any

import dagster as dg

from pipelines.flow import PairDefinitions
from pipelines.walmart_tally import assets, recon, settlement_assets
from pipelines.walmart_tally.jobs import JOBS, settlements_job
from pipelines.walmart_tally.outbound import outbound_definitions
from pipelines.walmart_tally.retry_sensors import transient_retry_sensor
from pipelines.walmart_tally.sensors import walmart_orders_sensor
from pipelines.walmart_tally.settings import WalmartTallySettings

settlements_schedule = dg.ScheduleDefinition(
    job=settlements_job, cron_schedule="30 6 * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: every Walmart settlement report not yet posted -> Tally Receipts and a fee Journal.")


def inbound_definitions(settings: Any, tally: Any) -> PairDefinitions:
    """Orders, returns and settlements into Tally: assets, jobs, the polling and retry sensors, the rule pack."""
    flow = WalmartTallySettings.from_settings(settings, tally.tally_timezone,
                                              getattr(settings, "walmart_sku_map", None))
    return PairDefinitions(
        assets=[*assets.ASSETS, *settlement_assets.ASSETS], jobs=JOBS, schedules=[settlements_schedule],
        sensors=[walmart_orders_sensor, transient_retry_sensor], resources={"walmart_flow": flow},
        rule_packs=[recon.rule_pack(sales_type=flow.voucher_type, credit_note_type=flow.credit_note_type,
                                    bank_ledger=flow.bank_ledger)])


def merge(*parts: PairDefinitions) -> PairDefinitions:
    """One pair's definitions from its halves."""
    return PairDefinitions(
        assets=[a for p in parts for a in p.assets], jobs=[j for p in parts for j in p.jobs],
        schedules=[s for p in parts for s in p.schedules], sensors=[s for p in parts for s in p.sensors],
        resources={k: v for p in parts for k, v in p.resources.items()},
        rule_packs=[r for p in parts for r in p.rule_packs])


def definitions(settings: Any, tally: Any) -> PairDefinitions:
    """The whole pair: inbound here, outbound from `outbound.outbound_definitions` (merged, not copied)."""
    return merge(inbound_definitions(settings, tally), outbound_definitions(settings, tally))

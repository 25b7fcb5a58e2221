"""The jobs of the Walmart -> TallyPrime flows (one place, so sensors and flows can name them)."""

import dagster as dg

from pipelines.walmart_tally import assets, settlement_assets

ORDERS_JOB = "walmart_orders_to_tally"
RETURNS_JOB = "walmart_returns_to_tally"
SETTLEMENTS_JOB = "walmart_settlements_to_tally"
FLOW_TAG = "ml-connector/flow"

orders_job = dg.define_asset_job(
    ORDERS_JOB, selection=dg.AssetSelection.assets(assets.ORDERS, assets.SALES),
    description="Walmart purchase orders -> TallyPrime Sales vouchers (party ledgers first).",
    tags={FLOW_TAG: "walmart-orders-to-tally"})
returns_job = dg.define_asset_job(
    RETURNS_JOB, selection=dg.AssetSelection.assets(assets.RETURNS, assets.CREDIT_NOTES),
    description="Refunded Walmart returns -> TallyPrime Credit Notes against the original sale.",
    tags={FLOW_TAG: "walmart-returns-to-tally"})
settlements_job = dg.define_asset_job(
    SETTLEMENTS_JOB,
    selection=dg.AssetSelection.assets(settlement_assets.SETTLEMENTS, settlement_assets.SETTLEMENT_VOUCHERS),
    description="Walmart settlement reports -> TallyPrime Receipts (bill-wise) and a fee Journal, to the cent.",
    tags={FLOW_TAG: "walmart-settlements-to-tally"})

JOBS = [orders_job, returns_job, settlements_job]

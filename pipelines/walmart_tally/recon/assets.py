"""Walmart ↔ TallyPrime snapshots for reconciliation: Walmart read live, Tally read back, settlements staged.

Daily partitions in the books' time zone (`pipelines.reconciliation.snapshot_assets`); a day replaced at
a time. Keys `recon/walmart_tally/<entity>`.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from connectors.common.errors import RecordError
from connectors.walmart.models import Order, ReturnOrder
from pipelines.reconciliation.snapshot_assets import partition_days, result, snapshot_kwargs, weeks
from pipelines.reconciliation.snapshots import frame
from pipelines.reconciliation.store import ReconStore
from pipelines.walmart_tally.recon import snapshots as snap
from pipelines.walmart_tally.recon.tables import SNAPSHOTS
from pipelines.walmart_tally.staging import WalmartStaging

WALMART = dg.AssetKey(["recon", "walmart_tally", "walmart"])
VOUCHERS = dg.AssetKey(["recon", "walmart_tally", "tally_vouchers"])
SETTLEMENTS = dg.AssetKey(["recon", "walmart_tally", "settlements"])


def build_snapshot_assets(start: date, timezone: str) -> list[dg.AssetsDefinition]:
    common = snapshot_kwargs(start, timezone)

    @dg.asset(key=WALMART, kinds={"walmart", "duckdb"}, required_resource_keys={"walmart", "state"}, **common)
    def recon_walmart(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Walmart purchase orders by order date and returns by return date (local day)."""
        store, per_day = ReconStore(context.resources.state.staging(), SNAPSHOTS), []
        with context.resources.walmart.client() as client:
            for day in partition_days(context):
                start_at, end_at = _bounds(day, timezone)
                now = datetime.now(UTC)
                orders = [snap.order_row(o, timezone, now) for o in _parsed(
                    Order, client.iter_order_pages_raw(created_start=start_at, created_end=end_at))]
                returns = [r for ret in _parsed(ReturnOrder, client.iter_return_pages_raw(
                    created_start=start_at, created_end=end_at)) for r in snap.return_rows(ret, timezone, now)]
                store.replace_partitions(day, {"recon_wt_orders": frame(o for o in orders if o["day"] == day),
                                               "recon_wt_returns": frame(r for r in returns if r["day"] == day)})
                per_day.append({"day": day, "orders": len(orders), "returns": len(returns)})
        return result(per_day, [], ["orders", "returns"])

    @dg.asset(key=VOUCHERS, kinds={"tally", "duckdb"}, pool="tally",
              required_resource_keys={"tally", "state", "walmart_flow"}, **common)
    def recon_walmart_tally_vouchers(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Tally's Sales, Credit Note, Receipt and Journal vouchers of the day, as Tally holds them now.

        One export per voucher type and week of the range (exports are TallyPrime's dearest requests),
        each day then replaced on its own."""
        flow, store, per_day = context.resources.walmart_flow, ReconStore(context.resources.state.staging(),
                                                                          SNAPSHOTS), []
        types = dict.fromkeys([flow.voucher_type, flow.credit_note_type, flow.receipt_type, flow.journal_type])
        with context.resources.tally.client() as client:
            for week in weeks(partition_days(context)):
                now = datetime.now(UTC)
                rows = [snap.voucher_row(v, flow.bank_ledger, now)
                        for t in types for v in client.list_vouchers(t, week[0], week[-1])]
                for day in week:
                    ours = [r for r in rows if r["ext_key"] and r["day"] == day]
                    store.replace_partitions(day, {"recon_wt_vouchers": frame(ours)})
                    per_day.append({"day": day, "vouchers": len(ours)})
        return result(per_day, [], ["vouchers"])

    @dg.asset(key=SETTLEMENTS, kinds={"duckdb"}, required_resource_keys={"state"}, **common)
    def recon_walmart_settlements(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The staged settlements of each day (payout, status, totals by type) as they stand now."""
        staging = WalmartStaging(context.resources.state.staging())
        store, per_day, now = ReconStore(staging.store, SNAPSHOTS), [], datetime.now(UTC)
        with staging.store.connect() as conn:
            dated = conn.execute("SELECT report_date, day FROM walmart_settlements").fetchall()
        for day in partition_days(context):
            pairs = [snap.settlement_rows(staging.settlement(d), staging.settlement_types(d), now)
                     for d, on in dated if on == day]
            store.replace_partitions(day, {"recon_wt_settlements": frame(p[0] for p in pairs),
                                           "recon_wt_settlement_types": frame(r for p in pairs for r in p[1])})
            per_day.append({"day": day, "settlements": len(pairs)})
        return result(per_day, [], ["settlements"])

    return [recon_walmart, recon_walmart_tally_vouchers, recon_walmart_settlements]


def _bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone) - timedelta(hours=1)
    return start.astimezone(UTC), (start + timedelta(days=1, hours=2)).astimezone(UTC)


def _parsed(model, pages):
    for page in pages:
        for raw in page:
            try:
                yield model.from_raw(raw)
            except RecordError:
                continue  # the flow's posting asset reports it, naming the field

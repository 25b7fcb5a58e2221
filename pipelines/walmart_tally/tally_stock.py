"""`tally/stock_prices`: Tally stock items read by change (quantity and selling rates), staged in DuckDB.

The reading and staging is the shared Tally side (`pipelines.sides.tally.stock`); this asset only runs
one cycle of it in the Dagster pool `tally` and reports what it found.
"""


import dagster as dg

from pipelines.metadata import OPERATIONS
from pipelines.sides.tally.stock import StockStage, read_changes
from pipelines.walmart_tally.outbound_settings import WalmartOutboundConfig
from resources import StateResource, TallyResource

GROUP = "walmart_tally"  # one asset group per system pair
STOCK_PRICES = dg.AssetKey(["tally", "stock_prices"])


@dg.asset(key=STOCK_PRICES, group_name=GROUP, kinds={"tally", "duckdb"}, owners=[OPERATIONS], pool="tally")
def tally_stock_prices(tally: TallyResource, state: StateResource,
                       walmart_outbound: WalmartOutboundConfig) -> dg.MaterializeResult:
    """Stock items altered since the AlterID cursor, deletions, and closing quantities when vouchers moved."""
    stage = StockStage(state.staging())
    with tally.client() as client:  # reads only: nothing to audit, as for the other Tally snapshots
        read = read_changes(client, stage, walmart_outbound.today(), refresh_after=walmart_outbound.refresh_after())
    return dg.MaterializeResult(metadata={
        "full_read": read.full, "items_read": len(read.changed), "deleted": len(read.deleted),
        "quantities_read": read.quantities_read, "quantity_changed": len(read.quantity_changed),
        "tally_requests": read.requests, "alt_mst_id": read.cursor.alt_mst_id, "alt_vch_id": read.cursor.alt_vch_id,
        "changed_items": ", ".join(read.changed[:100]), "deleted_items": ", ".join(read.deleted[:100]),
    })


ASSETS = [tally_stock_prices]

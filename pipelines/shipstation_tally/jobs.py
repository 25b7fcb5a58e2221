"""The jobs of the ShipStation <-> TallyPrime flow (one place, so sensors can name several)."""

import dagster as dg

from pipelines.shipstation_tally import inventory_assets, master_assets, shipment_assets
from pipelines.shipstation_tally.assets import GROUP, tally_masters

ORDERS_JOB = "shipstation_to_tally"
SHIPMENTS_JOB = "shipstation_shipments_to_tally"
MASTERS_JOB = "shipstation_tally_master_alignment"
INVENTORY_JOB = "tally_inventory_to_shipstation"

orders_job = dg.define_asset_job(
    ORDERS_JOB, selection=dg.AssetSelection.groups(GROUP),
    description="ShipStation orders -> TallyPrime order vouchers (stage, masters, ledgers, vouchers).",
)
shipments_job = dg.define_asset_job(
    SHIPMENTS_JOB,
    selection=dg.AssetSelection.groups(shipment_assets.GROUP) | dg.AssetSelection.assets(tally_masters),
    description="ShipStation labels and voids -> TallyPrime Delivery Notes (orders first where needed).",
)
masters_job = dg.define_asset_job(
    MASTERS_JOB,
    selection=dg.AssetSelection.groups(master_assets.GROUP) | dg.AssetSelection.assets(tally_masters),
    description="ShipStation products and customers vs Tally stock items and ledgers: create what is missing.",
)
inventory_job = dg.define_asset_job(
    INVENTORY_JOB,
    selection=(dg.AssetSelection.groups(inventory_assets.GROUP) | dg.AssetSelection.assets(tally_masters)
               | dg.AssetSelection.assets(master_assets.shipstation_masters)),
    description="Tally closing stock per SKU -> ShipStation V2 inventory (adjust), only where it differs.",
)

"""The jobs of the ShipStation <-> TallyPrime flow (one place, so sensors can name several).

Every asset of the pair is in one group (`shipstation_tally`), so each job names its assets.
"""

import dagster as dg

from pipelines.shipstation_tally import assets, inventory_assets, master_assets, shipment_assets
from pipelines.shipstation_tally.assets import tally_masters

ORDERS_JOB = "shipstation_to_tally"
SHIPMENTS_JOB = "shipstation_shipments_to_tally"
MASTERS_JOB = "shipstation_tally_master_alignment"
INVENTORY_JOB = "tally_inventory_to_shipstation"
FLOW_TAG = "ml-connector/flow"  # every run of a flow's job carries its CLI name (and the merchant: definitions.py)

orders_job = dg.define_asset_job(
    ORDERS_JOB, selection=dg.AssetSelection.assets(assets.ORDERS, assets.CUSTOMER_LEDGERS, assets.ORDER_VOUCHERS)
    | dg.AssetSelection.assets(tally_masters),
    description="ShipStation orders -> TallyPrime order vouchers (stage, masters, ledgers, vouchers).",
    tags={FLOW_TAG: "shipstation-to-tally"},
)
shipments_job = dg.define_asset_job(
    SHIPMENTS_JOB, selection=dg.AssetSelection.assets(shipment_assets.SHIPMENTS, shipment_assets.DELIVERY_NOTES)
    | dg.AssetSelection.assets(tally_masters),
    description="ShipStation labels and voids -> TallyPrime Delivery Notes (orders first where needed).",
    tags={FLOW_TAG: "shipments-to-tally"},
)
masters_job = dg.define_asset_job(
    MASTERS_JOB,
    selection=dg.AssetSelection.assets(master_assets.PRODUCTS, master_assets.CUSTOMERS, master_assets.ALIGNMENT)
    | dg.AssetSelection.assets(tally_masters),
    description="ShipStation products and customers vs Tally stock items and ledgers: create what is missing.",
    tags={FLOW_TAG: "master-alignment"},
)
inventory_job = dg.define_asset_job(
    INVENTORY_JOB,
    selection=(dg.AssetSelection.assets(inventory_assets.INVENTORY) | dg.AssetSelection.assets(tally_masters)
               | dg.AssetSelection.assets(master_assets.shipstation_masters)),
    description="Tally closing stock per SKU -> ShipStation V2 inventory (adjust), only where it differs.",
    tags={FLOW_TAG: "inventory-to-shipstation"},
)

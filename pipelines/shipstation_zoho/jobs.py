"""The jobs of the ShipStation -> Zoho Books flows (one place, so sensors can name several).

Every asset of the pair is in one group (`shipstation_zoho`), so each job names its assets.
"""

import dagster as dg

from pipelines.shipstation_zoho import assets, contact_assets, shipment_assets

ORDERS_JOB = "shipstation_to_zoho"
SHIPMENTS_JOB = "shipstation_shipments_to_zoho"
CONTACTS_JOB = "zoho_contacts_both_ways"
FLOW_TAG = "ml-connector/flow"

orders_job = dg.define_asset_job(
    ORDERS_JOB, selection=dg.AssetSelection.assets(assets.ORDERS, assets.CONTACTS, assets.INVOICES),
    description="ShipStation orders -> Zoho Books contacts and invoices (created, updated, voided).",
    tags={FLOW_TAG: "shipstation-to-zoho"})
shipments_job = dg.define_asset_job(
    SHIPMENTS_JOB,
    selection=dg.AssetSelection.assets(shipment_assets.LABELS, shipment_assets.JOURNALS, shipment_assets.TRACKING),
    description="ShipStation labels -> Zoho Books journals (per label or daily) and tracking on invoices.",
    tags={FLOW_TAG: "shipments-to-zoho"})
contacts_job = dg.define_asset_job(
    CONTACTS_JOB, selection=dg.AssetSelection.assets(contact_assets.FROM_SHIPSTATION, contact_assets.FROM_ZOHO),
    description="ShipStation customers -> Zoho contacts; Zoho contacts ShipStation lacks are reported.",
    tags={FLOW_TAG: "contacts-zoho"})

"""The jobs of the ShipStation -> Zoho Books flows (one place, so sensors can name several)."""

import dagster as dg

from pipelines.shipstation_zoho import assets, contact_assets, shipment_assets

ORDERS_JOB = "shipstation_to_zoho"
SHIPMENTS_JOB = "shipstation_shipments_to_zoho"
CONTACTS_JOB = "zoho_contacts_both_ways"

orders_job = dg.define_asset_job(
    ORDERS_JOB, selection=dg.AssetSelection.groups(assets.GROUP),
    description="ShipStation orders -> Zoho Books contacts and invoices (created, updated, voided).")
shipments_job = dg.define_asset_job(
    SHIPMENTS_JOB, selection=dg.AssetSelection.groups(shipment_assets.GROUP),
    description="ShipStation labels -> Zoho Books journals (per label or daily) and tracking on invoices.")
contacts_job = dg.define_asset_job(
    CONTACTS_JOB, selection=dg.AssetSelection.groups(contact_assets.GROUP),
    description="ShipStation customers -> Zoho contacts; Zoho contacts ShipStation lacks are reported.")

"""The pair's jobs (one place, so sensors and schedules can name them)."""

import dagster as dg

from pipelines.acumatica_shipstation.assets import CONFIRMATIONS, FREIGHT, ORDERS, SHIPMENTS

ORDERS_JOB = "acumatica_to_shipstation"
SHIPMENTS_JOB = "shipments_to_acumatica"
CONFIRM_JOB = "acumatica_shipment_confirmations"
FREIGHT_JOB = "acumatica_freight"
FLOW_TAG = "ml-connector/flow"

orders_job = dg.define_asset_job(ORDERS_JOB, selection=dg.AssetSelection.assets(ORDERS),
                                 description="Fulfilment-ready Acumatica sales orders -> ShipStation orders.",
                                 tags={FLOW_TAG: "acumatica-to-shipstation"})
shipments_job = dg.define_asset_job(
    SHIPMENTS_JOB, selection=dg.AssetSelection.assets(SHIPMENTS, CONFIRMATIONS),
    description="ShipStation labels -> Acumatica shipments with tracking; confirmed per FULFIL_ON; voids reversed.",
    tags={FLOW_TAG: "shipments-to-acumatica"})
confirm_job = dg.define_asset_job(CONFIRM_JOB, selection=dg.AssetSelection.assets(CONFIRMATIONS),
                                  description="Confirm Acumatica shipments whose parcels the carrier has scanned.",
                                  tags={FLOW_TAG: "acumatica-confirmations"})
freight_job = dg.define_asset_job(FREIGHT_JOB, selection=dg.AssetSelection.assets(FREIGHT),
                                  description="A day's label costs onto Acumatica shipments (FreightCost).",
                                  tags={FLOW_TAG: "acumatica-freight"})

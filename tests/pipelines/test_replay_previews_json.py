"""Replay dry runs of the JSON flows (Zoho Books, ShipStation, Acumatica): each failed record's preview is the
exact request the run would send, built by the flow's own poster from the record the ledger kept and local reads
only; what only the target knows at send time is a marked placeholder, never a guess."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.shipstation.shipments import Shipment
from ml_connector.config import Settings
from pipelines.flow import PreviewSources
from state.ledger import SyncLedger
from state.staging import StagingStore
from tests.fuzz.strategies import valid_order, valid_shipment
from tests.pipelines.test_replay_previews import held, plan_text, posted, record, refused

ZOHO = "zoho_books"


@pytest.fixture
def ledger(tmp_path: Path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    yield ledger
    ledger.close()


def make_sources(tmp_path: Path, **env: str) -> PreviewSources:
    settings = Settings.from_env({"TALLY_COMPANY": "Acme Traders", "ML_CONNECTOR_HOME": str(tmp_path),
                                  "ZOHO_ORGANIZATION_ID": "60001", **env})
    return PreviewSources(settings, StagingStore(tmp_path / "staging.duckdb"))


def stage_labels(staging: StagingStore, *raws: dict) -> None:
    labels = [Shipment.from_raw(r) for r in raws]
    staging.stage_shipments("labels", 0, datetime.now(UTC), list(raws), [(s.create_date, s.void_date) for s in labels])


# --- ShipStation -> Zoho Books: invoices -------------------------------------------------------------------
def test_an_order_previews_its_invoice_with_the_ids_the_ledger_knows_and_placeholders_for_the_rest(ledger,
                                                                                                    tmp_path) -> None:
    sources = make_sources(tmp_path)
    posted(ledger, "shipstation_zoho.contacts", "buyer@example.com", "C-77", target=ZOHO)
    posted(ledger, "zoho_books.items", "SKU-1", "I-1", target=ZOHO)
    refused(ledger, "shipstation_zoho.invoices", "701", "ss-order-701", valid_order(701), "Zoho said 500",
            {"order_number": "WC-701"}, target=ZOHO)
    fresh = {**valid_order(702, sku="SKU-NEW"), "customerEmail": "new@example.com"}
    held(ledger, "shipstation_zoho.invoices", "702", "ss-order-702", fresh, "no contact yet", target=ZOHO)
    anonymous = {**valid_order(703), "customerEmail": None}
    held(ledger, "shipstation_zoho.invoices", "703", "ss-order-703", anonymous, "no email", target=ZOHO)
    text = plan_text("shipstation-to-zoho", ledger, sources)

    sent = record(text, "701")
    assert "will send:\n    POST /books/v3/invoices?organization_id=60001\n" in sent
    assert '"customer_id": "C-77"' in sent and '"item_id": "I-1"' in sent
    assert '"reference_number": "ss-order-701"' in sent and '"date": "2026-03-14"' in sent
    assert '"rate": 100.00' in sent and '"shipping_charge": 10.00' in sent and '"adjustment": 20.00' in sent
    looked_up = record(text, "702")
    assert ('"customer_id": "<Zoho contact id of new@example.com, found or created by the run\'s contacts step first'
            ' at send time>"') in looked_up
    assert '"item_id": "<Zoho item id looked up by SKU \'SKU-NEW\'; if Zoho has none, one is created at send time>"' \
        in looked_up
    again = record(text, "703")
    assert "would fail again as stored:" in again and "customerEmail" in again


def test_an_invoice_zoho_has_is_updated_after_reading_it_and_with_a_unique_field_created_by_upsert(ledger,
                                                                                                   tmp_path) -> None:
    sources = make_sources(tmp_path, ZOHO_INVOICE_UNIQUE_FIELD="cf_ml_key", ZOHO_MISSING_ITEMS="hold")
    posted(ledger, "shipstation_zoho.contacts", "buyer@example.com", "C-77", target=ZOHO)
    refused(ledger, "shipstation_zoho.invoices", "701", "ss-order-701", valid_order(701), "Zoho said 500",
            target_id="INV-5", target=ZOHO)
    refused(ledger, "shipstation_zoho.invoices", "704", "ss-order-704", valid_order(704), "Zoho said 500",
            target=ZOHO)
    text = plan_text("shipstation-to-zoho", ledger, sources)
    altered = record(text, "701")
    assert "GET /books/v3/invoices/INV-5?organization_id=60001 first: a paid or part-paid invoice is not" in altered
    assert "PUT /books/v3/invoices/INV-5?organization_id=60001\n" in altered
    assert '"reference_number": "ss-order-701"' in altered
    assert "if Zoho has none, the order is held (ZOHO_MISSING_ITEMS=hold)" in altered
    created = record(text, "704")
    assert ("PUT /books/v3/invoices?organization_id=60001\n    X-Unique-Identifier-Key: cf_ml_key\n"
            "    X-Unique-Identifier-Value: ss-order-704\n    X-Upsert: true") in created
    assert '{\n          "api_name": "cf_ml_key",\n          "value": "ss-order-704"' in created


# --- ShipStation -> Zoho Books: shipping journals -----------------------------------------------------------
def test_a_label_previews_its_journal_then_the_tracking_update_of_its_invoice(ledger, tmp_path) -> None:
    sources = make_sources(tmp_path, ZOHO_SHIPPING_EXPENSE_ACCOUNT="460000", ZOHO_SHIPPING_CLEARING_ACCOUNT="460001")
    sources.staging.stage_orders("r", 0, datetime.now(UTC), [valid_order(1001)], [None])
    stage_labels(sources.staging, valid_shipment(9001, 1001))
    posted(ledger, "shipstation_zoho.contacts", "buyer@example.com", "C-77", target=ZOHO)
    posted(ledger, "zoho_books.items", "SKU-1", "I-1", target=ZOHO)
    posted(ledger, "shipstation_zoho.invoices", "1001", "INV-1", target=ZOHO)
    refused(ledger, "shipstation_zoho.journals", "label-9001", "ss-label-9001", valid_shipment(9001, 1001),
            "Zoho said 500", target=ZOHO)
    free = {**valid_shipment(9002, 1001), "shipmentCost": "0", "insuranceCost": "0"}
    held(ledger, "shipstation_zoho.journals", "label-9002", "ss-label-9002", free, "nothing to book", target=ZOHO)
    text = plan_text("shipments-to-zoho", ledger, sources)

    sent = record(text, "label-9001")
    journal = sent[:sent.index("then carrier and tracking")]
    assert "POST /books/v3/journals?organization_id=60001\n" in journal
    assert '"reference_number": "ss-label-9001"' in journal
    assert '"account_id": "460000",\n          "debit_or_credit": "debit",\n          "amount": 7.50' in journal
    assert '"account_id": "460001",\n          "debit_or_credit": "credit",\n          "amount": 7.50' in journal
    tracking = sent[sent.index("then carrier and tracking onto the invoice of order 1001"):]
    assert "PUT /books/v3/invoices/INV-1?organization_id=60001" in tracking and "Shipped: FEDEX 1Z999" in tracking
    again = record(text, "label-9002")
    assert "would fail again as stored:" in again and "shipmentCost" in again


def test_account_names_are_placeholders_and_a_voided_label_previews_its_reversal(ledger, tmp_path) -> None:
    sources = make_sources(tmp_path)
    refused(ledger, "shipstation_zoho.journals", "label-9001", "ss-label-9001", valid_shipment(9001, 1001),
            "Zoho said 500", target=ZOHO)
    voided = {**valid_shipment(9003, 1001), "voided": True, "voidDate": "2026-03-16T10:00:00.0000000"}
    refused(ledger, "shipstation_zoho.journals", "label-9003", "ss-label-9003", voided, "Zoho said 500",
            target_id="J-9", target=ZOHO)
    text = plan_text("shipments-to-zoho", ledger, sources)
    assert '"account_id": "<id of Zoho account \'Shipping Expense\', from the chart of accounts at send time>"' \
        in record(text, "label-9001")
    reversal = record(text, "label-9003")
    assert "GET /books/v3/journals?reference_number=ss-label-9003-void&organization_id=60001 first" in reversal
    assert "GET /books/v3/journals/J-9?organization_id=60001 (the journal reversed)" in reversal
    assert '"reference_number": "ss-label-9003-void"' in reversal and '"journal_date": "2026-03-16"' in reversal
    assert '"line_items": "<every line of journal J-9 as Zoho holds it, on the other side at send time>"' in reversal


def test_a_day_previews_its_daily_journal_from_the_labels_staged_that_day(ledger, tmp_path) -> None:
    sources = make_sources(tmp_path, ZOHO_SHIPPING_JOURNAL="daily", ZOHO_SHIPPING_EXPENSE_ACCOUNT="460000",
                           ZOHO_SHIPPING_CLEARING_ACCOUNT="460001")
    stage_labels(sources.staging, valid_shipment(9001, 1001), {**valid_shipment(9004, 1001), "shipmentCost": "2.25"})
    held(ledger, "shipstation_zoho.journals", "day-2026-03-15", "ss-labels-2026-03-15", {"day": "2026-03-15"},
         "Zoho said 500", target=ZOHO)
    text = plan_text("shipments-to-zoho", ledger, sources)
    day = record(text, "day-2026-03-15")
    assert '"reference_number": "ss-labels-2026-03-15"' in day and '"amount": 7.50' in day and '"amount": 2.25' in day
    assert '"account_id": "460001",\n          "debit_or_credit": "credit",\n          "amount": 9.75' in day



# --- Acumatica <-> ShipStation --------------------------------------------------------------------------------
def test_a_sales_order_previews_its_shipstation_order_with_the_masters_read_at_send_time(ledger, tmp_path) -> None:
    from tests.pipelines.test_acumatica_shipstation_flow import sales_order

    sources = make_sources(tmp_path)
    refused(ledger, "acumatica_shipstation.orders", "SO0001", "SO0001", sales_order("SO0001", lines=[(1, "TEA", 2)]),
            "ShipStation said 500", {"order_number": "SO0001"}, target="shipstation")
    nameless = {**sales_order("SO0002"), "ShipToContact": {"Email": ""}, "BillToContact": {}}
    refused(ledger, "acumatica_shipstation.orders", "SO0002", "SO0002", nameless, "ShipStation said 500",
            target="shipstation")
    unpaid = sales_order("SO0003", unpaid="25.00")
    refused(ledger, "acumatica_shipstation.orders", "SO0003", "SO0003", unpaid, "ShipStation said 500",
            target="shipstation")
    bad = sales_order("SO0004", lines=[(1, "TEA", 0)])
    held(ledger, "acumatica_shipstation.orders", "SO0004", "SO0004", bad, "OrderQty", target="shipstation")
    text = plan_text("acumatica-to-shipstation", ledger, sources)

    sent = record(text, "SO0001")
    assert "POST /orders/createorders\n" in sent and '"orderKey": "SO0001"' in sent and '"sku": "TEA"' in sent
    assert '"unitPrice": 10.0' in sent and '"shippingAmount": 4.75' in sent and '"amountPaid": 25.0' in sent
    assert '"orderDate": "2026-03-02T02:00:00.0000000"' in sent  # 10:00 UTC as Pacific wall time
    assert '"name": "Anita Rao"' in sent and '"quantity": 2' in sent
    assert ('"weight": "<DimensionWeight and WeightUOM of stock item TEA, read from Acumatica (none, zero or an '
            'inactive item: the order is held back) at send time>"') in sent
    assert '"name": "<name of customer C0001, read from Acumatica at send time>"' in record(text, "SO0002")
    assert "will send nothing now: it is passed over: payment is not captured (25.00 unpaid)" in record(text, "SO0003")
    again = record(text, "SO0004")
    assert "would fail again as stored:" in again and "OrderQty" in again and "not a whole positive quantity" in again


def test_a_label_previews_its_acumatica_shipment_against_the_order_the_ledger_sent(ledger, tmp_path) -> None:
    sources = make_sources(tmp_path, ACUMATICA_SHIP_VIA_MAP="fedex=FEDEX GROUND")
    posted(ledger, "acumatica_shipstation.orders", "key-1001", "1001", {"order_number": "SO0001", "order_type": "SO",
                                                                       "customer_id": "C0001", "warehouse_id": "MAIN"},
           target="shipstation")
    label = {**valid_shipment(9001, 1001), "shipmentItems": [{"lineItemKey": "1", "sku": "TEA", "quantity": 2,
                                                              "unitPrice": "10.00"}],
             "weight": {"value": 32, "units": "ounces"}}
    refused(ledger, "acumatica_shipstation.shipments", "9001", "ss-label-9001", label, "Acumatica said 500",
            {"order_number": "SO0001"}, target="acumatica")
    untracked = {**label, "shipmentId": 9002, "trackingNumber": None}
    held(ledger, "acumatica_shipstation.shipments", "9002", "ss-label-9002", untracked, "no tracking",
         target="acumatica")
    voided = {**label, "shipmentId": 9003, "voided": True, "voidDate": "2026-03-16T10:00:00.0000000"}
    refused(ledger, "acumatica_shipstation.shipments", "9003", "ss-label-9003", voided, "Acumatica said 500",
            target_id="SH000123", target="acumatica")
    text = plan_text("shipments-to-acumatica", ledger, sources)

    sent = record(text, "9001")
    assert "PUT /entity/Default/23.200.001/Shipment?$expand=Packages" in sent
    assert '"CustomerID": {\n        "value": "C0001"' in sent and '"WarehouseID": {\n        "value": "MAIN"' in sent
    assert '"OrderNbr": {\n            "value": "SO0001"' in sent and '"ShippedQty": {\n            "value": 2' in sent
    assert '"TrackingNbr": {\n            "value": "1Z999"' in sent
    assert '"Weight": {\n            "value": 2.0000' in sent  # 32 ounces in pounds
    assert '"CustomRefNbr1": {\n            "value": "ss-label-9001"' in sent and '"value": "FEDEX GROUND"' in sent
    again = record(text, "9002")
    assert "would fail again as stored:" in again and "trackingNumber" in again
    reversed_ = record(text, "9003")
    assert "GET /entity/Default/23.200.001/Shipment/SH000123 first" in reversed_
    assert "DELETE /entity/Default/23.200.001/Shipment/SH000123" in reversed_

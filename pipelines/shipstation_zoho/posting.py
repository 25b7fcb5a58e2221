"""Posting ShipStation records to Zoho Books exactly once (the generic `Poster`): contacts, invoices, journals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from pydantic import ValidationError

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from connectors.zoho_books.errors import ZohoApiError
from pipelines.posting import Poster, PostItem
from pipelines.posting.keys import record_id
from pipelines.shipstation_zoho import mapping
from pipelines.shipstation_zoho.mapping import InvoiceConfig, JournalConfig
from pipelines.sides.errors import MappingError
from pipelines.sides.zoho_books.invoices import ZohoInvoiceTarget
from pipelines.sides.zoho_books.items import ItemCatalog
from state.ledger import Candidate

CONTACTS_FLOW = "shipstation_zoho.contacts"
INVOICES_FLOW = "shipstation_zoho.invoices"
JOURNALS_FLOW = "shipstation_zoho.journals"
OrderRecord = tuple[Order | None, dict, Sequence[Shipment]]


class ContactPoster(Poster):
    """One Zoho contact per customer email, from an order's billing details (or a ShipStation customer)."""

    flow = CONTACTS_FLOW
    report_keys = ("email", "name")

    def prepare(self, record: tuple[str, dict[str, Any], dict]) -> PostItem | None:
        email, body, raw = record
        self.report.read += 1
        cand = Candidate(email, email, mapping.contact_hash(body), detail={"email": email,
                                                                          "name": body["contact_name"]})
        return PostItem(f"contact {email}", email, None, raw, body, cand)


class InvoicePoster(Poster):
    """One invoice per order: created, updated when the order changes, voided when it is cancelled."""

    flow = INVOICES_FLOW
    report_keys = ("order_number", "order_id")

    def __init__(self, target: ZohoInvoiceTarget, ledger, run_id: str, *, contacts: Callable[[str], str | None],
                 items: ItemCatalog, cfg: InvoiceConfig, batch_size: int = 10) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size)
        self.contacts, self.items, self.cfg = contacts, items, cfg
        self.paid_conflicts = 0

    def prepare(self, record: OrderRecord) -> PostItem | None:
        order, raw, labels = record
        self.report.read += 1
        source_id, number = record_id(raw, "orderId"), str(raw.get("orderNumber", ""))
        if order is None:
            self.fail_unclaimed(source_id, f"ss-order-{source_id}", number, raw, raw.get("_parse_error", "unparsable"))
            return None
        try:
            body, desired, digest = self._map(order, labels)
        except (MappingError, ValidationError, ZohoApiError) as exc:
            self.fail_unclaimed(source_id, mapping.external_key(order), number, raw, str(exc))
            return None
        day = local_date(order.order_date or order.create_date, self.cfg.timezone)
        cand = Candidate(source_id, mapping.external_key(order), digest, desired, order.modify_date.isoformat(),
                         {"order_number": number, "date": day})
        return PostItem(mapping.describe(order), number, day, raw, body, cand, order)

    def _map(self, order: Order, labels: Sequence[Shipment]) -> tuple[dict | None, str, str]:
        if order.order_status == "cancelled":
            return None, "cancel", "cancelled"
        email = mapping.contact_email(order)
        customer_id = self.contacts(email)
        if customer_id is None:
            raise MappingError(mapping.describe(order), "customerEmail", f"no Zoho contact for {email} (see the "
                               "contacts step: a conflict or a failure there holds this order)")

        def item_id(line) -> str:
            return self.items.item_id(line.sku or "", name=line.name, rate=line.unit_price,
                                      record=mapping.describe(order))

        body = mapping.order_to_invoice(order, customer_id, item_id, self.cfg, labels)
        return body, "upsert", mapping.payload_hash(body)

    def record_failure(self, item: PostItem, error: str) -> None:
        """A paid invoice the order no longer matches keeps both versions with its failure, for a person."""
        both = self.target.conflicts.pop(item.key, None)
        if both is not None:
            self.paid_conflicts += 1
            item = replace(item, raw={"flag": "changed after payment", "order": item.raw,
                                      "zoho_invoice": both["invoice"]})
        super().record_failure(item, error)


class JournalPoster(Poster):
    """Shipping journals, with the accounts and time zone they are booked in."""

    flow = JOURNALS_FLOW

    def __init__(self, target, ledger, run_id: str, cfg: JournalConfig, *, batch_size: int = 10) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size)
        self.cfg = cfg


class LabelJournalPoster(JournalPoster):
    """One journal per label (`per_label`); a voided label's journal is reversed."""

    report_keys = ("label", "shipment_id")

    def prepare(self, record: tuple[Shipment | None, dict]) -> PostItem | None:
        shipment, raw = record
        self.report.read += 1
        source_id = f"label-{record_id(raw, 'shipmentId')}"
        if shipment is None:
            self.fail_unclaimed(source_id, f"ss-{source_id}", str(raw.get("shipmentId")), raw,
                                raw.get("_parse_error", "unparsable"))
            return None
        key = mapping.label_key(shipment)
        if shipment.voided:
            voided_on = local_date(shipment.void_date or shipment.create_date, self.cfg.timezone).isoformat()
            cand = Candidate(source_id, key, "voided", "cancel", detail={"label": key, "reversal_date": voided_on},
                             group_key=str(shipment.order_id or ""))
            return PostItem(f"label {shipment.shipment_id}", key, None, raw, None, cand, shipment)
        try:
            body = mapping.label_journal(shipment, self.cfg)
        except MappingError as exc:
            self.fail_unclaimed(source_id, key, key, raw, str(exc))
            return None
        cand = Candidate(source_id, key, mapping.payload_hash(body), detail={"label": key},
                         group_key=str(shipment.order_id or ""))
        return PostItem(f"label {shipment.shipment_id}", key, None, raw, body, cand, shipment)


class DayJournalPoster(JournalPoster):
    """One journal per day (`daily`): that day's labels booked and that day's voids reversed."""

    report_keys = ("day", "source_id")

    def prepare(self, record: tuple[date, Sequence[Shipment], Sequence[Shipment]]) -> PostItem | None:
        day, created, voided = record
        self.report.read += 1
        body = mapping.day_journal(day, created, voided, self.cfg)
        if body is None:
            return None
        key = mapping.day_key(day)
        cand = Candidate(f"day-{day.isoformat()}", key, mapping.payload_hash(body), detail={"day": day.isoformat()})
        return PostItem(f"labels of {day.isoformat()}", day.isoformat(), day, {"day": day.isoformat()}, body, cand)

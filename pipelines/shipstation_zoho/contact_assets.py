"""Contacts both ways: ShipStation customers -> Zoho contacts; new Zoho contacts reported for ShipStation.

ShipStation V1 has no endpoint that creates a customer (customers exist only as a side effect of
orders that carry `customerUsername`, ShipStation reference §3.3), so a Zoho contact is never
pushed to ShipStation: the contacts ShipStation lacks are listed in the run's metadata instead.
Zoho contacts are polled by `last_modified_time` (the source of truth); a verified Zoho webhook
only asks for that poll early (`sensors.zoho_contacts_webhook_sensor`).
"""


from datetime import UTC, datetime

import dagster as dg

from connectors.common.errors import RecordError
from pipelines.metadata import FINANCE, failure_table
from pipelines.shipstation_zoho.assets import GROUP, audit
from pipelines.shipstation_zoho.mapping import customer_contact_body
from pipelines.shipstation_zoho.outcomes import daily_cap, report_metadata
from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, ContactPoster
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.shipstation_zoho.window import parse_instant
from pipelines.sides.errors import MappingError
from pipelines.sides.zoho_books.contacts import ZohoContactTarget
from resources import ShipStationResource, StateResource, ZohoBooksResource

FROM_SHIPSTATION = dg.AssetKey(["zoho_books", "contacts_from_shipstation"])
FROM_ZOHO = dg.AssetKey(["zoho_books", "contacts_from_zoho"])
NO_CREATE_ENDPOINT = "not pushed: ShipStation V1 has no customer create endpoint (reference §3.3)"


class ZohoContactsConfig(dg.Config):
    """Zoho contacts modified at or after `modified_since` (empty: all)."""

    modified_since: str | None = None


@dg.asset(key=FROM_SHIPSTATION, group_name=GROUP, kinds={"shipstation", "zoho_books"}, owners=[FINANCE])
def contacts_from_shipstation(context: dg.AssetExecutionContext, shipstation: ShipStationResource,
                              zoho_books: ZohoBooksResource, state: StateResource,
                              zoho_flow: ShipStationZohoSettings) -> dg.MaterializeResult:
    """Every ShipStation customer with an email as a Zoho contact (found by email, else created); snapshot kept."""
    store, ledger, now = state.staging(), state.ledger(), datetime.now(UTC)
    customers, unusable = [], []
    with shipstation.client() as client:
        for customer in client.iter_customers():
            customers.append(customer)
    store.replace_shipstation_customers(now, [c.raw for c in customers])
    records = {}
    for customer in customers:
        try:
            body = customer_contact_body(customer)
        except (MappingError, RecordError) as exc:
            unusable.append({"customer": str(customer.customer_id), "error": str(exc)})
            continue
        email = body["contact_persons"][0]["email"]
        records.setdefault(email, (email, body, customer.raw))
    hook = audit(ledger, context.run_id, CONTACTS_FLOW)
    with zoho_books.client(hook) as zoho:
        poster = ContactPoster(ZohoContactTarget(zoho, hook), ledger, context.run_id, batch_size=zoho_flow.batch_size)
        with daily_cap(poster):
            poster.post(records.values())
    return dg.MaterializeResult(metadata=report_metadata(
        poster.report, customers=len(customers), without_email=len(unusable),
        unusable=failure_table(unusable, ["customer", "error"])))


@dg.asset(key=FROM_ZOHO, group_name=GROUP, kinds={"zoho_books"}, owners=[FINANCE], deps=[FROM_SHIPSTATION])
def contacts_from_zoho(config: ZohoContactsConfig, zoho_books: ZohoBooksResource,
                       state: StateResource) -> dg.MaterializeResult:
    """Zoho contacts modified since the cursor that ShipStation does not know, listed (they cannot be pushed)."""
    known = {(email or "").strip().lower() for _, _, email in state.staging().shipstation_customers()}
    since = parse_instant(config.modified_since) if config.modified_since else None
    read, missing = 0, []
    with zoho_books.client() as zoho:
        for contact in zoho.iter_contacts_modified(since):
            read += 1
            email = str(contact.get("email") or "").strip().lower()
            if email and email not in known:
                missing.append({"contact": str(contact.get("contact_name")), "email": email,
                                "reason": NO_CREATE_ENDPOINT})
    return dg.MaterializeResult(metadata={
        "zoho_contacts_read": read, "not_in_shipstation": len(missing),
        "not_pushed": failure_table(missing, ["contact", "email", "reason"])})


ASSETS = [contacts_from_shipstation, contacts_from_zoho]

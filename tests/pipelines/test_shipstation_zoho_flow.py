"""ShipStation -> Zoho Books end to end: the flows' jobs against both simulators over HTTP.

Orders become invoices exactly once (twice run: nothing duplicated), edits update, cancellations
void, paid invoices are flagged not overwritten, contacts are matched by email and conflicts
reported, Zoho's daily cap stops a run cleanly and the next day carries on without loss or repeats,
and label costs are journals that balance, reversed when a label is voided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from connectors.zoho_books.client import ZohoBooksClient
from ml_connector.runner import RunSummary, instance_for, run_job
from pipelines.shipstation_zoho import jobs
from pipelines.shipstation_zoho.definitions import definitions
from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, INVOICES_FLOW
from pipelines.shipstation_zoho.settings import ShipStationZohoFlowSettings
from resources import ShipStationResource, StateResource, ZohoBooksResource
from sandbox import merchant_zoho as mz
from sandbox.stack import API_KEY, API_SECRET, Sandbox, start_sandbox
from state.ledger import SyncLedger

N_ORDERS = 30


class FlowSettings(ShipStationZohoFlowSettings):
    shipstation_sync_start: datetime


@dataclass
class Stack:
    sandbox: Sandbox
    accounts: Any
    books: Any
    zoho: Any  # the simulator's ZohoState
    home: Path
    flow: dict

    def definitions(self, **flow: Any) -> dg.Definitions:
        start = min(o["modifyDate"] for o in self.sandbox.merchant.orders)
        settings = FlowSettings(shipstation_sync_start=start.replace(year=start.year - 1),
                                zoho_timezone="Asia/Kolkata", **(self.flow | flow))
        pair = definitions(settings)
        resources = {
            "shipstation": ShipStationResource(base_url=self.sandbox.shipstation.base_url, api_key=API_KEY,
                                               api_secret=API_SECRET),
            "state": StateResource(home=str(self.home)),
            "zoho_books": self.zoho_resource(), **pair.resources}
        return dg.Definitions(assets=pair.assets, jobs=pair.jobs, resources=resources)

    def zoho_resource(self) -> ZohoBooksResource:
        return ZohoBooksResource(accounts_url=self.accounts["us"].base_url, client_id=mz.CLIENT_ID,
                                 client_secret=mz.CLIENT_SECRET, refresh_token=mz.REFRESH_TOKEN,
                                 organization_id=mz.ORGANIZATION_ID, requests_per_minute=0)

    def run(self, job: str = jobs.ORDERS_JOB, config: dict | None = None, **flow: Any) -> RunSummary:
        return run_job(self.definitions(**flow), job, instance_for(self.home), config)

    def client(self) -> ZohoBooksClient:
        return self.zoho_resource().client()

    def org(self):
        return self.zoho.orgs[mz.ORGANIZATION_ID]

    def invoices(self) -> list[dict]:
        return list(self.org().invoices.values())

    def live_invoices_by_reference(self) -> Counter[str]:
        return Counter(i.get("reference_number") for i in self.invoices() if i.get("status") != "void")

    def ledger(self) -> SyncLedger:
        return SyncLedger(self.home / "ledger.sqlite3")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    home = tmp_path / "state"
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(parents=True)
    with start_sandbox(seed=11, orders=N_ORDERS, rate_limit=0) as sb:
        accounts, books, zoho = mz.start_zoho(sb.merchant, "us", per_minute=0)
        try:
            yield Stack(sb, accounts, books, zoho, home, {})
        finally:
            books.stop()
            for served in accounts.values():
                served.stop()
            zoho.webhooks.close()


def expected_orders(sb: Sandbox) -> dict[str, dict]:
    return {f"ss-order-{o['orderId']}": o for o in sb.merchant.orders if o["orderStatus"] != "cancelled"}


def test_orders_become_invoices_once_and_a_second_run_duplicates_nothing(stack):
    first = stack.run()
    assert first.success, first.error
    expected = expected_orders(stack.sandbox)
    live = stack.live_invoices_by_reference()
    failed = {e.source_id for e in stack.ledger().entries(INVOICES_FLOW, "failed")}
    posted = {k for k in expected if k.removeprefix("ss-order-") not in failed}
    assert posted and {k: live[k] for k in posted} == dict.fromkeys(posted, 1)
    for invoice in stack.invoices():
        order = expected.get(invoice["reference_number"])
        if order is not None:
            assert Decimal(str(invoice["total"])) == Decimal(str(order["orderTotal"]))
    count, contacts = len(stack.invoices()), len(stack.org().contacts)
    second = stack.run()
    assert second.success, second.error
    assert second.metric("zoho_books/invoices", "created") == 0
    assert second.metric("zoho_books/contacts", "created") == 0
    assert (len(stack.invoices()), len(stack.org().contacts)) == (count, contacts)


def primary_emails(stack: Stack) -> Counter[str]:
    out: Counter[str] = Counter()
    for contact in stack.org().contacts.values():
        for person in contact.get("contact_persons") or []:
            if person.get("is_primary_contact"):
                out[person["email"].lower()] += 1
    return out


def test_order_contacts_are_matched_by_email_never_created_twice(stack):
    before = primary_emails(stack)
    assert stack.run().success
    after = primary_emails(stack)
    assert max(after.values()) == 1  # nobody created twice, nobody who was already there duplicated
    emails = {o["customerEmail"].lower() for o in stack.sandbox.merchant.orders if o["orderStatus"] != "cancelled"}
    posted = {e.source_id: e for e in stack.ledger().entries(CONTACTS_FLOW, "posted")}
    reused = [email for email in emails if email in before and email in posted]
    assert reused, "some order customers already were Zoho contacts"
    assert set(after) - set(before) == {e for e in posted if e not in before}


def test_the_contacts_job_reflects_shipstation_customers_reports_conflicts_and_zoho_only_contacts(stack):
    seeded = [c for c in stack.org().contacts.values() if c["contact_name"].endswith("(old account)")]
    assert len(seeded) == 1
    conflict_email = seeded[0]["contact_persons"][0]["email"].lower()
    result = stack.run(jobs.CONTACTS_JOB)
    assert result.success, result.error
    entry = stack.ledger().get(CONTACTS_FLOW, conflict_email, "zoho_books")
    assert entry.state == "failed" and "conflict" in entry.last_error and "not merged" in entry.last_error
    assert seeded[0]["contact_name"].endswith("(old account)")  # untouched
    assert max(primary_emails(stack).values()) == 1
    customers = {c["email"].lower() for c in stack.sandbox.merchant.customers}
    assert customers - {conflict_email} <= set(primary_emails(stack))  # every other customer is a Zoho contact
    assert result.metric("zoho_books/contacts_from_zoho", "not_in_shipstation") == 2  # the Zoho-only contacts


def test_an_edited_order_updates_its_invoice_and_a_cancelled_one_voids_it(stack):
    assert stack.run().success
    before = len(stack.invoices())
    changes = stack.sandbox.advance()
    assert changes["edited"] or changes["cancelled"]
    again = stack.run()
    assert again.success, again.error
    assert len(stack.invoices()) == before  # updated, never a second invoice
    live = stack.live_invoices_by_reference()
    assert max(live.values()) == 1
    orders = {o["orderId"]: o for o in _orders(stack)}
    for change in changes["applied"]:
        invoice = _invoice_of(stack, change["orderId"])
        if invoice is None:
            continue
        if change["kind"] == "cancel":
            assert invoice["status"] == "void"
        elif change["kind"] == "edit_line":
            assert Decimal(str(invoice["total"])) == Decimal(str(orders[change["orderId"]]["orderTotal"]))
    assert again.metric("zoho_books/invoices", "altered") + again.metric("zoho_books/invoices", "cancelled") > 0


def _orders(stack: Stack) -> list[dict]:
    with stack.sandbox.shipstation and ShipStationResource(
            base_url=stack.sandbox.shipstation.base_url, api_key=API_KEY, api_secret=API_SECRET).client() as client:
        return [r for page in client.iter_pages_raw("/orders", "orders", {}) for r in page]


def _invoice_of(stack: Stack, order_id: int) -> dict | None:
    found = [i for i in stack.invoices() if i.get("reference_number") == f"ss-order-{order_id}"]
    return found[0] if found else None


def test_a_daily_cap_hit_mid_run_stops_cleanly_and_the_next_day_resumes_without_loss_or_repeats(stack):
    from connectors.zoho_books.limits import OrgLimits, shared_limits

    org = stack.org()
    stack.zoho.limiter.configure(org, daily=60)  # enough for the contacts and part of the invoices
    stopped = stack.run()
    assert not stopped.success and "daily API cap" in (stopped.error or "")
    ledger = stack.ledger()
    assert not [e for e in ledger.entries(INVOICES_FLOW, "pending")]  # nothing left claimed by the dead run
    done = {e.source_id for e in ledger.entries(INVOICES_FLOW, "posted")}
    assert 0 < len(done) < len(expected_orders(stack.sandbox))
    made = len(stack.invoices())

    stack.zoho.clock.advance(86_400)  # the next day: Zoho's count starts again ...
    stack.zoho.limiter.configure(org, daily=None)
    limits = shared_limits(mz.ORGANIZATION_ID, stack.accounts["us"].base_url, OrgLimits)
    limits.blocked_until = None  # ... and so does ours (it assumed the next UTC midnight)
    resumed = stack.run()
    assert resumed.success, resumed.error
    live = stack.live_invoices_by_reference()
    failed = {e.source_id for e in ledger.entries(INVOICES_FLOW, "failed")}
    wanted = {k for k in expected_orders(stack.sandbox) if k.removeprefix("ss-order-") not in failed}
    assert {k: live[k] for k in wanted} == dict.fromkeys(wanted, 1)  # nothing lost, nothing twice
    assert resumed.metric("zoho_books/invoices", "created") == len(stack.invoices()) - made


def _pay_every_invoice(stack: Stack) -> None:
    with stack.client() as client:
        for invoice in stack.invoices():
            total = Decimal(str(invoice["total"]))
            if invoice.get("status") == "void" or total <= 0:
                continue
            client.call("POST", "/customerpayments", json={
                "customer_id": invoice["customer_id"], "payment_mode": "cash", "amount": total,
                "date": invoice["date"], "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": total}]})


def test_an_order_changed_after_its_invoice_was_paid_is_flagged_with_both_versions(stack):
    assert stack.run().success
    _pay_every_invoice(stack)
    totals = {i["reference_number"]: str(i["total"]) for i in stack.invoices()}
    changes = stack.sandbox.advance()
    edited = {c["orderId"] for c in changes["applied"] if c["kind"] == "edit_line"}
    assert edited
    again = stack.run()
    assert again.success, again.error
    assert {i["reference_number"]: str(i["total"]) for i in stack.invoices()} == totals  # nothing overwritten
    ledger = stack.ledger()
    for order_id in edited:
        entry = ledger.get(INVOICES_FLOW, str(order_id), "zoho_books")
        if entry.target_id is None:
            continue
        assert entry.state == "failed" and "was paid" in entry.last_error
        kept = __import__("json").loads(entry.source_payload)
        assert kept["order"]["orderId"] == order_id and kept["zoho_invoice"]["invoice_id"] == entry.target_id
    assert again.metric("zoho_books/invoices", "paid_conflicts") >= 1


def _journals(stack: Stack) -> dict[str, dict]:
    return {j["reference_number"]: j for j in stack.org().journals.values()}


def _balanced(journal: dict) -> bool:
    lines = journal["line_items"]
    debit = sum(Decimal(str(x["amount"])) for x in lines if x["debit_or_credit"] == "debit")
    credit = sum(Decimal(str(x["amount"])) for x in lines if x["debit_or_credit"] == "credit")
    return debit == credit and debit > 0


def _ship_some(stack: Stack, n: int = 4) -> list[dict]:
    open_orders = [o for o in stack.sandbox.merchant.orders if o["orderStatus"] == "awaiting_shipment"]
    return [stack.sandbox.ship(o["orderId"]) for o in open_orders[:n]]


def test_each_label_is_a_balanced_journal_a_void_reverses_it_and_tracking_reaches_the_invoice(stack):
    assert stack.run().success
    labels = _ship_some(stack)
    first = stack.run(jobs.SHIPMENTS_JOB)
    assert first.success, first.error
    journals = _journals(stack)
    live = [s for s in stack.sandbox.shipments() if not s.get("voided")]
    for label in live:
        journal = journals[f"ss-label-{label['shipmentId']}"]
        assert _balanced(journal)
        cost = Decimal(str(label["shipmentCost"])) + Decimal(str(label.get("insuranceCost") or 0))
        assert sum(Decimal(str(x["amount"])) for x in journal["line_items"] if x["debit_or_credit"] == "debit") == cost
    for label in labels:
        invoice = _invoice_of(stack, label["orderId"])
        if invoice is not None and invoice.get("status") != "void":
            assert label["trackingNumber"] in (invoice.get("notes") or "")
    count = len(stack.org().journals)
    voided = labels[0]
    stack.sandbox.void(voided["shipmentId"])
    second = stack.run(jobs.SHIPMENTS_JOB)
    assert second.success, second.error
    journals = _journals(stack)
    reversal = journals[f"ss-label-{voided['shipmentId']}-void"]
    original = journals[f"ss-label-{voided['shipmentId']}"]
    assert _balanced(reversal) and len(stack.org().journals) == count + 1
    assert sorted((x["account_id"], x["debit_or_credit"]) for x in reversal["line_items"]) == sorted(
        (x["account_id"], {"debit": "credit", "credit": "debit"}[x["debit_or_credit"]]) for x in original["line_items"])
    third = stack.run(jobs.SHIPMENTS_JOB)
    assert third.success and len(stack.org().journals) == count + 1  # run again: nothing twice


def test_daily_journals_book_each_days_labels_in_one_balanced_entry(stack):
    assert stack.run().success
    _ship_some(stack, 5)
    result = stack.run(jobs.SHIPMENTS_JOB, zoho_shipping_journal="daily")
    assert result.success, result.error
    days = [j for j in stack.org().journals.values() if j["reference_number"].startswith("ss-labels-")]
    assert days and all(_balanced(j) for j in days)
    live = [s for s in stack.sandbox.shipments() if not s.get("voided")]
    booked = sum(len([x for x in j["line_items"] if x["debit_or_credit"] == "debit"]) for j in days)
    assert booked >= len(live)
    again = stack.run(jobs.SHIPMENTS_JOB, zoho_shipping_journal="daily")
    assert again.success and again.metric("zoho_books/shipping_journals", "created") == 0


def test_held_orders_wait_for_their_zoho_item_then_the_sensor_re_drives_them(stack):
    from pipelines.shipstation_zoho.sensors import held_sku, zoho_held_orders_sensor

    result = stack.run(zoho_missing_items="hold")
    assert result.success, result.error
    ledger = stack.ledger()
    held = [e for e in ledger.entries(INVOICES_FLOW, "failed") if held_sku(e.last_error)]
    assert held and result.metric("zoho_books/invoices", "items_created") == 0
    sku = held_sku(held[0].last_error)
    waiting = [e for e in held if held_sku(e.last_error) == sku]
    resources = {"zoho_books": stack.zoho_resource(), "state": StateResource(home=str(stack.home))}
    with dg.build_sensor_context(resources=resources) as context:
        assert not zoho_held_orders_sensor(context).run_requests  # the item still does not exist
    with stack.client() as client:
        client.create_item({"name": f"Made by hand {sku}", "sku": sku, "rate": 1})
    with dg.build_sensor_context(resources=resources) as context:
        requests = zoho_held_orders_sensor(context).run_requests
    ids = requests[0].run_config["ops"]["shipstation__orders_to_zoho"]["config"]["order_ids"]
    assert {str(i) for i in ids} >= {e.source_id for e in waiting}
    again = stack.run(config=requests[0].run_config, zoho_missing_items="hold")
    assert again.success, again.error
    for entry in waiting:  # posted now, or still held for another SKU it also lacks
        now = ledger.get(INVOICES_FLOW, entry.source_id, "zoho_books")
        assert now.state == "posted" or held_sku(now.last_error) not in (None, sku)
    assert any(ledger.get(INVOICES_FLOW, e.source_id, "zoho_books").state == "posted" for e in waiting)


def test_every_zoho_write_is_in_the_audit_trail_with_its_record_and_no_secret(stack):
    result = stack.run()
    assert result.success, result.error
    records = [r for r in stack.ledger().audit.records(result.run_id, limit=100_000) if r.system == "zoho_books"]
    writes = [r for r in records if r.kind.startswith("POST /invoices")]
    assert len(writes) == result.metric("zoho_books/invoices", "created")
    assert all(r.source_ids and r.outcome == "201" for r in writes)
    tokens = list(stack.zoho.accounts.access_tokens)  # every access token the run was given
    for record in records:
        text = record.request + record.response + (record.error or "").encode()
        for secret in (mz.REFRESH_TOKEN, mz.CLIENT_SECRET, *tokens):
            assert secret.encode() not in text


def test_with_a_unique_custom_field_invoices_are_upserted_by_it_and_carry_tracking_in_theirs(stack):
    options = {"zoho_invoice_unique_field": "cf_shipstation_order", "zoho_tracking_field": "cf_tracking"}
    assert stack.run(**options).success
    _ship_some(stack, 2)
    assert stack.run(jobs.SHIPMENTS_JOB, **options).success
    again = stack.run(**options)
    assert again.success and again.metric("zoho_books/invoices", "created") == 0
    assert max(stack.live_invoices_by_reference().values()) == 1
    with stack.client() as client:
        invoice = client.get_invoice(next(iter(stack.org().invoices)))
    fields = {f["api_name"]: f["value"] for f in invoice["custom_fields"]}
    assert fields["cf_shipstation_order"] == invoice["reference_number"]
    tracked = [i for i in stack.invoices() if any(f.get("api_name") == "cf_tracking" and f.get("value")
                                                  for f in i.get("custom_fields") or [])]
    assert tracked  # the labels' carrier and tracking number reached their invoices' field

"""The Zoho targets under the generic poster: one by one, a cap part-way keeps what landed, conflicts never merge."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import SecretStr

from connectors.zoho_books.auth import zoho_auth
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.errors import DailyLimitReached
from connectors.zoho_books.limits import OrgLimits
from pipelines.posting import Poster, PostItem
from pipelines.sides.zoho_books.contacts import ZohoContactTarget
from pipelines.sides.zoho_books.invoices import ZohoInvoiceTarget
from state.ledger import Candidate, SyncLedger
from tests.unit.test_zoho_support import CLIENT_ID, CLIENT_SECRET, ORG, REFRESH, FakeZoho

FLOW = "test.zoho_invoices"


def client_for(fake: FakeZoho) -> ZohoBooksClient:
    auth = zoho_auth(CLIENT_ID, SecretStr(CLIENT_SECRET), SecretStr(REFRESH), transport=fake.transport())
    return ZohoBooksClient(auth=auth, organization_id=ORG, transport=fake.transport(),
                           limits=OrgLimits(per_minute=0), sleep=lambda s: None)


@pytest.fixture
def fake() -> FakeZoho:
    fake = FakeZoho()
    fake.contacts["c1"] = {"contact_id": "c1", "contact_name": "Asha Rao", "email": "a@example.com",
                           "last_modified_time": "2026-02-01T00:00:00+0000"}
    fake.items["i1"] = {"item_id": "i1", "name": "Tea", "sku": "TEA-1", "rate": "5.00"}
    return fake


class InvoicePoster(Poster):
    flow = FLOW

    def prepare(self, record: dict) -> PostItem:
        key = f"ss-order-{record['id']}"
        desired = "cancel" if record.get("cancelled") else "upsert"
        body = {"customer_id": "c1", "reference_number": key,
                "line_items": [{"item_id": "i1", "rate": "5.00", "quantity": record.get("qty", 1)}]}
        cand = Candidate(str(record["id"]), key, repr(sorted(record.items())), desired)
        return PostItem(key, key, None, record, None if desired == "cancel" else body, cand)


def post(fake: FakeZoho, ledger: SyncLedger, records: list[dict], run: str = "run", batch: int = 5) -> InvoicePoster:
    poster = InvoicePoster(ZohoInvoiceTarget(client_for(fake)), ledger, run, batch_size=batch)
    poster.post(records)
    return poster


def refs(fake: FakeZoho) -> list[str]:
    return sorted(i["reference_number"] for i in fake.invoices.values())


def test_a_daily_cap_part_way_through_a_batch_loses_and_repeats_nothing_the_next_day(fake, tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    records = [{"id": n} for n in range(1, 9)]
    client_for(fake).ping()  # the token and the organisation: not part of the count below
    fake.daily_cap = fake.day_calls + 3  # three invoices today, in the first batch of five
    with pytest.raises(DailyLimitReached):
        post(fake, ledger, records)
    assert refs(fake) == ["ss-order-1", "ss-order-2", "ss-order-3"]
    states = {e.source_id: e.state for e in ledger.entries(FLOW)}
    assert [states[str(n)] for n in (1, 2, 3)] == ["posted"] * 3
    assert all(e.owner is None for e in ledger.entries(FLOW, "pending"))  # left for a lookup, not claimed
    fake.next_day()
    fake.daily_cap = 0  # a new day's budget, large enough for the rest
    poster = post(fake, ledger, records, run="tomorrow")
    assert refs(fake) == sorted(f"ss-order-{n}" for n in range(1, 9))  # every order once
    assert poster.report.created + poster.report.skipped + poster.report.resolved >= 5
    assert {e.state for e in ledger.entries(FLOW)} == {"posted"}


def test_an_edit_updates_the_invoice_in_place(fake, tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    post(fake, ledger, [{"id": 1}])
    again = post(fake, ledger, [{"id": 1, "qty": 3}])
    assert again.report.altered == 1 and len(fake.invoices) == 1
    assert next(iter(fake.invoices.values()))["total"] == "15.00"


def test_a_paid_invoice_is_not_overwritten_and_both_versions_are_kept(fake, tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    target = ZohoInvoiceTarget(client_for(fake))
    first = InvoicePoster(target, ledger, "run")
    first.post([{"id": 1}])
    fake.pay(next(iter(fake.invoices)))
    second = InvoicePoster(target, ledger, "run2")
    second.post([{"id": 1, "qty": 4}])
    assert second.report.failed == 1 and "was paid" in second.report.failures[0]["error"]
    assert next(iter(fake.invoices.values()))["total"] == "5.00"
    assert target.conflicts["ss-order-1"]["invoice"]["status"] == "paid"


def test_a_cancelled_order_voids_its_invoice_and_a_revived_one_is_put_back_to_draft_first(fake, tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    post(fake, ledger, [{"id": 1}])
    post(fake, ledger, [{"id": 1, "cancelled": True}])
    invoice = next(iter(fake.invoices.values()))
    assert invoice["status"] == "void"
    post(fake, ledger, [{"id": 1, "qty": 2}])
    assert invoice["invoice_id"] in fake.invoices and fake.invoices[invoice["invoice_id"]]["status"] == "draft"
    assert fake.invoices[invoice["invoice_id"]]["total"] == "10.00" and len(fake.invoices) == 1


def contact_item(email: str, name: str) -> PostItem:
    body = {"contact_name": name, "contact_type": "customer",
            "contact_persons": [{"email": email, "is_primary_contact": True}]}
    return PostItem(email, email, None, {}, body, Candidate(email, email, name))


def test_a_contact_is_found_by_email_not_created_again(fake):
    target = ZohoContactTarget(client_for(fake))
    out = target.create([contact_item("a@example.com", "Asha  rao")])
    assert out.landed == {"a@example.com": "c1"} and len(fake.contacts) == 1


def test_the_same_email_under_another_name_is_a_conflict_never_merged(fake):
    target = ZohoContactTarget(client_for(fake))
    out = target.create([contact_item("a@example.com", "Someone Else")])
    assert "conflict" in out.refused["a@example.com"] and fake.contacts["c1"]["contact_name"] == "Asha Rao"


def test_a_new_customer_whose_name_is_taken_is_created_with_the_email_beside_it(fake):
    target = ZohoContactTarget(client_for(fake))
    out = target.create([contact_item("other@example.com", "Asha Rao")])
    made = fake.contacts[out.landed["other@example.com"]]
    assert made["contact_name"] == "Asha Rao (other@example.com)" and made["email"] == "other@example.com"
    again = target.alter(replace(contact_item("other@example.com", "Asha Rao")), made["contact_id"])
    assert again.error is None  # our own disambiguated name is not a conflict


def test_the_item_catalogue_is_read_once_then_remembered_and_only_new_skus_cost_requests(fake, tmp_path):
    from decimal import Decimal

    from pipelines.sides.errors import MappingError
    from pipelines.sides.zoho_books.items import ItemCatalog

    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    c = client_for(fake)
    c.ping()
    first = ItemCatalog(c, "create", ledger=ledger)
    assert first.item_id("TEA-1", name="Tea", rate=Decimal("5"), record="order 1") == "i1"
    before = len(fake.calls)
    later = ItemCatalog(c, "create", ledger=ledger, run_id="later")
    assert later.item_id("TEA-1", name="Tea", rate=Decimal("5"), record="order 2") == "i1"
    assert len(fake.calls) == before  # remembered: no request at all
    made = later.item_id("COF-2", name="Coffee", rate=Decimal("7.25"), record="order 3")
    assert fake.items[made]["sku"] == "COF-2" and later.created == ["COF-2"]
    assert len(fake.calls) == before + 2  # one look-up by SKU, one create
    held = ItemCatalog(c, "hold", ledger=ledger, run_id="held")
    with pytest.raises(MappingError, match="held: no Zoho item has SKU 'RCE-9'"):
        held.item_id("RCE-9", name="Rice", rate=Decimal("3"), record="order 4")
    assert "RCE-9" not in {i.get("sku") for i in fake.items.values()}

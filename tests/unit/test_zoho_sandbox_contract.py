"""The Zoho Books client against the Zoho simulator over loopback HTTP, in every data centre.

The simulator doubles the real API (sandbox/zoho_books): one accounts server and one Books API per
data centre, a token valid only in its own data centre, `api_domain` naming its Books host.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.common.errors import AuthError
from connectors.zoho_books import settings
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.limits import OrgLimits
from connectors.zoho_books.settings import ZohoBooksSettings
from sandbox import merchant_zoho as mz
from sandbox.merchant import generate_merchant
from sandbox.zoho_books.serve import ServedZoho, serve_zoho

MERCHANT = generate_merchant(seed=3, n_orders=12)


def served(dc: str, also: str) -> ServedZoho:
    state = mz.build_state(mz.generate_zoho(MERCHANT, 7, dc))
    return serve_zoho(state, sorted({dc, also}))


def client(zoho: ServedZoho, dc: str, *, accounts_dc: str | None = None) -> ZohoBooksClient:
    config = ZohoBooksSettings(zoho_data_centre=dc, zoho_accounts_url=zoho.accounts[accounts_dc or dc].base_url,
                               zoho_client_id=mz.CLIENT_ID, zoho_client_secret=SecretStr(mz.client_secret(dc)),
                               zoho_organization_id=mz.ORGANIZATION_ID)
    return ZohoBooksClient.from_settings(config, refresh_token=lambda: mz.REFRESH_TOKEN, limits=OrgLimits())


@pytest.fixture(params=sorted(settings.ACCOUNTS_URLS))
def zoho(request) -> Iterator[tuple[str, ServedZoho]]:
    other = "eu" if request.param == "us" else "us"
    with served(request.param, other) as z:
        yield request.param, z


def test_the_client_follows_api_domain_to_its_data_centres_books_host(zoho):
    dc, z = zoho
    with client(z, dc) as c:
        result = c.ping()
        assert result["ok"] is True, result
        assert c.base_url == z.books[dc].base_url + "/books/v3"
        assert c.list_items()  # the seeded organisation's items, read through the routed host


def test_a_refresh_token_is_refused_by_another_data_centres_accounts_server(zoho):
    dc, z = zoho
    other = next(d for d in z.accounts if d != dc)
    with pytest.raises(AuthError), client(z, dc, accounts_dc=other) as c:
        c.list_items()


def test_contacts_items_invoices_and_journals_round_trip():
    with served("in", "in") as z, client(z, "in") as c:
        contact = c.create_contact({"contact_name": "Contract Test", "contact_persons": [
            {"email": "contract@example.com", "is_primary_contact": True}]})
        assert [x["contact_id"] for x in c.find_contacts_by_email("contract@example.com")] == [contact["contact_id"]]
        item = c.create_item({"name": "Contract Widget", "sku": "CT-1", "rate": 12})
        body = {"customer_id": contact["contact_id"], "reference_number": "ss-order-1", "date": "2026-03-02",
                "line_items": [{"item_id": item["item_id"], "rate": 12, "quantity": 2, "tax_id": ""}]}
        invoice = c.create_invoice(body, unique=("cf_shipstation_order", "ss-order-1"))
        again = c.create_invoice(body | {"custom_fields": []}, unique=("cf_shipstation_order", "ss-order-1"))
        assert again["invoice_id"] == invoice["invoice_id"]
        assert [i["invoice_id"] for i in c.find_invoices(reference_number="ss-order-1")] == [invoice["invoice_id"]]
        c.void_invoice(invoice["invoice_id"])
        assert c.get_invoice(invoice["invoice_id"])["status"] == "void"
        accounts = {a["account_name"]: a["account_id"] for a in c.list_accounts()}
        journal = c.create_journal({"journal_date": "2026-03-02", "reference_number": "ss-label-9", "line_items": [
            {"account_id": accounts["Shipping Expense"], "debit_or_credit": "debit", "amount": 7},
            {"account_id": accounts["ShipStation Clearing"], "debit_or_credit": "credit", "amount": 7}]})
        assert [j["journal_id"] for j in c.find_journals(reference_number="ss-label-9")] == [journal["journal_id"]]

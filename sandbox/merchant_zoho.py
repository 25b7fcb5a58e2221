"""The seeded merchant's Zoho Books organisation, and the simulator serving it.

`generate_zoho(merchant, seed=...)` is deterministic per merchant and seed. The organisation (INR,
Asia/Calcutta, Standard plan) already holds, as a merchant who kept books by hand would:
- contacts for about a third of the ShipStation customers (same name and email, the email on the
  primary contact person), one contact with the email of another ShipStation customer under a
  different name (`conflict_email`: a conflict to report, never to merge), and two contacts that
  exist only in Zoho (`zoho_only`: to be reflected in ShipStation);
- items for about 60% of the SKUs (rate = ShipStation price, GST tax by category);
- custom fields: `cf_shipstation_order` on invoices (unique: our reference, for the upsert
  headers), `cf_tracking` on invoices, `cf_shipstation_customer` on contacts (unique);
- a chart of accounts with the sales, shipping, postage expense and ShipStation clearing accounts
  and GST taxes of 5, 12 and 18 %.

`start_zoho(merchant, data_centre="us")` serves the accounts server and Books API of that data
centre (each its own app on a free port) and returns `(accounts, books, state)`. The sandbox client
(`CLIENT_ID`/`CLIENT_SECRET`, redirects `REDIRECT_URIS`) is registered in every data centre with
the same id and a per-DC secret (`client_secret(dc)`; `CLIENT_SECRET` is the US one),
and `REFRESH_TOKEN` is pre-issued to the owner (`USER_EMAIL`) with `ZohoBooks.fullaccess.all`.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.merchant import Merchant
from sandbox.runner import ServedApp
from sandbox.zoho_books import ZohoState
from sandbox.zoho_books.accounts import RefreshToken
from sandbox.zoho_books.datacentres import DATA_CENTRES, data_centre
from sandbox.zoho_books.org import CustomField, Organization
from sandbox.zoho_books.serve import ServedZoho, serve_zoho

CLIENT_ID = "1000.SANDBOXZOHOBOOKSCLIENT000000"
CLIENT_SECRET = "sandbox-zoho-client-secret-us"
REDIRECT_URI = "http://localhost:8765/zoho/callback"
REDIRECT_URIS = {REDIRECT_URI, "http://127.0.0.1:8765/zoho/callback"}  # both registered in the API console
REFRESH_TOKEN = "1000.sandboxrefreshtoken0000000000000000.sandboxrefreshtoken00000000000000000"
SCOPE = "ZohoBooks.fullaccess.all"
USER_ID, USER_EMAIL = "700000001", "owner@sharma-sons.example.in"
ORGANIZATION_ID = "60012345678"
GST = {"TEA": 5, "COF": 5, "SPC": 5, "DAL": 5, "RCE": 5, "OIL": 5, "GHE": 12, "SNK": 12, "SWT": 5, "PCK": 12,
       "HNY": 5, "ATA": 5}
ACCOUNTS = (("Sales", "income", "4000"), ("Shipping Charge", "income", "4100"), ("Discount", "income", "4200"),
            ("Postage", "expense", "6100"), ("Shipping Expense", "expense", "6110"),
            ("ShipStation Clearing", "other_current_liability", "2150"), ("Accounts Receivable", "accounts_receivable",
                                                                         "1200"),
            ("Undeposited Funds", "cash", "1010"), ("Cost of Goods Sold", "cost_of_goods_sold", "5000"))


def client_secret(dc: str) -> str:
    """The sandbox client's secret in data centre `dc` (multi-DC off: one secret per DC)."""
    return f"sandbox-zoho-client-secret-{data_centre(dc).code}"


@dataclass
class ZohoSeed:
    """What `generate_zoho` made: the organisation and the names of the special records."""

    organization: Organization
    conflict_email: str
    zoho_only: list[str] = field(default_factory=list)
    missing_skus: list[str] = field(default_factory=list)


def generate_zoho(merchant: Merchant, seed: int = 7, data_centre_code: str = "us") -> ZohoSeed:
    """The merchant's organisation in `data_centre_code`, with its records (see the module docstring)."""
    rng = random.Random(seed * 7919 + 13)
    org = Organization(ORGANIZATION_ID, merchant.tally.get("company", "Sharma & Sons Retail Pvt Ltd"),
                       data_centre(data_centre_code).code, plan="standard")
    _books_setup(org)
    customers = sorted(merchant.customers, key=lambda c: c["customerId"])
    known = [c for c in customers if rng.random() < 0.34]
    others = [c for c in customers if c not in known]
    for customer in known:
        _contact(org, customer["name"], customer["email"], customer.get("company"), customer.get("phone"))
    conflict = others[0]
    _contact(org, f"{conflict['name']} (old account)", conflict["email"], None, conflict.get("phone"))
    zoho_only = [("Kiran Bose", "kiran.bose@example.in"), ("Lata Deshpande & Co", "accounts@latadeshpande.example.in")]
    for name, email in zoho_only:
        _contact(org, name, email, name if "&" in name else None, None)
    missing = []
    for product in sorted(merchant.products, key=lambda p: p["sku"]):
        if rng.random() < 0.6:
            _item(org, product)
        else:
            missing.append(product["sku"])
    return ZohoSeed(org, conflict["email"], [email for _, email in zoho_only], missing)


def _books_setup(org: Organization) -> None:
    for name, kind, code in ACCOUNTS:
        account_id = org.new_id()
        org.accounts[account_id] = {"account_id": account_id, "account_name": name, "account_code": code,
                                    "account_type": kind, "is_active": True, "currency_id": org.currency_id}
    for pct in (5, 12, 18):
        tax_id = org.new_id()
        org.taxes[tax_id] = {"tax_id": tax_id, "tax_name": f"GST{pct}", "tax_percentage": Decimal(pct),
                             "tax_type": "tax"}
    org.custom_fields += [CustomField(org.new_id(), "ShipStation Order", "cf_shipstation_order", "invoice",
                                      is_unique=True),
                          CustomField(org.new_id(), "Tracking", "cf_tracking", "invoice"),
                          CustomField(org.new_id(), "ShipStation Customer", "cf_shipstation_customer", "contact",
                                      is_unique=True)]


def _contact(org: Organization, name: str, email: str, company: str | None, phone: str | None) -> None:
    from sandbox.zoho_books import contacts

    first, _, last = (name, "", "") if company or "&" in name else name.partition(" ")
    contacts.create(org, {"contact_name": name, "company_name": company or "",
                          "customer_sub_type": "business" if company else "individual",
                          "contact_persons": [{"first_name": first, "last_name": last, "email": email,
                                               "phone": phone or "", "is_primary_contact": True}]})


def _item(org: Organization, product: dict[str, Any]) -> None:
    from sandbox.zoho_books import items

    pct = GST.get(product["sku"].split("-")[0], 5)
    tax_id = next(t["tax_id"] for t in org.taxes.values() if t["tax_percentage"] == pct)
    sales = next(a["account_id"] for a in org.accounts.values() if a["account_name"] == "Sales")
    items.create(org, {"name": f"{product['name']} [{product['sku']}]", "sku": product["sku"],
                       "rate": product["price"], "unit": "pcs", "tax_id": tax_id, "account_id": sales,
                       "description": product["name"]})


def build_state(seed: ZohoSeed) -> ZohoState:
    """A `ZohoState` holding the seeded organisation, the sandbox client and the owner's refresh token."""
    state = ZohoState()
    org = seed.organization
    state.accounts.register_client(CLIENT_ID, {dc: client_secret(dc) for dc in DATA_CENTRES}, REDIRECT_URIS)
    state.accounts.add_user(USER_ID, USER_EMAIL, org.dc)
    state.add_organization(org, USER_ID)
    token = RefreshToken(REFRESH_TOKEN, CLIENT_ID, USER_ID, org.dc, SCOPE, state.clock.now())
    state.accounts.refresh_tokens[REFRESH_TOKEN] = token
    state.accounts.user_refresh[USER_ID] = deque([REFRESH_TOKEN])
    return state


def start_zoho(merchant: Merchant, data_centre: str = "us", *, seed: int = 7, per_minute: int = 100,
               daily: int | None = None) -> tuple[dict[str, ServedApp], ServedApp, ZohoState]:
    """Serve the merchant's organisation in `data_centre`: `(accounts by DC, books, state)`.

    `per_minute=0` switches the 100-requests-per-minute limit off, `daily=0` the daily cap (benches;
    None keeps the Standard plan's 2,000). Stop the servers with `ServedApp.stop()` and the webhook
    thread with `state.webhooks.close()`.
    """
    state = build_state(generate_zoho(merchant, seed, data_centre))
    served: ServedZoho = serve_zoho(state, [data_centre])
    org = state.orgs[ORGANIZATION_ID]
    state.limiter.configure(org, per_minute=per_minute, daily=daily)
    return served.accounts, served.books[data_centre], state

"""A ready-made Zoho for tests and demos: one client, one user and one organisation per data centre.

    state = make_world(["us", "eu"])
    with serve_zoho(state, ["us", "eu"]) as served: ...

The client `WORLD_CLIENT_ID` has the secret `world_secret(dc)` in each data centre and accepts the
redirect `WORLD_REDIRECT`; the user of `dc` is `owner@<dc>.example.com` (id `user-<dc>`), owner
of organisation `world_org(dc)` (`9000000<n>`), which has an invoice custom field
`cf_order_ref` (unique), a contact custom field `cf_customer_ref` (unique), a GST18 tax and the
accounts Sales, Postage and ShipStation Clearing.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.zoho_books.datacentres import DATA_CENTRES
from sandbox.zoho_books.org import CustomField, Organization
from sandbox.zoho_books.state import ZohoState

WORLD_CLIENT_ID = "1000.WORLDCLIENT"
WORLD_REDIRECT = "http://127.0.0.1/callback"


def world_secret(dc: str) -> str:
    """The world client's secret in `dc`."""
    return f"world-secret-{dc}"


def world_org(dc: str) -> str:
    """The organisation id of `dc`'s organisation."""
    return f"9000000{list(DATA_CENTRES).index(dc) + 1}"


def make_world(data_centres: list[str]) -> ZohoState:
    """A state with the world client in every DC and a user and organisation in each of `data_centres`."""
    state = ZohoState()
    state.accounts.register_client(WORLD_CLIENT_ID, {dc: world_secret(dc) for dc in DATA_CENTRES}, {WORLD_REDIRECT})
    for n, dc in enumerate(data_centres):
        state.accounts.add_user(f"user-{dc}", f"owner@{dc}.example.com", dc)
        org = Organization(world_org(dc), f"World {dc.upper()}", dc, id_base=470_000_000_000_000 + n * 10**9)
        _setup(org)
        state.add_organization(org, f"user-{dc}")
    return state


def _setup(org: Organization) -> None:
    chart = (("Sales", "income"), ("Postage", "expense"), ("ShipStation Clearing", "other_current_liability"))
    for name, kind in chart:
        account_id = org.new_id()
        org.accounts[account_id] = {"account_id": account_id, "account_name": name, "account_code": "",
                                    "account_type": kind, "is_active": True}
    tax_id = org.new_id()
    org.taxes[tax_id] = {"tax_id": tax_id, "tax_name": "GST18", "tax_percentage": Decimal(18), "tax_type": "tax"}
    org.custom_fields += [CustomField(org.new_id(), "Order Ref", "cf_order_ref", "invoice", is_unique=True),
                          CustomField(org.new_id(), "Customer Ref", "cf_customer_ref", "contact", is_unique=True)]

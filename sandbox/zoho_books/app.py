"""The Books API of one data centre, served under `/books/v3` (and the older `/api/v3`).

Routes: `organizations`, contacts, items (and `itemdetails?item_ids=`), `settings/taxes`,
`chartofaccounts`, `settings/webhooks` (here; see `webhooks.py`); invoices, customer payments and
journals (`books_routes.py`).
Unknown paths answer 404 `{5, "Invalid URL Passed"}`, wrong methods 405 `{37, ...}` (both as seen
in other Zoho fakes, unverified). Success bodies are `{code: 0, message, <resource>}`: creates
answer 201, the rest 200, with the messages of Zoho's OpenAPI examples.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sandbox.zoho_books import contacts, items, listing
from sandbox.zoho_books.books_routes import invoice_routes, journal_routes
from sandbox.zoho_books.control import control_routes
from sandbox.zoho_books.errors import BooksError, JSONResponse, invalid, not_found, refused
from sandbox.zoho_books.gate import Gate, Handler
from sandbox.zoho_books.org import Organization, Record, required
from sandbox.zoho_books.respond import Body, Resource, crud_routes, lookup, ok, routes
from sandbox.zoho_books.state import ZohoState

CONTACTS = Resource("contacts", "/contacts", "contact", "Contact", lambda o: o.contacts, contacts.find,
                    lambda org, body, query: contacts.create(org, body), contacts.update,
                    "The contact has been created", "Contact has been updated successfully", upsert=True)
ITEMS = Resource("settings", "/items", "item", "Item", lambda o: o.items, items.find,
                 lambda org, body, query: items.create(org, body), items.update, "The item has been added.",
                 "The item details have been updated.", upsert=True)


def contact_routes(gate: Gate) -> list[Route]:
    """Contacts (module `contacts`)."""
    def delete(request: Request, org: Organization, body: Body) -> Response:
        record = lookup(CONTACTS.table, "Contact", request, org, "contact_id")
        if org.lookup("invoice.customer", record["contact_id"]) & set(org.invoices):
            raise refused(1021, "Contacts with transactions cannot be deleted. Mark them inactive instead.")
        del org.contacts[record["contact_id"]]
        org.index("contact.name", None, record["contact_id"], old=record["contact_name"])
        org.index("contact.email", None, record["contact_id"], old=record["email"] or None)
        return ok("The contact has been deleted.")

    def status(active: bool) -> Handler:
        def mark(request: Request, org: Organization, body: Body) -> Response:
            record = lookup(CONTACTS.table, "Contact", request, org, "contact_id")
            org.touch(record)["status"] = "active" if active else "inactive"
            return ok(f"The contact has been marked as {record['status']}.")
        return mark

    return crud_routes(gate, CONTACTS, [
        ("/contacts/{contact_id}", "DELETE", delete), ("/contacts/{contact_id}/active", "POST", status(True)),
        ("/contacts/{contact_id}/inactive", "POST", status(False))])


def settings_routes(gate: Gate) -> list[Route]:
    """Items and taxes (module `settings`), the chart of accounts (module `accountants`)."""
    def taxes(request: Request, org: Organization, body: Body) -> Response:
        return ok("success", taxes=list(org.taxes.values()))

    def chart(request: Request, org: Organization, body: Body) -> Response:
        kind = request.query_params.get("filter_by", "AccountType.All").removeprefix("AccountType.").lower()
        rows = [a for a in org.accounts.values()
                if kind in ("all", "active") or a["account_type"] == kind
                or (kind == "inactive" and not a["is_active"])]
        return JSONResponse(listing.page("chartofaccounts", "account_id", rows, dict(request.query_params),
                                         sortable=("account_name", "account_type"), default="account_name",
                                         default_order="A"))

    def item_details(request: Request, org: Organization, body: Body) -> Response:
        wanted = [i for i in request.query_params.get("item_ids", "").split(",") if i]
        if not wanted:
            raise invalid("item_ids")
        return ok("success", items=[org.items[i] for i in wanted if i in org.items])

    return [*crud_routes(gate, ITEMS, [("/settings/taxes", "GET", taxes), ("/itemdetails", "GET", item_details)]),
            *routes(gate, "accountants", [("/chartofaccounts", "GET", chart)])]


def webhook_routes(state: ZohoState, gate: Gate) -> list[Route]:
    """`/settings/webhooks`: register, list and delete outgoing webhooks (module `settings`)."""
    def create(request: Request, org: Organization, body: Body) -> Response:
        entity = str(body.get("entity") or "contact")
        events = body.get("events") or [f"{entity}.created", f"{entity}.updated"]
        if not isinstance(events, list):
            raise invalid("events")
        try:
            hook = state.webhooks.register(org.organization_id, str(required(body, "url")),
                                           str(body.get("secret") or ""), [str(e) for e in events],
                                           str(body.get("webhook_name") or ""))
        except ValueError as exc:
            raise invalid("secret" if "secret" in str(exc) else "url") from None
        return ok("The webhook has been created.", 201, webhook=hook.public())

    def find(request: Request, org: Organization, body: Body) -> Response:
        mine = [h.public() for h in state.webhooks.hooks.values() if h.organization_id == org.organization_id]
        return ok("success", webhooks=mine)

    def delete(request: Request, org: Organization, body: Body) -> Response:
        if not state.webhooks.remove(org.organization_id, request.path_params["webhook_id"]):
            raise not_found("Webhook")
        return ok("The webhook has been deleted.")

    return routes(gate, "settings", [("/settings/webhooks", "POST", create), ("/settings/webhooks", "GET", find),
                                     ("/settings/webhooks/{webhook_id}", "DELETE", delete)])


def organization_routes(state: ZohoState, gate: Gate) -> list[Route]:
    """`GET /organizations[/{id}]`: the organisations the token's user reaches in this DC."""
    def shape(org: Organization) -> Record:
        return {"organization_id": org.organization_id, "name": org.name, "is_default_org": True,
                "plan_type": 0, "plan_name": org.plan.upper(), "language_code": "en", "fiscal_year_start_month": 3,
                "time_zone": org.time_zone, "currency_id": org.currency_id, "currency_code": org.currency_code,
                "price_precision": 2, "is_org_active": True, "data_centre": org.dc}

    def find(request: Request, org: Organization | None, body: Body) -> Response:
        return ok("success", organizations=[shape(o) for o in state.organizations_of(body["user_id"], gate.dc)])

    def get(request: Request, org: Organization | None, body: Body) -> Response:
        mine = {o.organization_id: o for o in state.organizations_of(body["user_id"], gate.dc)}
        if request.path_params["organization_id"] not in mine:
            raise not_found("Organization")
        return ok("success", organization=shape(mine[request.path_params["organization_id"]]))

    return [Route(p, gate(p, "settings", h, needs_org=False), methods=["GET"])
            for p, h in (("/organizations", find), ("/organizations/{organization_id}", get))]


def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return BooksError(405, 37, "The HTTP method is not allowed for the requested resource").response()
    return BooksError(404, 5, "Invalid URL Passed").response()


def create_books_app(state: ZohoState, dc: str) -> Starlette:
    """The Books API of data centre `dc` over `state`, with the control plane under `/__sandbox/`."""
    gate = Gate(state, dc)
    api = [*organization_routes(state, gate), *contact_routes(gate), *settings_routes(gate),
           *invoice_routes(gate), *journal_routes(gate), *webhook_routes(state, gate)]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield

    app = Starlette(routes=[*control_routes(state, gate), Mount("/books/v3", routes=api), Mount("/api/v3", routes=api)],
                    exception_handlers={404: _not_found, 405: _not_found}, lifespan=lifespan)
    app.state.zoho = state
    app.state.gate = gate
    return app

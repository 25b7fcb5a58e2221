"""The sandbox control plane under `/__sandbox/` (not Zoho's; no auth). Served by every accounts
and Books app of one `ZohoState` (they share it). Bodies are JSON; `organization_id` defaults to the
first organisation of the serving app's data centre. Bad bodies answer 400 `{"message": ...}`;
refusals of the simulated Zoho keep Zoho's shapes.

- `GET  /__sandbox/stats` → requests (by path, status, organisation), 429s by code, limits, tokens
  (codes, access and refresh tokens issued, refresh tokens alive per user), faults pending, now.
- `POST /__sandbox/reset-stats`; `POST /__sandbox/clock/advance {"seconds"}` → `{"now"}`.
- `POST /__sandbox/limits {"organization_id"?, "per_minute"?, "daily"?, "concurrency"?, "plan"?}`
  (0 = off, null = the plan's) → the effective limits.
- `POST /__sandbox/faults {"status", "count"?, "code"?, "message"?}`: the next admitted requests
  answer that (e.g. 500 / 1000 "Internal error", or 200 with a non-zero code).
- `POST /__sandbox/hold` / `POST /__sandbox/release`: admitted API requests wait in flight until
  released (to test the concurrency cap); `POST /__sandbox/latency {"seconds"}` delays each one.
- `POST /__sandbox/consent {"client_id", "scope", "redirect_uri", "access_type"?, "user"?,
  "data_centre"?}` → `{"code", "location", "accounts-server", "expires_in": 120}`: a user's consent.
- `POST /__sandbox/invoices/{invoice_id}/paid {"organization_id"?, "amount"?, "payment_mode"?}`:
  the customer pays in Zoho (a customer payment for the balance or `amount`) → the payment.
- `POST /__sandbox/contacts {fields}` / `POST /__sandbox/contacts/{contact_id}/edit {fields}`: a
  contact created or edited in the Zoho UI (fires the contact webhooks) → the contact.
- `POST /__sandbox/webhooks {"url", "secret", "events"?}` (events default contact.created and
  contact.updated) → `{"webhook_id"}`; `GET /__sandbox/webhooks/log`; `POST /__sandbox/webhooks/flush`.
- `POST /__sandbox/custom-fields {"entity", "label", "api_name", "is_unique"?}` → the field.
- `GET  /__sandbox/records/{contacts|items|invoices|payments|journals}?organization_id=` → all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.zoho_books import contacts, invoices, payments
from sandbox.zoho_books.errors import BooksError, JSONResponse, OAuthError
from sandbox.zoho_books.org import CustomField, Organization
from sandbox.zoho_books.state import ZohoState

KINDS = ("contacts", "items", "invoices", "payments", "journals")


class BadRequest(Exception):
    """A control request we cannot act on."""


def _guard(handler: Callable[..., Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            raw = await request.body()
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise BadRequest("expected a JSON object")
            result = handler(request, body)
            if hasattr(result, "__await__"):
                result = await result
            return result if isinstance(result, Response) else JSONResponse(result)
        except (BadRequest, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        except (BooksError, OAuthError) as exc:
            return exc.response()

    return endpoint


def control_routes(state: ZohoState, gate: Any, dc: str | None = None) -> list[Route]:
    """Routes of the control plane for an app of data centre `dc` (default: the gate's)."""
    home = dc or gate.dc

    def org_of(request: Request, body: dict[str, Any]) -> Organization:
        wanted = body.get("organization_id") or request.query_params.get("organization_id")
        candidates = [o for o in state.orgs.values() if (o.organization_id == wanted if wanted else o.dc == home)]
        if not candidates:
            raise BadRequest(f"no organisation {wanted or 'in ' + home}")
        return candidates[0]

    def limits(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        if "plan" in body:
            org.plan = str(body["plan"])
        known = {k: body[k] for k in ("per_minute", "daily", "concurrency") if k in body}
        return state.limiter.configure(org, **known)

    def faults(request: Request, body: dict[str, Any]) -> Any:
        status, count = int(body["status"]), int(body.get("count", 1))
        if not (status == 200 or 400 <= status <= 599) or count < 0:
            raise BadRequest("status must be 200 or 4xx/5xx and count >= 0")
        if status == 200 and not body.get("code"):
            raise BadRequest("a 200 fault needs a non-zero code")
        state.queue_fault(status, count, body.get("code"), body.get("message"))
        return {"queued": count, "status": status}

    def hold(paused: bool) -> Callable[..., Any]:
        def act(request: Request, body: dict[str, Any]) -> Any:
            (state.running.clear if paused else state.running.set)()
            return {"held": paused}
        return act

    def latency(request: Request, body: dict[str, Any]) -> Any:
        gate.latency = max(0.0, float(body["seconds"])) if gate is not None else 0.0
        return {"seconds": gate.latency if gate is not None else 0.0}

    def consent(request: Request, body: dict[str, Any]) -> Any:
        where = body.get("data_centre", home)
        with state.lock:
            grant = state.accounts.grant(where, body.get("client_id"), body.get("scope"), body.get("redirect_uri"),
                                         access_type=body.get("access_type", "offline"), user=body.get("user"))
        return {"code": grant.code, "location": where, "accounts-server": state.accounts_url(where),
                "expires_in": 120}

    def paid(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        with state.lock:
            invoice = org.invoices.get(request.path_params["invoice_id"])
            if invoice is None:
                raise BadRequest("no such invoice")
            amount = body.get("amount", invoice["balance"])
            return payments.create(org, {"customer_id": invoice["customer_id"], "amount": amount,
                                         "payment_mode": body.get("payment_mode", "banktransfer"),
                                         "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": amount}]})

    def ui_create(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        with state.lock:
            return contacts.create(org, {k: v for k, v in body.items() if k != "organization_id"})

    def ui_edit(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        with state.lock:
            record = org.contacts.get(request.path_params["contact_id"])
            if record is None:
                raise BadRequest("no such contact")
            given = {k: v for k, v in body.items() if k != "organization_id"}
            fields = {"contact_name": record["contact_name"]} | given
            return contacts.update(org, record, fields)

    def webhook(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        hook = state.webhooks.register(org.organization_id, str(body["url"]), str(body["secret"]),
                                       list(body.get("events", ["contact.created", "contact.updated"])))
        return {"webhook_id": hook.webhook_id}

    async def flush(request: Request, body: dict[str, Any]) -> Any:
        return await run_in_threadpool(state.webhooks.flush)

    def custom_field(request: Request, body: dict[str, Any]) -> Any:
        org = org_of(request, body)
        cf = CustomField(org.new_id(), str(body["label"]), str(body["api_name"]), str(body["entity"]),
                         str(body.get("data_type", "string")), bool(body.get("is_unique", False)))
        org.custom_fields.append(cf)
        return vars(cf)

    def records(request: Request, body: dict[str, Any]) -> Any:
        org, kind = org_of(request, body), request.path_params["kind"]
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
        with state.lock:
            rows = list(getattr(org, kind).values())
            return [invoices.detail(org, r) | {"payments": r["payments"]} if kind == "invoices" else r for r in rows]

    def advance(request: Request, body: dict[str, Any]) -> Any:
        return {"now": state.clock.advance(float(body["seconds"])).isoformat()}

    table: list[tuple[str, str, Callable[..., Any]]] = [
        ("/__sandbox/stats", "GET", lambda r, b: state.stats()),
        ("/__sandbox/reset-stats", "POST", lambda r, b: state.reset_stats() or state.stats()),
        ("/__sandbox/clock/advance", "POST", advance),
        ("/__sandbox/limits", "POST", limits), ("/__sandbox/faults", "POST", faults),
        ("/__sandbox/hold", "POST", hold(True)), ("/__sandbox/release", "POST", hold(False)),
        ("/__sandbox/latency", "POST", latency), ("/__sandbox/consent", "POST", consent),
        ("/__sandbox/invoices/{invoice_id}/paid", "POST", paid), ("/__sandbox/contacts", "POST", ui_create),
        ("/__sandbox/contacts/{contact_id}/edit", "POST", ui_edit), ("/__sandbox/webhooks", "POST", webhook),
        ("/__sandbox/webhooks/log", "GET", lambda r, b: state.webhooks.entries()),
        ("/__sandbox/webhooks/flush", "POST", flush), ("/__sandbox/custom-fields", "POST", custom_field),
        ("/__sandbox/records/{kind}", "GET", records),
    ]
    return [Route(path, _guard(handler), methods=[method]) for path, method, handler in table]

"""Zoho Books simulator: a test double of the real accounts servers and Books API v3
(`shared/reference/zoho-books.md`), for every data centre (US, EU, IN, AU, JP, CA, CN, SA).

    state = ZohoState()
    state.accounts.register_client("1000.ID", {"us": "secret-us", "eu": "secret-eu"}, {"http://cb"})
    state.accounts.add_user("u1", "owner@example.com", "us")
    state.add_organization(Organization("600123", "Acme", "us"), "u1")
    served = serve_zoho(state, ["us", "eu"])     # per DC: accounts app and Books app, own ports

Layout: each data centre is its own pair of served apps (accounts server, Books API), all over one
`ZohoState`; the token response's `api_domain` is the served Books URL of the issuing DC. A token
is valid only in its own DC, so another DC's Books API refuses it (401 code 57).
`sandbox/merchant_zoho.py` seeds the merchant's organisation and serves it (`start_zoho`).

Covered: OAuth (`accounts_app.py`: consent → single-use code valid 2 minutes, `authorization_code`
and `refresh_token` grants, revoke, serverinfo; 20 refresh tokens per user, the 21st silently
revoking the oldest; 30 live access tokens per refresh token; 10 refreshes per 10 minutes; access
tokens expire after an hour of the injectable clock). Books under `/books/v3` and `/api/v3`:
`GET /organizations[/{id}]`; contacts (list, create, get, update, delete, active/inactive, upsert
`PUT /contacts`); items (list by sku/name, create, get, update, upsert); `GET /settings/taxes`;
`GET /chartofaccounts`; invoices (list with filters, create, get, update, delete, upsert
`PUT /invoices`, `/status/sent|void|draft`, `GET /invoices/{id}/payments`); customer payments
(create applied to invoices, list, get, delete); journals (create, list, get, update, delete,
publish; balanced); webhooks (`POST|GET /settings/webhooks`, `DELETE /settings/webhooks/{id}`,
contact events signed with HMAC). Gate, limits, webhooks and the control plane: `gate.py`, `limits.py`,
`webhooks.py`, `control.py`. Rules of each resource: the module docstrings.

Facts the reference did not give, found with the search tool (third-party, not authoritative):
- Token endpoint errors arrive with HTTP 200 (`IdentityProviderException(code: 200): invalid_code`,
  Weble/ZohoBooksApi#84); `invalid_code` covers an expired or used grant code and a wrong or revoked
  refresh token, `invalid_client` a wrong secret or a client of another DC (nebkam/zoho-oauth-php
  `ErrorCode.php`, quoting Zoho's docs). Token throttling: 400 `{"error": "Access Denied",
  "error_description": "You have made too many requests continuously. Please try again after some
  time."}` (many integrators' logs). Zoho's docs show token parameters in the query string
  (tdesposito/pyZohoAPI sends them so); forms work too.
- No `Authorization` header: 401 `{14, "The request could not be authenticated…"}`; a dead token:
  401 `{57, "You are not authorized to perform this operation"}`, the same for a missing scope
  (w6w-io/w6w-apps `apps/zohobooks/README.md`, live probes). `organization_id` wrong or missing: 400
  "Invalid value passed for organization_id" (code 2 per the reference; other codes seen).
- 429 bodies verbatim: 44 "For security reasons your organization has been blocked…", 45 "The API
  call for this organization has exceeded the maximum call rate limit of 1000.", 1070 "You have
  reached the maximum number of in process requests allowed…" (zoho introduction page as quoted
  by several integrators' code).
- Duplicate contact names: 400 `{3062, 'The customer "X" already exists. Please specify a
  different name.'}` (integrators' logs). Malformed JSON: `{1038, "JSON is not well formed"}`.
- Success messages: Zoho's Books OpenAPI files (fordez/zoho-books-mcp-server-openapi).
- Bodies: clients send raw JSON with or without a content type (pyzohobook `data=json.dumps`) or
  the older form field `JSONString`; all three are read.
- Webhook signing: see `webhooks.py` (Books' webhook API has a `secret`; Billing's algorithm).
- Contacts have no documented `last_modified_time` filter; see `contacts.py`.
Anything else marked *assumed* in a module docstring is our guess and says so.
"""

from sandbox.zoho_books.accounts_app import create_accounts_app
from sandbox.zoho_books.app import create_books_app
from sandbox.zoho_books.org import CustomField, Organization
from sandbox.zoho_books.serve import ServedZoho, serve_zoho
from sandbox.zoho_books.state import ZohoState
from sandbox.zoho_books.webhooks import SIGNATURE_HEADER, sign

__all__ = ["SIGNATURE_HEADER", "CustomField", "Organization", "ServedZoho", "ZohoState", "create_accounts_app",
           "create_books_app", "serve_zoho", "sign"]

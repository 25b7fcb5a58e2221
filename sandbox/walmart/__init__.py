"""Walmart Marketplace (US) simulator: a test double of the real Seller API (shared/reference/walmart-marketplace.md).

    state = WalmartState()                       # or sandbox.merchant_walmart.generate_walmart(merchant)
    app = create_app(state, credentials={"client-id": "client-secret"}, rate_limits=True)

Covered: `POST /v3/token`; `GET /v3/orders`, `GET /v3/orders/released`, `GET /v3/orders/{po}`,
`POST /v3/orders/{po}/acknowledge|cancel|shipping`; `GET /v3/returns`, `POST /v3/returns/{rma}/refund`;
`GET /v3/items`, `GET /v3/items/{sku}`; `GET|PUT /v3/inventory?sku=`, `GET /v3/inventories/{sku}`;
`PUT /v3/price`; `POST /v3/feeds?feedType=inventory|MP_INVENTORY|price`, `GET /v3/feeds`,
`GET /v3/feeds/{feedId}`; `GET /v3/report/reconreport/availableReconFiles[?reportVersion=v1]`,
`GET /v3/report/reconreport/reconFile?reportDate=[&reportVersion=v1]` (ZIP holding one CSV),
`GET /v3/report/reconreport/reconFileJson`; the Notifications API `GET /v3/webhooks/eventTypes`,
`GET|POST /v3/webhooks/subscriptions`, `PATCH|DELETE /v3/webhooks/subscriptions/{id}`, `POST /v3/webhooks/test`,
with PO_CREATED delivered over HTTP to active subscriptions when an order is released (`notifications.py`,
which states its sources); the control plane under `/__sandbox/` (`control.py`).
Not covered: XML bodies (415), item setup feeds, `POST /v3/orders/{po}/refund`, `GET /v3/token/detail`,
events other than PO_CREATED (subscribable, never sent), the performance webhooks' WM_SEC.SIGNATURE, WFS stock,
the payment statement.

Facts used (reference; the OpenAPI files as mirrored in highsidelabs/walmart-api-php
`resources/schemas/us/mp/*.json`, whose examples give every response shape here):
- Token: Basic client id/secret, form body `grant_type=client_credentials`, `WM_SVC.NAME` and
  `WM_QOS.CORRELATION_ID` required; answer `{"access_token", "token_type": "Bearer", "expires_in": 900}`.
- Business calls need `WM_SEC.ACCESS_TOKEN`, `WM_QOS.CORRELATION_ID`, `WM_SVC.NAME`, `Accept` (see `gate.py`);
  a token sent as `Authorization: Bearer` instead is 401 UNAUTHORIZED.GMP_GATEWAY_API (an integrator's
  notes: "Using Authorization: Bearer returns UNAUTHORIZED.GMP_GATEWAY_API ... it's the wrong header name").
- Errors `{"errors": [{code, field, description, info, severity, category, causes, errorIdentifiers}]}`
  with the codes of the error-codes table (developer.walmart.com "Troubleshoot error codes"); an
  expired token is 401, not 400 (fulfilio/python-walmart PR #19 comment: "I'm getting a 401 and not a
  400 when the token is expired"). The real gateway was also seen answering 401 as `{"error": [...]}`
  (highsidelabs/walmart-api-php issue #5; python-walmart reads `data["error"]`): `create_app(error_key="error")`.
- Per-endpoint token buckets, headers `x-current-token-count` and `x-next-replenish-time` (epoch ms, as
  public clients parse it), gradual replenishment (`limits.py`).
- Orders: `list.meta {totalCount, limit, nextCursor}` + `list.elements.order[]`; `nextCursor` is a query
  string (`?limit=..&hasMoreElements=true&soIndex=<total>&poIndex=<next offset>&partnerId=..&sellerId=..
  &createdStartDate=..&createdEndDate=..`) that freezes the window of the first call; newest order first;
  `limit` 1..200 (default 100); default window now − 7 days .. now, never older than 180 days; filter
  dates `yyyy-MM-dd` or ISO-8601 (else 400); `shipNodeType` defaults to SellerFulfilled; the released
  list is `status=Created`; `imageUrl`/`weight` only with `productInfo=true`, `orderType` only with
  `replacementInfo=true`. The cursor is also accepted as `nextCursor=<query string>` (how
  mediocre/walmart-marketplace sends it).
- An order list with no match answers 404 CONTENT_NOT_FOUND (fulfilio/python-walmart: "If no orders are
  there on walmart matching the query filters, it throws 404").
- Returns: `meta` + `returnOrders[]`, `nextCursor` `?sellerId=..&limit=..&offset=..`, limit default 10, max 200.
- Feeds: JSON files (multipart part `file`, or a JSON body as mediocre/walmart-marketplace sends); see `feeds.py`.
- Reconciliation: dates `{"availableApReportDates": ["MMDDYYYY", ...]}`; the file is a ZIP named
  `<partnerId>_<timestamp>.zip` in Content-Disposition; layouts in `recon.py`.

Assumptions where the sources are silent are stated in each module's docstring (texts invented by us
start with `[sandbox]`). Others: filter dates given as epoch milliseconds are 400 (the docs name only
`yyyy-MM-dd` and ISO-8601; no public client was found sending epoch filters); Walmart's advice not to
pull a recon file more than once every two hours is not enforced; unknown paths answer Starlette's
plain 404; the sandbox clock of a seeded merchant starts at `merchant.start` (`Clock.starting_at`).
"""

from sandbox.walmart.app import create_app
from sandbox.walmart.clock import Clock
from sandbox.walmart.limits import DEFAULT_LIMITS, Limit
from sandbox.walmart.state import ShipNode, WalmartState

__all__ = ["DEFAULT_LIMITS", "Clock", "Limit", "ShipNode", "WalmartState", "create_app"]

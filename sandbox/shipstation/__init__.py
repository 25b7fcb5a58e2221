"""ShipStation V1 simulator: a test double of the real API (see shared/reference/shipstation.md).

    state = ShipStationState.from_merchant(generate_merchant(seed=7))
    app = create_app(state, credentials={"key": "secret"}, rate_limit=40, window_seconds=60)

Covered: `GET /orders`, `GET|DELETE /orders/{orderId}`, `POST /orders/createorder`,
`POST /orders/createorders`, `GET /products[/{id}]`, `GET /customers[/{id}]`, `GET /stores`,
`GET /warehouses`, plus the sandbox control plane under `/__sandbox/` (see `control.py`).

Where the reference is silent, this simulator assumes:
- Auth failures answer 401 with the plain-text body `401 Unauthorized`, carry no `X-Rate-Limit-*`
  headers and use up no budget (the limit belongs to a key pair, and there is none). Limits are
  per API key, so an account's two key pairs have separate budgets.
- The fixed window opens at a key's first request; a 429 does not consume budget; with
  `rate_limit=0` the headers are omitted entirely.
- Validation errors are 400 `{"Message": "The request is invalid.", "ModelState": {field: [why]}}`
  (the ASP.NET shape seen from the real API); locked orders are 400 `{"Message": why}`; unknown
  ids are 404 `{"Message": ...}`; injected 500s are `{"Message": "An error has occurred."}`,
  injected 503s plain text.
- Query-string rules (page size clamp at 500, inclusive dates, matching rules): see `query.py`.
- Filter dates must be offset-free (`yyyy-mm-dd[ hh:mm[:ss]]`, `T` allowed); a `Z` or `+hh:mm`
  suffix is 400 so a client that sends UTC fails loudly instead of drifting 7–8 h (§6.1).
  Dates in request bodies may carry an offset, which is honoured; naive ones are Pacific.
- Date precision: order headers, customers and warehouses write 7 fractional digits; order items,
  products and stores 3 (the docs' examples; they sometimes trim trailing zeros, e.g. `.78`,
  which we do not).
- `createorder` answers 200 with the stored order. On update, lines whose `lineItemKey` matches an
  existing line keep their `orderItemId` and `createDate`; `storeId` keeps its creation value;
  `orderId` in the body is ignored. Items link to a product (`productId`) by exact SKU; unknown
  SKUs do not create products. Missing money fields are 0. Create accepts any of the five
  writable statuses (including `shipped`), so locked orders can be set up through the API.
- `createorders` rows that fail report `orderId: 0` (a non-nullable .NET int) and an
  `errorMessage`; more than 100 rows is 400 for the whole request.
- A soft-deleted order leaves every list but still answers `GET /orders/{id}`; a `createorder`
  with its `orderKey` updates it and it stays deleted.
- A customer is created the first time an order arrives with a new `customerUsername`, from the
  order's `shipTo` and `customerEmail`; later orders do not change it. Default sort of products
  and customers (not documented) is ascending id.
"""

from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState

__all__ = ["ShipStationState", "create_app"]

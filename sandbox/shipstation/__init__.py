"""ShipStation V1 simulator: a test double of the real API (see shared/reference/shipstation.md).

    state = ShipStationState.from_merchant(generate_merchant(seed=7))
    app = create_app(state, credentials={"key": "secret"}, rate_limit=40, window_seconds=60)

Covered: `GET /orders`, `GET|DELETE /orders/{orderId}`, `POST /orders/createorder`,
`POST /orders/createorders`, `POST /orders/createlabelfororder`, `GET /shipments`,
`POST /shipments/voidlabel`, `GET /webhooks`, `POST /webhooks/subscribe`, `DELETE /webhooks/{id}`,
`GET /products[/{id}]`, `GET /customers[/{id}]`, `GET /stores`, `GET /warehouses`, plus the
sandbox control plane under `/__sandbox/` (see `control.py`). Webhooks are delivered by
`delivery.py`; `create_app(..., webhook_delay=(1, 4), webhook_drop_rate=0.1, webhook_seed=0)`.

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
- Locked orders (§2.3): the docs say only `awaiting_payment`, `awaiting_shipment` and `on_hold` orders
  "can be updated through this method. Orders in the cancelled and shipped states may not be
  updated" (docs.shipstation.com Create/Update Order; the apiary spec: "`cancelled` and `shipped`
  are locked from modification through the API"). No public source (docs, OpenAPI copies, client
  libraries, issue threads searched) shows the refusal itself, so `createorder` answers 400
  `{"Message": "[sandbox] …"}` naming the order and its status, stores nothing and fires nothing;
  a `createorders` row answers `success: false` with that text as `errorMessage`. Fill-provider
  statuses (`pending_fulfillment`, `rejected_fulfillment`) are not open either, so they are locked too.
  Voiding an order's last label puts it back to `awaiting_shipment`, which unlocks it.
- `GET /orders` has no `orderKey` filter (§2.1): like every unknown parameter it is ignored (ASP.NET
  binding), so `?orderKey=` answers the unfiltered list. `orderNumber` is a "starts with" match.
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
- Query parameter names are case-insensitive (ASP.NET binding): webhook URLs say `storeID`.

Shipments (labels), assumptions:
- Labels can be bought for `awaiting_payment`, `awaiting_shipment`, `on_hold` and `shipped` orders;
  cancelled, fill-provider (`pending_fulfillment`, `rejected_fulfillment`) and soft-deleted
  orders are refused with 400 `{"Message": "[sandbox] …"}`.
- Shipped quantities are never checked against the order: a reprint may over-ship (§6.5).
  Discount lines (`adjustment`) never appear in `shipmentItems` (as in the docs' example, §8.2).
- Whether `modifyDate` moves on label creation is unverified (§7). Here every label and every
  void sets the order's `modifyDate` to now; the first active label makes the order `shipped`
  with that label's `shipDate`; voiding its last active label puts it back to
  `awaiting_shipment` without a `shipDate`. Further labels of a shipped order keep its `shipDate`.
- `createlabelfororder` needs `orderId`, `carrierCode`, `serviceCode`, `shipDate`; `confirmation`
  null means `none` (the docs' own example sends null); no `weight` = Σ line weight × quantity.
  It labels every goods line in full and answers the full Shipment shape (a superset of the
  docs' six-field example) with `shipmentItems` null and a one-page placeholder PDF as
  `labelData`. `testLabel: true` answers the same but stores nothing and fires nothing.
- `voidlabel` answers `{"approved": true, "message": "Label voided successfully"}`; an already
  voided label `{"approved": false, "message": "[sandbox] Label n has already been voided."}`;
  an unknown id 404. Voided labels stay listed (`voided: true`, `voidDate`).
- `GET /shipments` also takes `batchId` (SHIP_NOTIFY URLs carry it, §4): the labels of one
  creation batch. Each API call or control action is one batch; labels made together (several
  in one action, e.g. `advance`) share `batchNumber` = the batch id, a lone label has none.
  Generated labels belong to no batch. Label cost is ₹60 + ₹9 per started pound.

Webhooks, assumptions:
- Subscribe answers `{"id": n}` (the apiary spec; the newer spec's `{WebHookID, …}` is not used).
  `target_url` must be an absolute http(s) URL and `store_id` a known store, else 400.
  `DELETE /webhooks/{id}` answers 200 with an empty body; an unknown id 404.
- ORDER_NOTIFY fires per import action per store (`createorder`, one `createorders` call, a
  control import) for new orders not `awaiting_payment`, and for orders leaving
  `awaiting_payment` for anything but `cancelled`; the URL's `importBatch` lists exactly those
  orders in `GET /orders`. SHIP_NOTIFY fires per batch per store. Nothing fires for edits,
  cancellations, voids or `markasshipped`.
- The resource URL's base is the `base_url` given to `create_app` (stack.py sets the served URL),
  else the first request's base URL.
- Deliveries are unsigned JSON POSTs, due after a uniform random delay (default 1–4 s) and
  dropped with probability 0.1, from one seeded RNG. No retries (the real policy is unverified):
  a non-2xx answer or a network error is logged `failed`.
"""

from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState

__all__ = ["ShipStationState", "create_app"]

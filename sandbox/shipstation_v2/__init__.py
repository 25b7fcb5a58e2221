"""ShipStation V2 inventory simulator: a test double of the real API (shared/reference/shipstation.md §5).

    state = ShipStationV2State.seeded({"TEA-GRN-250": 40, "MUG-01": 0}, costs={"TEA-GRN-250": "4.50"})
    app = create_app(state, api_keys={"key"}, rate_limit=200, window_seconds=60)

Covered: `GET|POST /v2/inventory`, `GET|POST /v2/inventory_warehouses`,
`GET /v2/inventory_warehouses/{id}`, `GET|POST /v2/inventory_locations`,
`GET /v2/inventory_locations/{id}`, `GET /jwks`, and the control plane under `/__sandbox/`
(`control.py`). Webhook signing: `signing.Signer` (also `POST /__sandbox/sign`).

Shipping (`shipping_routes.py`): `GET /v2/shipments[/{id}]`, `GET /v2/shipments/external_shipment_id/{id}`,
`GET /v2/labels[/{id}]`, `GET /v2/labels/{id}/track`, `GET /v2/carriers[/{id}[/services]]`, and
`/v2/environment/webhooks` with signed tracking deliveries. Shipments and labels are the V1 account's
orders and labels, read live once the sandbox calls `state.link_account(v1_state)` (`account.py`);
tracking moves only through `POST /__sandbox/tracking/advance` (`tracking.py`), which fires the
`track`/`track_event_v2` webhook (`hooks.py`). Paging and filters: `listing.py`; carriers: `carriers.py`.
Each module's docstring lists its sources (the V2 OpenAPI copy in shipstation/mcp-shipstation-api,
docs.shipstation.com "Webhook Payload Schemas") and the assumptions made where they are silent.

What the public sources say (checked: the V2 OpenAPI copy in shipstation/mcp-shipstation-api,
docs.shipstation.com "Manage Inventory Levels / Warehouses / Locations", shipstation-node typings):
- `GET /v2/inventory` filters `sku` ("optional list of SKUs"), `inventory_warehouse_id`,
  `inventory_location_id`, `group_by` (`warehouse`|`location`), `limit`; answers
  `{inventory: [...], total, page, pages, links: {first, last, prev, next: {href}}}`.
- Level fields `sku, on_hand, allocated, available (= on_hand - allocated), average_cost {amount,
  currency}, inventory_warehouse_id, inventory_location_id`; ids are typed `string`.
- `POST /v2/inventory` requires `transaction_type, sku, quantity, inventory_location_id` and
  answers 204. increment adds; decrement removes "given a set of filters — either all of the
  inventory will be removed (204), or none of it will (400 with reason)"; adjust sets on-hand at the
  location to `quantity` "by adding or removing inventory in the condition specified"; modify
  changes attributes (`new_inventory_location_id`, `new_cost`, `new_condition`), filters as decrement.
- Creating a warehouse (`{name}`) or location (`{name, inventory_warehouse_id}`) answers 200 with
  the record `{…_id, name, created_at, updated_at}` (locations also `inventory_warehouse_id`, and
  newer docs a `barcode`).
- ShipEngine's pagination model: "`next.href` is only set when page < pages"; its SDKs raise
  `rate_limit_exceeded` (error_type `system`) with "You have exceeded the rate limit."; an
  integrator's log shows 401 `unauthorized` "Access denied.".

Where the sources are silent, this simulator assumes (invented error texts start with `[sandbox]`):
- Ids are `se-<digits>` like other V2 ids (§0); one counter for warehouses and locations.
  Third-party pages show `wh_…`/`w-12345`, likely made up; clients must treat ids as opaque.
- Auth: a missing or unknown `API-Key` (any header-name case) is 401 and uses no budget. Limits are
  per key, fixed window opening at the key's first request; a 429 carries `Retry-After: <whole
  seconds to the window's end, at least 1>` and no `X-Rate-Limit-*` headers (unverified for V2);
  429s use no budget. `/jwks` and `/__sandbox/*` need no key and are never limited.
- Lists: `limit` is the page size (default 25; 0 or absent → 25; clamped to 500); `page` (from 1)
  is accepted although only `links` are documented for inventory; `links.*.href` are absolute URLs
  of this server; `prev`/`next` are `{}` when absent; a page past the end is empty. `sku` may be a
  comma-separated list. Rows are sorted by SKU, then location (or warehouse) creation order.
  Without `group_by` there is one row per (SKU, location), as with `group_by=location`; with
  `group_by=warehouse` one per (SKU, warehouse) and `inventory_location_id` is null. A level stays
  listed at 0 once it existed; `average_cost` is null when no cost was ever given.
- Stock is kept in batches per (sku, location, condition, lot), each with a unit-weighted average
  cost (more than 4 decimals are rounded to 4). `on_hand` counts every condition. Allocations are
  per (sku, location), set only by seeding or `POST /__sandbox/allocations`; transactions never
  change them, so `available` may go negative.
- `quantity` must be a non-negative integer, at least 1 except for adjust (adjust to 0 empties the
  location). Removals (decrement, adjust down, modify) take sellable units first, then the rest in
  creation order, restricted by `condition`/`lot` when given; `cost` is not a filter. increment and
  adjust-up without `cost` add units at the level's current average cost. modify moves `quantity`
  units; it needs at least one `new_*` field, and `new_*` fields on other types are 400. Costs in
  another currency than the batch's are 400.
- Any SKU may be transacted (a new one gets a level) unless the state has `known_skus`.
- Error codes: missing field `field_value_required`, bad value `invalid_field_value`, unknown
  location/warehouse `invalid_identifier`, empty body `request_body_required` (all 400,
  error_type `validation`); not enough stock 400 `business_rules`/`invalid_field_value`; unknown
  path ids 404 `invalid_identifier`; injected faults `system`/`unspecified`.
- Webhook signing: key id `sandbox-<16 hex of SHA-256(public key DER)>`; timestamps ISO-8601 UTC
  with milliseconds and `Z`; signature over the exact bytes given (see `signing.py`).
"""

from sandbox.shipstation_v2.app import create_app
from sandbox.shipstation_v2.signing import Signer
from sandbox.shipstation_v2.state import ShipStationV2State

__all__ = ["ShipStationV2State", "Signer", "create_app"]

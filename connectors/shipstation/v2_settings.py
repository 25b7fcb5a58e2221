"""ShipStation V2 endpoints, versions and limits (reference §5): changing one is a one-line diff here."""

from __future__ import annotations

SYSTEM = "shipstation_v2"
V2_BASE_URL = "https://api.shipstation.com"
API_KEY_HEADER = "API-Key"  # §5.1; header names are case-insensitive (docs also print `api-key`)

INVENTORY_PATH = "/v2/inventory"
INVENTORY_WAREHOUSES_PATH = "/v2/inventory_warehouses"
INVENTORY_LOCATIONS_PATH = "/v2/inventory_locations"
SHIPMENTS_PATH = "/v2/shipments"  # §5.2: V2 shipments are V1 orders
SHIPMENT_BY_EXTERNAL_ID_PATH = "/v2/shipments/external_shipment_id/{external_shipment_id}"
LABELS_PATH = "/v2/labels"  # §5.2: V2 labels are V1 shipments
LABEL_TRACK_PATH = "/v2/labels/{label_id}/track"  # §5.3
CARRIERS_PATH = "/v2/carriers"
CARRIER_SERVICES_PATH = "/v2/carriers/{carrier_id}/services"
WEBHOOKS_PATH = "/v2/environment/webhooks"  # §5.4
PING_PATH = INVENTORY_WAREHOUSES_PATH  # one row of the smallest inventory list

# §5.1: 200 requests per minute per key; a 429 carries Retry-After (seconds). V2 X-Rate-Limit-*
# headers are unverified, so pacing is client-side: at most RATE_LIMIT_PER_MINUTE requests in any
# window of RATE_LIMIT_WINDOW_SECONDS + PACING_PADDING_SECONDS (the padding absorbs network delay).
RATE_LIMIT_PER_MINUTE = 200
RATE_LIMIT_WINDOW_SECONDS = 60.0
PACING_PADDING_SECONDS = 1.0
DEFAULT_RETRY_AFTER_SECONDS = 60.0  # a 429 without Retry-After: stay away a whole window

# §5.1: lists page with `limit` (inventory) / `page_size`; default 25. Max not documented.
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

TIMEOUT_SECONDS = 30.0
MAX_RETRIES = 5  # retries after the first attempt
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0

TRANSACTION_TYPES = ("increment", "decrement", "adjust", "modify")
# Only `adjust` sets an absolute quantity, so only it may be re-sent after an unknown outcome
# (5xx, timeout). The others would apply twice; a 429 is always safe (the server refused it).
IDEMPOTENT_TRANSACTIONS = frozenset({"adjust"})
CONDITIONS = ("sellable", "damaged", "expired", "qa_hold")
GROUP_BY = ("warehouse", "location")
SHIPMENT_STATUSES = ("pending", "processing", "label_purchased", "cancelled")
LABEL_STATUSES = ("processing", "completed", "error", "voided")
SORT_BY = ("modified_at", "created_at")

"""Routes for items, inventory, prices and feeds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.walmart import errors
from sandbox.walmart.bodies import feed_file, json_body
from sandbox.walmart.catalog import ItemProblem, cursor_for, offset_of
from sandbox.walmart.control_stats import Controls
from sandbox.walmart.errors import JSONResponse, WalmartError
from sandbox.walmart.feeds import FEED_TYPES
from sandbox.walmart.gate import Gate
from sandbox.walmart.state import WalmartState

ITEMS, INVENTORY, PRICE, FEEDS = "GMP_ITEM_QUERY_API", "GMP_INVENTORY_API", "GMP_PRICE_API", "GMP_FEED_API"
PRICE_MESSAGE = ("Thank you. Your price has been updated. Please allow up to five minutes for this change to be "
                 "reflected on the site.")


def refusal(problem: ItemProblem, service: str) -> WalmartError:
    """A single call's answer to an item that breaks a rule: 404 for an unknown SKU, else 400."""
    if problem.unknown is not None:
        return errors.not_found("SKU", problem.unknown, service)
    return errors.bad_content(problem.description.removeprefix("[sandbox] "), service, field=problem.field)


def _int(request: Request, name: str, default: int, service: str) -> int:
    raw = request.query_params.get(name)
    try:
        return default if raw in (None, "") else int(raw)
    except ValueError:
        raise errors.bad_param(name, "must be an integer", service) from None


def feed_bucket(request: Request) -> str:
    """Feed submissions are limited per feed type (reference §1, §4)."""
    return f"feeds:submit:{request.query_params.get('feedType')}"


def item_routes(state: WalmartState, gate: Gate) -> list[Route]:
    async def listing(request: Request) -> Response:
        params = request.query_params
        limit = _int(request, "limit", 20, ITEMS)
        start = offset_of(params.get("nextCursor", "*"))
        if start is None or not 1 <= limit <= 200:
            raise errors.bad_param("nextCursor/limit", "is not a cursor we issued, or limit is not 1..200", ITEMS)
        with state.lock:
            rows = [i for i in sorted(state.items.values(), key=lambda i: i.sku)
                    if params.get("sku") in (None, i.sku)
                    and params.get("lifecycleStatus") in (None, i.lifecycle)
                    and params.get("publishedStatus") in (None, i.published)]
            body = {"ItemResponse": [i.response(state.currency) for i in rows[start: start + limit]],
                    "totalItems": len(rows)}
        if start + limit < len(rows):
            body["nextCursor"] = cursor_for(start + limit)
        return JSONResponse(body)

    async def one(request: Request) -> Response:
        sku = request.path_params["id"]
        with state.lock:
            item = state.items.get(sku)
            if item is None:
                raise errors.not_found("item", sku, ITEMS)
            return JSONResponse({"ItemResponse": [item.response(state.currency)], "totalItems": 1})

    return [Route("/v3/items", gate("GET /v3/items", "items:read", listing), methods=["GET"]),
            Route("/v3/items/{id}", gate("GET /v3/items/{id}", "items:read", one), methods=["GET"])]


def inventory_routes(state: WalmartState, gate: Gate) -> list[Route]:
    def sku_param(request: Request) -> str:
        sku = request.query_params.get("sku")
        if not sku:
            raise errors.bad_param("sku", "is required", INVENTORY, missing=True)
        return sku

    async def get_one(request: Request) -> Response:
        sku = sku_param(request)
        try:
            node = state.node(request.query_params.get("shipNode"))
        except ItemProblem as problem:
            raise refusal(problem, INVENTORY) from None
        with state.lock:
            if sku not in state.items:
                raise errors.not_found("SKU", sku, INVENTORY)
            amount = state.inventory.get((sku, node), 0)
        return JSONResponse({"sku": sku, "quantity": {"unit": "EACH", "amount": amount}})

    async def put_one(request: Request) -> Response:
        sku = sku_param(request)
        body = await json_body(request, INVENTORY)
        if not isinstance(body, dict) or body.get("sku") != sku:
            raise errors.bad_content("body sku must match the sku parameter", INVENTORY, field="sku")
        try:
            _, amount = state.set_quantity(sku, body.get("quantity"), request.query_params.get("shipNode"))
        except ItemProblem as problem:
            raise refusal(problem, INVENTORY) from None
        return JSONResponse({"sku": sku, "quantity": {"unit": "EACH", "amount": amount}})

    async def nodes(request: Request) -> Response:
        sku = request.path_params["sku"]
        with state.lock:
            if sku not in state.items:
                raise errors.not_found("SKU", sku, INVENTORY)
            wanted = request.query_params.get("shipNode")
            rows = [{"shipNode": n.id, **{k: {"unit": "EACH", "amount": state.inventory.get((sku, n.id), 0)}
                                          for k in ("inputQty", "availToSellQty")},
                     "reservedQty": {"unit": "EACH", "amount": 0}}
                    for n in state.ship_nodes if wanted in (None, n.id)]
        return JSONResponse({"sku": sku, "nodes": rows})

    return [Route("/v3/inventory", gate("GET /v3/inventory", "inventory:read", get_one), methods=["GET"]),
            Route("/v3/inventory", gate("PUT /v3/inventory", "inventory:write", put_one), methods=["PUT"]),
            Route("/v3/inventories/{sku}", gate("GET /v3/inventories/{sku}", "inventory:read", nodes),
                  methods=["GET"])]


def price_and_feed_routes(state: WalmartState, gate: Gate, controls: Controls) -> list[Route]:
    async def put_price(request: Request) -> Response:
        body = await json_body(request, PRICE)
        if not isinstance(body, dict):
            raise errors.bad_content("body must be a JSON object", PRICE)
        try:
            state.set_price(body.get("sku"), body.get("pricing"))
        except ItemProblem as problem:
            raise refusal(problem, PRICE) from None
        return JSONResponse({"ItemPriceResponse": {"mart": "WALMART_US", "message": PRICE_MESSAGE,
                                                   "sku": body["sku"]}})

    async def submit(request: Request) -> Response:
        feed_type = request.query_params.get("feedType")
        if feed_type not in FEED_TYPES:
            raise errors.bad_param("feedType", f"must be one of {', '.join(FEED_TYPES)} here", FEEDS,
                                   missing=feed_type is None)
        raw = await feed_file(request, FEEDS)
        feed = state.feeds.submit(feed_type, raw, request.query_params.get("shipNode"), state.clock.now())
        controls.record_feed(feed_type)
        return JSONResponse({"feedId": feed.feed_id})

    async def feed_list(request: Request) -> Response:
        offset, limit = _int(request, "offset", 0, FEEDS), _int(request, "limit", 50, FEEDS)
        if offset < 0 or not 1 <= limit <= 50:
            raise errors.bad_param("limit", "must be between 1 and 50", FEEDS)
        return JSONResponse(state.feeds.listing(request.query_params.get("feedId"), offset, limit))

    async def feed_status(request: Request) -> Response:
        feed = state.feeds.feeds.get(request.path_params["feedId"])
        if feed is None:
            raise errors.not_found("feedId", request.path_params["feedId"], FEEDS)
        offset, limit = _int(request, "offset", 0, FEEDS), _int(request, "limit", 50, FEEDS)
        if offset < 0 or not 1 <= limit <= 1000:
            raise errors.bad_param("limit", "must be between 1 and 1000", FEEDS)
        include = request.query_params.get("includeDetails", "false") == "true"
        with state.lock:
            return JSONResponse(feed.detail(include, offset, limit))

    return [Route("/v3/price", gate("PUT /v3/price", "price:write", put_price), methods=["PUT"]),
            Route("/v3/feeds", gate("POST /v3/feeds", feed_bucket, submit), methods=["POST"]),
            Route("/v3/feeds", gate("GET /v3/feeds", "feeds:read", feed_list), methods=["GET"]),
            Route("/v3/feeds/{feedId}", gate("GET /v3/feeds/{feedId}", "feeds:read", feed_status), methods=["GET"])]

"""Routes for orders, returns and reconciliation reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.walmart import errors, orders, returns
from sandbox.walmart.bodies import json_body
from sandbox.walmart.errors import JSONResponse
from sandbox.walmart.gate import Gate
from sandbox.walmart.recon import Settlement
from sandbox.walmart.state import WalmartState

Handler = Callable[[Request], Awaitable[Response]]
REPORT = "GMP_REPORT_API"
FILE_TYPES = ("application/octet-stream", "application/json")
MAX_JSON_ROWS = 1000


def _order(state: WalmartState, request: Request) -> orders.Order:
    po = request.path_params["purchaseOrderId"]
    order = state.orders.get(po)
    if order is None or not order.released:
        raise errors.not_found("purchaseOrderId", po, orders.SERVICE)
    return order


def order_routes(state: WalmartState, gate: Gate) -> list[Route]:
    async def listing(request: Request, released: bool) -> Response:
        query = orders.parse_query(request.query_params, state.clock.now(), released_only=released)
        with state.lock:
            rows, total, cursor = orders.page(state.orders.values(), query)
            docs = [orders.view(o, query.filters) for o in rows]
        if not docs:  # an empty result is 404 (python-walmart handles exactly this)
            raise errors.WalmartError(404, f"CONTENT_NOT_FOUND.{orders.SERVICE}",
                                      "[sandbox] No orders found for the given criteria")
        meta = {"totalCount": total, "limit": query.limit} | ({"nextCursor": cursor} if cursor else {})
        return JSONResponse({"list": {"meta": meta, "elements": {"order": docs}}})

    async def all_orders(request: Request) -> Response:
        return await listing(request, False)

    async def released(request: Request) -> Response:
        return await listing(request, True)

    async def one(request: Request) -> Response:
        order = _order(state, request)
        with state.lock:
            return JSONResponse({"order": orders.view(order, request.query_params)})

    def action(name: str, with_body: bool) -> Handler:
        async def run(request: Request) -> Response:
            order = _order(state, request)
            body = await json_body(request, orders.SERVICE) if with_body else None
            state.order_action(order.po, name, body)
            with state.lock:
                return JSONResponse({"order": orders.view(order, {})})
        return run

    table = [
        ("/v3/orders", "GET", "orders:read", all_orders),
        ("/v3/orders/released", "GET", "orders:read", released),
        ("/v3/orders/{purchaseOrderId}", "GET", "orders:read", one),
        ("/v3/orders/{purchaseOrderId}/acknowledge", "POST", "orders:write", action("acknowledge", False)),
        ("/v3/orders/{purchaseOrderId}/cancel", "POST", "orders:write", action("cancel", True)),
        ("/v3/orders/{purchaseOrderId}/shipping", "POST", "orders:write", action("ship", True)),
    ]
    return [Route(path, gate(f"{method} {path}", bucket, handler), methods=[method])
            for path, method, bucket, handler in table]


def return_routes(state: WalmartState, gate: Gate) -> list[Route]:
    async def listing(request: Request) -> Response:
        query = returns.parse_query(request.query_params)
        with state.lock:
            return JSONResponse(returns.page(state.returns.values(), query))

    async def refund(request: Request) -> Response:
        rma = request.path_params["returnOrderId"]
        body = await json_body(request, returns.SERVICE)
        with state.lock:
            ret = state.returns.get(rma)
            if ret is None:
                raise errors.not_found("returnOrderId", rma, returns.SERVICE)
            return JSONResponse(returns.refund(ret, body, state.clock.now()))

    return [Route("/v3/returns", gate("GET /v3/returns", "returns:read", listing), methods=["GET"]),
            Route("/v3/returns/{returnOrderId}/refund",
                  gate("POST /v3/returns/{returnOrderId}/refund", "returns:write", refund), methods=["POST"])]


def _version(request: Request) -> str:
    version = request.query_params.get("reportVersion")
    if version not in (None, "v1"):
        raise errors.bad_param("reportVersion", "must be v1 (or absent for the legacy report)", REPORT)
    return version or "legacy"


def _settlement(state: WalmartState, request: Request) -> Settlement:
    date = request.query_params.get("reportDate")
    if not date:
        raise errors.bad_param("reportDate", "is required", REPORT, missing=True)
    settlement = state.settlements.get(date)
    if settlement is None:
        raise errors.not_found("recon report for reportDate", date, REPORT)
    return settlement


def report_routes(state: WalmartState, gate: Gate) -> list[Route]:
    async def dates(request: Request) -> Response:
        _version(request)
        with state.lock:
            listed = sorted(state.settlements.values(), key=lambda s: s.end)
        return JSONResponse({"availableApReportDates": [s.report_date for s in listed]})

    async def file(request: Request) -> Response:
        version = _version(request)
        settlement = _settlement(state, request)
        return Response(settlement.zip_bytes(version), media_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename={settlement.filename()}"})

    async def rows(request: Request) -> Response:
        settlement = _settlement(state, request)
        try:
            offset = int(request.query_params.get("offset") or 0)
            count = int(request.query_params.get("noOfRecords") or MAX_JSON_ROWS)
        except ValueError:
            raise errors.bad_param("offset/noOfRecords", "must be integers", REPORT) from None
        if offset < 0 or not 1 <= count <= MAX_JSON_ROWS:
            raise errors.bad_param("noOfRecords", f"must be between 1 and {MAX_JSON_ROWS}", REPORT)
        data = [{k: v for k, v in row.items() if v != ""} for row in settlement.v1_rows()]
        body = {"reportData": data[offset: offset + count], "totalRecords": len(data),
                "description": f"{len(data)} lines"}
        if offset + count < len(data):
            body["nextOffset"] = offset + count
        return JSONResponse(body)

    base = "/v3/report/reconreport"
    return [Route(f"{base}/availableReconFiles", gate(f"GET {base}/availableReconFiles", "report:read", dates),
                  methods=["GET"]),
            Route(f"{base}/reconFile", gate(f"GET {base}/reconFile", "report:read", file, FILE_TYPES),
                  methods=["GET"]),
            Route(f"{base}/reconFileJson", gate(f"GET {base}/reconFileJson", "report:read", rows), methods=["GET"])]

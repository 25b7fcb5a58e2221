"""Starlette app serving the contract-based REST API of one `AcumaticaState`.

Each API request passes, in order: routing (an unknown endpoint, version or entity is 404 before
anything else) → the licence's request gate (delay or 429; sign-out is exempt) → sign-in check
(cookie `.ASPXAUTH` or `Authorization: Bearer`; 401) → a queued fault → the handler.
`/__sandbox/...` (control.py) is not part of Acumatica: no sign-in, no limits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.acumatica import errors
from sandbox.acumatica.actions import Operations
from sandbox.acumatica.control import control_routes
from sandbox.acumatica.errors import AcumaticaError, JSONResponse
from sandbox.acumatica.graphs import GRAPHS, Record
from sandbox.acumatica.odata import compile_filter
from sandbox.acumatica.schema import ENDPOINT, Contract, contracts
from sandbox.acumatica.sessions import Cookies, Session
from sandbox.acumatica.state import AcumaticaState, Invalid
from sandbox.acumatica.throttle import RequestGate
from sandbox.acumatica.values import Paths, from_wire, read_entity, render

Handler = Callable[[Request], Awaitable[Response]]


async def _json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/json", "text/json"):  # what the swagger's operations consume
        raise AcumaticaError(415, {"message": f"The request entity's media type '{media or 'none'}' is not "
                                              "supported for this resource."})
    raw = await request.body()
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except ValueError:
        raise errors.bad_request("[sandbox] The request is invalid: the body is not JSON.") from None


class Api:
    """The handlers, sharing the state, the request gate and the long operations."""

    def __init__(self, state: AcumaticaState) -> None:
        self.state = state
        self.gate = RequestGate(state.licence)
        self.operations = Operations(state)

    # -- plumbing --------------------------------------------------------------------------------

    def endpoint(self, template: str, handler: Handler, *, limited: bool = True) -> Handler:
        async def run(request: Request) -> Response:
            try:
                if limited:
                    async with self.gate.admit():
                        response = await self._faulted(handler, request)
                else:
                    response = await handler(request)
            except AcumaticaError as error:
                response = error.response()
            self.state.stats.requests += 1
            self.state.stats.by_path[f"{request.method} {_template(template, request.url.path)}"] += 1
            self.state.stats.by_status[response.status_code] += 1
            return response

        return run

    async def _faulted(self, handler: Handler, request: Request) -> Response:
        self.operations.tick()
        fault = self.state.take_fault()
        if fault is not None:
            raise errors.server_error(fault.message, status=fault.status)
        return await handler(request)

    def session(self, request: Request) -> Session:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self.state.sessions.by_bearer(header[7:].strip())
        session = self.state.sessions.by_cookie(request.cookies.get(".ASPXAUTH"))
        if session is None:
            raise errors.not_logged_in()
        return session

    def resolve(self, request: Request) -> tuple[Contract, str, list[str]]:
        """(contract, entity, rest of the path) for `/entity/<endpoint>/<version>/<Entity>/...`, or 404."""
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0]
        parts = [unquote(p) for p in raw.split("/entity/", 1)[1].split("/")]  # a key may hold an escaped '/'

        endpoint, version, *rest = parts + [""] * max(0, 2 - len(parts))
        if endpoint.lower() != ENDPOINT.lower() or version not in self.state.versions or not rest:
            raise errors.route_miss(str(request.url))
        entity = next((name for name in GRAPHS if name.lower() == rest[0].lower()), None)
        if entity is None or rest[0] == "swagger.json":
            raise errors.route_miss(str(request.url))
        return contracts()[version], entity, [p for p in rest[1:] if p != ""]

    def links(self, contract: Contract, entity: str) -> Callable[[str, Record], dict[str, str]]:
        graph = GRAPHS[entity]
        base = f"{self.state.site}/entity/{ENDPOINT}/{contract.version}"

        def make(definition: str, record: Record) -> dict[str, str]:
            files = {"files:put": f"{base}/files/{graph.graph}/{graph.view}/{record['id']}/{{filename}}"}
            return {"self": f"{base}/{entity}/{record['id']}"} | files if definition == entity else files

        return make

    def answer(self, contract: Contract, entity: str, record: Record, request: Request, row: int = 1) -> Record:
        paths = Paths.parse(request.query_params.get("$expand"), request.query_params.get("$select"))
        return render(contract, entity, record, paths, self.state.tz, self.links(contract, entity), row)

    # -- discovery and sign-in ------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        versions = {"acumaticaBuildVersion": "24.212.0017", "databaseVersion": "24.212.0017"}
        endpoints = [{"name": ENDPOINT, "version": v, "href": f"{self.state.site}/entity/{ENDPOINT}/{v}/"}
                     for v in self.state.versions]
        return JSONResponse({"version": versions, "endpoints": endpoints})

    async def swagger(self, request: Request) -> Response:
        endpoint, version = request.path_params["endpoint"], request.path_params["version"]
        if endpoint.lower() != ENDPOINT.lower() or version not in self.state.versions:
            raise errors.route_miss(str(request.url))
        return JSONResponse(contracts()[version].swagger(request.url.netloc, self.state.site))

    async def login(self, request: Request) -> Response:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body: Any = dict(parse_qsl((await request.body()).decode()))
        else:
            body = await _json_body(request)
        if not isinstance(body, dict) or not body.get("name") or body.get("password") is None:
            raise errors.bad_request("[sandbox] The request is invalid: name and password are required.")
        session = self.state.sessions.login(str(body["name"]), str(body["password"]),
                                            body.get("tenant") or body.get("company"), body.get("branch"))
        branches = self.state.sessions.tenants[session.tenant]
        response = Response(status_code=204)
        for name, value in Cookies(session, branches.index(session.branch) + 1).values.items():
            flags = "; HttpOnly" if name in (".ASPXAUTH", "ASP.NET_SessionId", "UserBranch") else ""
            response.raw_headers.append((b"set-cookie", f"{name}={value}; path=/{flags}".encode()))
        return response

    async def logout(self, request: Request) -> Response:
        try:
            self.state.sessions.logout(self.session(request))
        except AcumaticaError:
            pass
        response = Response(status_code=204)
        for name in (".ASPXAUTH", "ASP.NET_SessionId"):
            response.raw_headers.append(
                (b"set-cookie", f"{name}=; expires=Mon, 11-Oct-1999 00:00:00 GMT; path=/; HttpOnly".encode()))
        return response

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        try:
            token = self.state.sessions.issue(form)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        body = {"access_token": token.access, "expires_in": 3600, "token_type": "Bearer", "scope": token.scope}
        return JSONResponse(body | ({"refresh_token": token.refresh} if token.refresh else {}))

    # -- entities --------------------------------------------------------------------------------

    async def entity(self, request: Request) -> Response:
        contract, entity, rest = self.resolve(request)
        session = self.session(request)
        method = request.method
        if not rest and method == "GET":
            return self.list(contract, entity, request)
        if not rest and method == "PUT":
            return await self.put(contract, entity, request, session)
        actions = contract.actions.get(entity, {})
        if len(rest) == 3 and rest[0] in actions and rest[1] == "status" and method == "GET":
            return self.status(contract, entity, rest[2])
        if len(rest) == 1 and method == "POST":
            if rest[0] not in actions:
                raise errors.route_miss(str(request.url))
            return await self.invoke(contract, entity, rest[0], request, session)
        record = self.state.locate(entity, rest)
        if method == "DELETE":
            self.state.delete(entity, record)
            return Response(status_code=204)
        if method == "GET":
            return JSONResponse(self.answer(contract, entity, record, request))
        raise errors.route_miss(str(request.url))

    def list(self, contract: Contract, entity: str, request: Request) -> Response:
        params = request.query_params
        keep = compile_filter(params.get("$filter"), contract.fields(entity), self.state.tz)
        graph = GRAPHS[entity]
        rows = sorted((r for r in self.state.all(entity) if keep(r)),
                      key=lambda r: tuple(str(r.get(k) or "") for k in graph.keys))
        skip, top = _count(params.get("$skip"), 0), _count(params.get("$top"), None)
        rows = rows[skip:] if top is None else rows[skip:skip + top]
        return JSONResponse([self.answer(contract, entity, r, request, n) for n, r in enumerate(rows, 1)])

    async def put(self, contract: Contract, entity: str, request: Request, session: Session) -> Response:
        if self.operations.busy(session.auth, entity):
            raise errors.server_error("[sandbox] The previous operation has not been completed yet.")
        incoming = read_entity(contract, entity, await _json_body(request), self.state.tz)
        try:
            saved = self.state.put(entity, incoming, insert_only=request.headers.get("if-none-match") == "*",
                                   update_only=request.headers.get("if-match") == "*")
        except Invalid as invalid:
            return JSONResponse(self.answer(contract, entity, invalid.candidate, request), status_code=422)
        return JSONResponse(self.answer(contract, entity, saved, request))

    async def invoke(self, contract: Contract, entity: str, action: str, request: Request,
                     session: Session) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("entity"), dict):
            raise errors.bad_request("[sandbox] The request is invalid: 'entity' is required.")
        target = read_entity(contract, entity, body["entity"], self.state.tz)
        graph = GRAPHS[entity]
        key = graph.key_of(target)
        record = (self.state.by_id(entity, target["id"]) if target.get("id") else
                  self.state.find(entity, key) if key else None)
        if record is None:
            raise errors.no_entity()
        spec = contract.actions[entity][action]
        raw = body.get("parameters") or {}
        params = {name: from_wire(token, (raw.get(name) or {}).get("value"), self.state.tz)
                  for name, token in spec.items()}
        op = self.operations.start(entity, action, record, params, session.auth)
        base = f"{self.state.site}/entity/{ENDPOINT}/{contract.version}/{entity}"
        if op.done:
            return self._finished(op, base)
        return Response(status_code=202, headers={"Location": f"{base}/{action}/status/{op.ident}"})

    def status(self, contract: Contract, entity: str, ident: str) -> Response:
        op = self.operations.poll(ident)
        base = f"{self.state.site}/entity/{ENDPOINT}/{contract.version}/{entity}"
        return self._finished(op, base) if op.done else Response(status_code=202, headers={
            "Location": f"{base}/{op.action}/status/{op.ident}"})

    @staticmethod
    def _finished(op: Any, base: str) -> Response:
        if op.error is not None:
            raise op.error
        return Response(status_code=204, headers={"Location": f"{base}/{op.record_id}"})


def _template(template: str, path: str) -> str:
    """`/entity/{endpoint}/{version}/SalesOrder/{ids}`-style names for the request counters."""
    if not template.endswith("..."):
        return template
    entity, *rest = (path.split("/entity/", 1)[1].split("/") + ["", ""])[2:]
    rest = [p for p in rest if p]
    actions = {a for c in contracts().values() for names in c.actions.values() for a in names}
    suffix = "" if not rest else f"/{rest[0]}/status/{{id}}" if "status" in rest else (
        f"/{rest[0]}" if rest[0] in actions else "/{ids}")
    return f"/entity/{{endpoint}}/{{version}}/{entity}{suffix}"


def _count(raw: str | None, default: int | None) -> int | None:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise errors.bad_request(f"[sandbox] The query parameter value '{raw}' is invalid.") from None
    if value < 0:
        raise errors.bad_request(f"[sandbox] The query parameter value '{raw}' is invalid.")
    return value


def create_app(state: AcumaticaState) -> Starlette:
    """An Acumatica simulator over `state` (licence, users, tenant and versions live on the state)."""
    api = Api(state)
    site = state.site
    routes = [
        *control_routes(state, api),
        Route(f"{site}/entity", api.endpoint("/entity", api.root), methods=["GET"]),
        Route(f"{site}/entity/", api.endpoint("/entity", api.root), methods=["GET"]),
        Route(f"{site}/entity/auth/login", api.endpoint("/entity/auth/login", api.login), methods=["POST"]),
        Route(f"{site}/entity/auth/logout", api.endpoint("/entity/auth/logout", api.logout, limited=False),
              methods=["POST"]),
        Route(f"{site}/identity/connect/token", api.endpoint("/identity/connect/token", api.token),
              methods=["POST"]),
        Route(f"{site}/entity/{{endpoint}}/{{version}}/swagger.json",
              api.endpoint("/entity/{endpoint}/{version}/swagger.json", api.swagger), methods=["GET"]),
        Route(f"{site}/entity/{{path:path}}", api.endpoint("/entity/{endpoint}/{version}/{entity}...", api.entity),
              methods=["GET", "PUT", "POST", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.acumatica = state
    app.state.api = api
    return app

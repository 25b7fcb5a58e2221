"""Helpers the Books route modules share: success bodies, lookups by path id, upsert headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.zoho_books.errors import JSONResponse, invalid, not_found
from sandbox.zoho_books.gate import Gate, Handler
from sandbox.zoho_books.org import Organization, Record

Body = dict[str, Any]


def ok(message: str, status: int = 200, **resource: Any) -> JSONResponse:
    """`{code: 0, message, ...resource}`."""
    return JSONResponse({"code": 0, "message": message, **resource}, status_code=status)


def lookup(table: Callable[[Organization], dict[str, Record]], entity: str, request: Request, org: Organization,
           name: str) -> Record:
    """The record the path parameter `name` names, else 404 `<entity> does not exist.`"""
    record = table(org).get(request.path_params[name])
    if record is None:
        raise not_found(entity)
    return record


def upsert_target(org: Organization, request: Request, body: Body, entity: str,
                  table: dict[str, Record]) -> tuple[Record | None, Body]:
    """The record holding the unique custom-field value of the headers, or a new one with X-Upsert."""
    cf = org.unique_field(entity, request.headers.get("X-Unique-Identifier-Key"))
    value = request.headers.get("X-Unique-Identifier-Value")
    if not value:
        raise invalid("X-Unique-Identifier-Value")
    record = org.find_by_field(table, cf, value)
    if record is not None:
        return record, body
    if request.headers.get("X-Upsert", "").lower() != "true":
        raise not_found(entity.capitalize())
    given = [e for e in body.get("custom_fields", []) or [] if isinstance(e, dict)]
    if not any(org.field_for(entity, e) is cf for e in given):
        given.append({"customfield_id": cf.customfield_id, "value": value})
    return None, body | {"custom_fields": given}


def routes(gate: Gate, module: str, table: list[tuple[str, str, Handler]]) -> list[Route]:
    """One gated route per (path, method, handler) of `module`."""
    return [Route(path, gate(path, module, handler), methods=[method]) for path, method, handler in table]


@dataclass(frozen=True)
class Resource:
    """How one Books resource is listed, created, read, updated and upserted."""

    module: str                                                   # scope module
    path: str                                                     # e.g. /contacts
    key: str                                                      # response key, custom-field entity
    entity: str                                                   # for "<Entity> does not exist."
    table: Callable[[Organization], dict[str, Record]]
    find: Callable[[Organization, dict[str, str]], Record]
    create: Callable[[Organization, Body, dict[str, str]], Record]
    update: Callable[[Organization, Record, Body], Record] | None
    created: str
    updated: str = ""
    upsert: bool = False
    show: Callable[[Organization, Record], Record] = field(default=lambda org, record: record)


def crud_routes(gate: Gate, res: Resource, extra: list[tuple[str, str, Handler]] | None = None) -> list[Route]:
    """List, create, get, update (and `PUT <path>` upsert) routes of `res`, plus `extra` ones."""
    one = f"{res.path}/{{{res.key}_id}}"

    def find(request: Request, org: Organization, body: Body) -> Response:
        return JSONResponse(res.find(org, dict(request.query_params)))

    def create(request: Request, org: Organization, body: Body) -> Response:
        record = res.create(org, body, dict(request.query_params))
        return ok(res.created, 201, **{res.key: res.show(org, record)})

    def get(request: Request, org: Organization, body: Body) -> Response:
        record = lookup(res.table, res.entity, request, org, f"{res.key}_id")
        return ok("success", **{res.key: res.show(org, record)})

    def change(org: Organization, record: Record, body: Body) -> Response:
        assert res.update is not None
        return ok(res.updated, **{res.key: res.show(org, res.update(org, record, body))})

    def update(request: Request, org: Organization, body: Body) -> Response:
        return change(org, lookup(res.table, res.entity, request, org, f"{res.key}_id"), body)

    def upsert(request: Request, org: Organization, body: Body) -> Response:
        record, body = upsert_target(org, request, body, res.key, res.table(org))
        return create(request, org, body) if record is None else change(org, record, body)

    table: list[tuple[str, str, Handler]] = [(res.path, "GET", find), (res.path, "POST", create), (one, "GET", get)]
    if res.update is not None:
        table.append((one, "PUT", update))
    if res.upsert:
        table.append((res.path, "PUT", upsert))
    return routes(gate, res.module, table + (extra or []))

"""The contracts this instance serves: entity fields and value types per endpoint version, and swagger.json.

`contract.json` holds the field names and value types of SalesOrder, Shipment, Customer, StockItem and
every linked or detail entity they reach, taken from Acumatica's own swagger files for
`Default/22.200.001`, `23.200.001` and `24.200.001` (AcumaticaRESTAPIClientForCSharp,
`EndpointDefinitions/`): 23.200.001 in full, the other two as changes against it. The 22 and 23
documents are Swagger 2.0, the 24 one OpenAPI 3.0.1; both say contract version "4".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ENDPOINT = "Default"
VALUE_TYPES = {"StringValue": "string", "DecimalValue": "number", "DoubleValue": "number", "IntValue": "integer",
               "LongValue": "integer", "ShortValue": "integer", "ByteValue": "integer", "BooleanValue": "boolean",
               "DateTimeValue": "string", "GuidValue": "string"}
_FORMATS = {"DecimalValue": "double", "DoubleValue": "double", "IntValue": "int32", "LongValue": "int64",
            "ShortValue": "int16", "ByteValue": "byte", "DateTimeValue": "date-time", "GuidValue": "uuid"}
TOP_LEVEL = ("SalesOrder", "Shipment", "Customer", "StockItem")


@dataclass(frozen=True)
class Contract:
    """One endpoint version: its definitions (field → value type, linked name or `[detail]`) and actions."""

    version: str
    format: str
    contract_version: str
    definitions: dict[str, dict[str, str]]
    actions: dict[str, dict[str, dict[str, str]]]

    def fields(self, definition: str) -> dict[str, str]:
        return self.definitions[definition]

    def swagger(self, host: str, site: str = "") -> dict[str, Any]:
        """This version's swagger.json (only the entities and actions this simulator serves)."""
        return _Writer(self, host, site).document()


def kind(type_token: str) -> str:
    """`value`, `detail` (an array of rows) or `linked` (one nested object)."""
    if type_token in VALUE_TYPES:
        return "value"
    return "detail" if type_token.startswith("[") else "linked"


def target(type_token: str) -> str:
    """The definition a detail or linked field points at."""
    return type_token.strip("[]")


@cache
def contracts() -> dict[str, Contract]:
    """Every version in `contract.json`, keyed by version string."""
    data = json.loads((Path(__file__).with_name("contract.json")).read_text(encoding="utf-8"))
    out = {}
    for version, spec in data["versions"].items():
        defs = {name: dict(fields) for name, fields in data["definitions"].items()}
        for name, change in spec["changes"].items():
            if change is None:
                defs.pop(name, None)
                continue
            fields = {k: t for k, t in defs.get(name, {}).items() if k not in change["drop"]}
            defs[name] = dict(sorted({**fields, **change["add"]}.items()))
        out[version] = Contract(version, spec["format"], spec["contractVersion"], defs, spec["actions"])
    return out


class _Writer:
    """Builds the swagger document in the version's format (Swagger 2.0 or OpenAPI 3.0.1)."""

    def __init__(self, contract: Contract, host: str, site: str) -> None:
        self.c = contract
        self.openapi = contract.format == "openapi3"
        self.host, self.base = host, f"{site}/entity/{ENDPOINT}/{contract.version}"

    def ref(self, name: str) -> dict[str, str]:
        return {"$ref": ("#/components/schemas/" if self.openapi else "#/definitions/") + name}

    def schema_of(self, token: str) -> dict[str, Any]:
        if kind(token) == "detail":
            return {"type": "array", "items": self.ref(target(token))}
        return self.ref(token)

    def document(self) -> dict[str, Any]:
        info = {"title": f"{ENDPOINT}/{self.c.version}", "version": self.c.contract_version}
        tags = [{"name": name} for name in TOP_LEVEL]
        if self.openapi:
            return {"openapi": "3.0.1", "info": info, "servers": [{"url": f"http://{self.host}{self.base}"}],
                    "paths": self.paths(), "components": {"schemas": self.definitions()}, "tags": tags}
        return {"swagger": "2.0", "info": info, "host": self.host, "basePath": self.base, "schemes": ["http"],
                "paths": self.paths(), "definitions": self.definitions(), "tags": tags}

    def definitions(self) -> dict[str, Any]:
        defs: dict[str, Any] = {
            "Entity": {"type": "object", "properties": {
                "id": {"format": "uuid", "type": "string"}, "rowNumber": {"format": "int64", "type": "integer"},
                "note": self.ref("StringValue"), "error": {"type": "string"},
                "custom": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": self.ref("CustomField")}},
                "files": {"type": "array", "items": self.ref("FileLink")}}},
            "CustomField": {"required": ["type"], "type": "object", "properties": {"type": {"type": "string"}},
                            "discriminator": {"propertyName": "type"} if self.openapi else "type"},
            "FileLink": {"type": "object", "properties": {"id": {"format": "uuid", "type": "string"},
                                                          "filename": {"type": "string"},
                                                          "href": {"format": "uri", "type": "string"}}},
            "HttpError": {"type": "object", "properties": {
                name: {"type": "string"} for name in ("message", "exceptionMessage", "exceptionType", "stackTrace",
                                                      "messageDetail")}},
        }
        for token, json_type in VALUE_TYPES.items():
            value = {"type": json_type} | ({"format": _FORMATS[token]} if token in _FORMATS else {})
            defs[token] = {"type": "object", "properties": {"value": value, "error": {"type": "string"}}}
        for name, fields in self.c.definitions.items():
            props = {field: self.schema_of(token) for field, token in fields.items()}
            defs[name] = {"allOf": [self.ref("Entity"), {"type": "object", "properties": props}]}
        for entity, actions in self.c.actions.items():
            for action, params in actions.items():
                body: dict[str, Any] = {"entity": self.ref(entity)}
                if params:
                    body["parameters"] = {"type": "object", "description": "The parameters of the action.",
                                          "properties": {p: self.ref(t) for p, t in params.items()}}
                defs[action] = {"required": list(body), "type": "object", "properties": body}
        return dict(sorted(defs.items()))

    def paths(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for entity in TOP_LEVEL:
            query = [self.param(n, "query", "string") for n in ("$select", "$filter", "$expand", "$custom")]
            paging = [self.param(n, "query", "integer") for n in ("$skip", "$top")]
            paths[f"/{entity}"] = {
                "get": self.op(entity, "GetList", query + paging, {"200": self.body_response(f"[{entity}]")}),
                "put": self.op(entity, "PutEntity", query, {"200": self.body_response(entity),
                                                            "412": self.body_response("HttpError"),
                                                            "422": self.body_response(entity)}, body=entity)}
            ids = [self.param("ids", "path", "string")]
            paths[f"/{entity}/{{ids}}"] = {
                "get": self.op(entity, "GetByKeys", ids + query, {"200": self.body_response(entity)}),
                "delete": self.op(entity, "DeleteByKeys", ids, {"204": {"description": "The record is deleted."}})}
            for action in self.c.actions.get(entity, {}):
                paths[f"/{entity}/{action}"] = {"post": self.op(entity, f"InvokeAction_{action}", [], {
                    "202": self.location("The operation is in progress."),
                    "204": self.location("The operation that was initiated by the action is completed."),
                    "422": self.body_response(entity)}, body=action)}
        return paths

    def param(self, name: str, where: str, json_type: str) -> dict[str, Any]:
        spec = {"type": json_type}
        return {"in": where, "name": name, "required": where == "path"} | (
            {"schema": spec} if self.openapi else spec)

    def body_response(self, token: str) -> dict[str, Any]:
        schema = self.schema_of(token)
        if self.openapi:
            return {"description": "", "content": {"application/json": {"schema": schema}}}
        return {"description": "", "schema": schema}

    def location(self, description: str) -> dict[str, Any]:
        header = {"type": "string", "format": "uri"}
        return {"description": description,
                "headers": {"Location": {"schema": header} if self.openapi else header}}

    def op(self, entity: str, name: str, params: list[dict[str, Any]], responses: dict[str, Any],
           body: str | None = None) -> dict[str, Any]:
        errors = {"401": self.body_response("HttpError"), "500": self.body_response("HttpError")}
        op: dict[str, Any] = {"tags": [entity], "operationId": f"{entity}_{name}", "parameters": params,
                              "responses": errors | responses}
        if body is not None:
            if self.openapi:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": self.ref(body)}}}
            else:
                op["parameters"] = [*params, {"in": "body", "name": "entity", "required": True,
                                              "schema": self.ref(body)}]
        return op

"""Acumatica's error shapes (reference §10), read once.

Server exceptions nest: ``{"message": "An error has occurred.", "exceptionMessage": ..., "innerException":
{...}}`` — the innermost ``exceptionMessage`` says what happened. A 422 echoes the record with an
``"error"`` next to each bad value (and possibly on the entity). Other failures say ``{"error": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.common.errors import NotFound


class EndpointVersionNotFound(NotFound):
    """A 404 because the instance does not offer the configured endpoint name/version (§1)."""

    def __init__(self, message: str, *, offered: Sequence[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.offered = tuple(offered)


def describe(body: Any) -> str | None:
    """The most useful message of an Acumatica error body: innermost exception, then every field error."""
    if not isinstance(body, Mapping):
        return None
    entity_error = body.get("error") if isinstance(body.get("error"), str) else None
    parts = [m for m in (_innermost(body), entity_error) if m]
    parts += [f"{path}: {error}" for path, error in field_errors(body)]
    return "; ".join(dict.fromkeys(parts)) or None


def _innermost(body: Mapping[str, Any]) -> str | None:
    found = None
    node: Any = body
    while isinstance(node, Mapping):
        message = node.get("exceptionMessage") or node.get("ExceptionMessage")
        if isinstance(message, str) and message:
            found = message
        node = node.get("innerException") or node.get("InnerException")
    return found


def field_errors(record: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(field path, error)`` for every ``error`` in a 422 echo, depth first (``Details[1].OrderQty``)."""
    if isinstance(record, Mapping):
        if isinstance(record.get("error"), str) and path:
            yield path, record["error"]
        for key, value in record.items():
            if key in ("error", "exceptionMessage", "innerException", "message", "stackTrace"):
                continue
            yield from field_errors(value, f"{path}.{key}" if path else key)
    elif isinstance(record, list):
        for n, item in enumerate(record):
            yield from field_errors(item, f"{path}[{n}]")


def no_entity(body: Any) -> bool:
    """Acumatica answers a key or id that names no record with a 500 of this type (not the 404 of §10)."""
    kind = body.get("exceptionType") if isinstance(body, Mapping) else None
    return isinstance(kind, str) and kind.endswith("NoEntitySatisfiesTheConditionException")


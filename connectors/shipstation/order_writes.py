"""V1 order writes and key lookups (reference §2.1, §2.3): a mixin of ``ShipStationClient``.

- ``POST /orders/createorder`` is an upsert keyed by ``orderKey``; without a key every retry would
  create a new order (§2.3 pitfall), so both write methods refuse a body without one. Because the
  write is keyed, re-sending after a 5xx or a timeout updates the same order: it is retried like a read.
- Only ``awaiting_payment``, ``awaiting_shipment`` and ``on_hold`` orders can be updated; ``shipped``
  and ``cancelled`` ones are locked. The docs do not give the refusal's body, so a 400 is not
  recognised by its text: ``create_order`` looks the key up and raises :class:`OrderLocked` (carrying
  the order as ShipStation holds it) when the order is locked, else the ``BadRequest`` naming the key.
- ``POST /orders/createorders`` takes at most 100 orders and answers one result per row
  (``{hasErrors, results: [{orderId, orderNumber, orderKey, success, errorMessage}]}``); a failed row
  does not stop the others. Rows are sent in chunks of 100 and each result is named by the orderKey
  we sent at its position.
- ``GET /orders`` has no ``orderKey`` filter (§2.1; the API ignores unknown parameters and would
  answer every order). A key is found through the ``orderNumber`` filter, a case-sensitive
  "starts with" match, by comparing ``orderKey`` exactly on our side (§6.8). Soft-deleted orders leave
  every list (§2.1), so they are not found this way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from connectors.common.errors import BadRequest, ServerError
from connectors.common.http import Params
from connectors.shipstation import settings
from connectors.shipstation.models import Order, ShipStationModel

CREATE_ORDER_PATH = "/orders/createorder"
CREATE_ORDERS_PATH = "/orders/createorders"
MAX_ORDERS_PER_BATCH = 100  # §2.3
LOCKED_STATUSES = frozenset({"shipped", "cancelled"})
OPEN_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})

RawPage = list[dict[str, Any]]


class OrderLocked(BadRequest):
    """``createorder`` refused an order that is shipped or cancelled in ShipStation (§2.3).

    ``order`` is the order as ShipStation holds it, so a caller can report both versions.
    """

    def __init__(self, order_key: str, order: Order, *, cause: BadRequest) -> None:
        super().__init__(
            f"orderKey {order_key!r}: order {order.order_id} is {order.order_status!r} in ShipStation and "
            f"cannot be changed ({cause.message})",
            system=cause.system, status=cause.status, excerpt=cause.excerpt, request=cause.request,
        )
        self.order_key = order_key
        self.order = order


class CreateOrderResult(ShipStationModel):
    """One row of a ``createorders`` answer; a failed row names the ``order_key`` that was sent."""

    order_key: str
    order_id: int | None = None
    order_number: str | None = None
    success: bool
    error_message: str | None = None
    current_status: str | None = None  # filled for failed rows whose order exists in ShipStation

    @property
    def locked(self) -> bool:
        """True when the row failed because the order is shipped or cancelled in ShipStation."""
        return not self.success and self.current_status in LOCKED_STATUSES


class _Transport(Protocol):
    def request_json(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any: ...

    def iter_pages_raw(
        self, path: str, items_key: str, params: Params | None = None, *, page_size: int = ...
    ) -> Iterator[RawPage]: ...


def order_key_of(body: Mapping[str, Any], where: str = "order") -> str:
    """The body's non-empty ``orderKey``; ``ValueError`` naming the order otherwise."""
    key = body.get("orderKey") if isinstance(body, Mapping) else None
    if not isinstance(key, str) or not key.strip():
        number = body.get("orderNumber") if isinstance(body, Mapping) else None
        raise ValueError(f"{where} (orderNumber {number!r}) has no orderKey: createorder would duplicate it on retry")
    return key


class OrderWrites:
    """``create_order``, ``create_orders``, ``find_orders_by_key``, ``find_orders_by_number``."""

    def create_order(self: _Transport, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update (by ``orderKey``) one order; the stored order as ShipStation answers it.

        Raises :class:`OrderLocked` when the key's order is shipped or cancelled, ``BadRequest`` naming
        the key for any other refusal.
        """
        key = order_key_of(body)
        try:
            return self.request_json("POST", CREATE_ORDER_PATH, json=dict(body))
        except BadRequest as error:
            raise _explain(self, key, _number_of(body), error) from None

    def create_orders(self: _Transport, bodies: Sequence[Mapping[str, Any]]) -> list[CreateOrderResult]:
        """Create or update many orders, 100 per request; one result per body, in order.

        Failed rows whose order exists in ShipStation get ``current_status`` (one lookup each), so
        ``result.locked`` tells a shipped/cancelled order from a rejected body.
        """
        keys = [order_key_of(body, f"order #{n}") for n, body in enumerate(bodies)]
        results: list[CreateOrderResult] = []
        for start in range(0, len(bodies), MAX_ORDERS_PER_BATCH):
            chunk = [dict(body) for body in bodies[start:start + MAX_ORDERS_PER_BATCH]]
            reply = self.request_json("POST", CREATE_ORDERS_PATH, json=chunk)
            results += _rows(reply, keys[start:start + len(chunk)], chunk)
        return [_with_status(self, row, bodies[n]) if not row.success else row for n, row in enumerate(results)]

    def find_orders_by_key(self: _Transport, order_key: str, *, order_number: str | None = None) -> list[Order]:
        """Active orders whose ``orderKey`` is exactly ``order_key`` (normally one, or none).

        Searched by ``orderNumber`` prefix: ``order_number`` when given, else the key itself (our
        flows use the source document number as both). Pass ``order_number`` when they differ.
        """
        prefix = order_number or order_key
        return [order for order in _by_number_prefix(self, prefix) if order.order_key == order_key]

    def find_orders_by_number(self: _Transport, order_number: str) -> list[Order]:
        """Active orders whose ``orderNumber`` is exactly ``order_number`` (the filter is a prefix match)."""
        return [order for order in _by_number_prefix(self, order_number) if order.order_number == order_number]


def _by_number_prefix(client: _Transport, prefix: str) -> list[Order]:
    if not prefix:
        raise ValueError("an order number (or key) to search by is required")
    params = {"orderNumber": prefix, "sortBy": "CreateDate", "sortDir": "ASC"}
    unique: dict[Any, dict[str, Any]] = {}
    for page in client.iter_pages_raw(settings.ORDERS_PATH, "orders", params):
        unique.update((record.get("orderId"), record) for record in page)
    return [Order.from_raw(record) for record in unique.values()]


def _number_of(body: Mapping[str, Any]) -> str | None:
    number = body.get("orderNumber")
    return number if isinstance(number, str) and number else None


def _explain(client: _Transport, key: str, number: str | None, error: BadRequest) -> BadRequest:
    found = OrderWrites.find_orders_by_key(client, key, order_number=number)
    locked = [order for order in found if order.order_status in LOCKED_STATUSES]
    if locked:
        return OrderLocked(key, locked[0], cause=error)
    return BadRequest(f"orderKey {key!r}: {error.message}", system=error.system, status=error.status,
                      excerpt=error.excerpt, request=error.request)


def _rows(reply: Any, keys: list[str], chunk: list[dict[str, Any]]) -> list[CreateOrderResult]:
    rows = reply.get("results") if isinstance(reply, Mapping) else None
    if not isinstance(rows, list) or len(rows) != len(chunk):
        got = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise ServerError(f"createorders answered {got} results for {len(chunk)} orders", system=settings.SYSTEM,
                          request=f"POST {CREATE_ORDERS_PATH}")
    return [_row(row if isinstance(row, Mapping) else {}, key, body) for row, key, body in zip(rows, keys, chunk,
                                                                                                  strict=True)]


def _row(row: Mapping[str, Any], key: str, body: Mapping[str, Any]) -> CreateOrderResult:
    order_id = row.get("orderId") or None  # failed rows report orderId 0
    return CreateOrderResult(
        order_key=row.get("orderKey") or key, order_id=order_id,
        order_number=row.get("orderNumber") or body.get("orderNumber"),
        success=bool(row.get("success")), error_message=row.get("errorMessage"),
    )


def _with_status(client: _Transport, row: CreateOrderResult, body: Mapping[str, Any]) -> CreateOrderResult:
    found = OrderWrites.find_orders_by_key(client, row.order_key, order_number=_number_of(body))
    if not found:
        return row
    return row.model_copy(update={"current_status": found[0].order_status, "order_id": row.order_id
                                  or found[0].order_id})

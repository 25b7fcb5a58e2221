"""ShipStation as a posting target: orders upserted by `orderKey` (reference §2.3).

`createorder` is an upsert keyed by `orderKey`, so create, alter and cancel are one call and a
re-send updates instead of duplicating; creates go out through `createorders`, up to 100 rows a
request with an outcome per row (`ShipStationClient.create_orders`). V1 has no filter by `orderKey`:
`find` goes through the `orderNumber` prefix filter and compares the key exactly. Shipped and
cancelled orders are locked (§2.3): before changing an order the target reads it, and a late edit of a
locked order is refused here with both versions and never sent (a race the read misses comes back
as `OrderLocked` and is reported the same way). Money leaves as JSON numbers (see `wire`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.common.errors import AuthError, BadRequest, RateLimited, ServerError, TransportError
from connectors.shipstation.client import OrderLocked, ShipStationClient
from pipelines.posting import Created, Outcome

if TYPE_CHECKING:
    from pipelines.posting import PostItem
    from state.ledger import Claim

LOCKED_STATUSES = frozenset({"shipped", "cancelled"})
LATE_EDIT = "late edit"  # every refusal of a locked order starts so (rule packs match it)
READ_ONLY = ("orderId", "createDate", "modifyDate", "orderTotal", "customerId", "externallyFulfilled",
             "externallyFulfilledBy", "externallyFulfilledById", "externallyFulfilledByName", "labelMessages")


class ShipStationOrderTarget:
    """Upserts ShipStation orders by `orderKey`; the ledger's target id is the `orderId`."""

    name = "shipstation"
    not_delivered: tuple[type[BaseException], ...] = (RateLimited, AuthError)
    outcome_unknown: tuple[type[BaseException], ...] = (ServerError, TransportError)

    def __init__(self, client: ShipStationClient) -> None:
        self.client = client

    def check(self, item: PostItem) -> str | None:
        if not item.payload.get("orderKey"):
            return "no orderKey: every retry would create a new order (§2.3)"
        return None

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        found: dict[str, str] = {}
        for item, _ in pending:
            for order in self.client.find_orders_by_key(item.key, order_number=item.number):
                found[item.key] = str(order.order_id)
        return found

    def create(self, items: Sequence[PostItem]) -> Created:
        out = Created()
        for item, row in zip(items, self.client.create_orders([wire(i.payload) for i in items]), strict=True):
            if row.success and row.order_id:
                out.landed[item.key] = str(row.order_id)
            elif row.locked:
                out.refused[item.key] = late_edit({"orderNumber": row.order_number, "orderId": row.order_id,
                                                   "orderStatus": row.current_status}, item.payload)
            else:
                out.refused[item.key] = str(row.error_message or "refused without a message")
        return out

    def settle(self) -> Created:
        return Created()

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        current = self.client.get_order_raw(int(target_id))
        if current.get("orderStatus") in LOCKED_STATUSES:
            return Outcome(late_edit(current, item.payload))
        return self._upsert(item.payload)

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        current = self.client.get_order_raw(int(target_id))
        status = current.get("orderStatus")
        if status == "cancelled":
            return Outcome()
        if status in LOCKED_STATUSES:
            return Outcome(late_edit(current, {**current, "orderStatus": "cancelled"}))
        # No partial updates (§2.3): the whole order as ShipStation holds it, cancelled.
        return self._upsert({k: v for k, v in current.items() if k not in READ_ONLY} | {"orderStatus": "cancelled"})

    def _upsert(self, payload: dict[str, Any]) -> Outcome:
        try:
            self.client.create_order(wire(payload))
        except OrderLocked as locked:
            return Outcome(late_edit(locked.order.raw or {"orderId": locked.order.order_id,
                                                          "orderStatus": locked.order.order_status}, payload))
        except BadRequest as error:
            return Outcome(f"ShipStation refused the order: {error.message}")
        return Outcome()


def late_edit(current: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Why a locked order is not changed, with what ShipStation holds and what the source says now."""
    return (f"{LATE_EDIT}: ShipStation order {current.get('orderNumber')} (orderId {current.get('orderId')}) is "
            f"{current.get('orderStatus')} and cannot change; ShipStation holds {summary(current)}; "
            f"the source now says {summary(wanted)}")


def summary(order: dict[str, Any]) -> str:
    """One line naming what matters of an order version: status, lines, amounts, ship-to."""
    lines = ", ".join(f"{i.get('quantity')} × {i.get('sku')}" for i in order.get("items") or []
                      if not i.get("adjustment"))
    ship_to = order.get("shipTo") or {}
    return (f"[{order.get('orderStatus')}; {lines or 'no lines'}; shipping {order.get('shippingAmount')}, "
            f"tax {order.get('taxAmount')}; to {ship_to.get('name')}, {ship_to.get('city')}]")


def wire(value: Any) -> Any:
    """The body as JSON-ready values: a Decimal becomes the float that prints as the same digits.

    The ShipStation client sends `json=`; money must survive that exactly, so a Decimal whose float
    would print differently (more than ~15 significant digits) is refused rather than rounded.
    """
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be sent as a JSON number without rounding")
        return number
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value

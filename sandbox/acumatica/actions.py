"""Actions (`POST …/<Entity>/<Action>` with `{"entity": {…}, "parameters": {…}}`) as long operations.

An invocation answers 202 with `Location: <site>/entity/Default/<v>/<Entity>/<Action>/status/<guid>`
(the shape Acumatica's C# client parses); each GET of that URL answers 202 while the operation
runs (`licence.action_polls` polls) and then 204 with `Location` naming the processed record, or
the operation's error (500, `PX.Data.PXException`). With `action_polls = 0` the invocation itself
answers 204. While an operation runs, other writes to the same entity in the same session answer
500 "The previous operation has not been completed yet." (the reference: "other requests on that
form in the same session fail"; the text is unverified). The effect is applied when the operation
completes: on the poll that answers 204, or unpolled after `licence.action_seconds`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox.acumatica import errors
from sandbox.acumatica.graphs import GRAPHS, SHIPPABLE_ORDER, Record, dec
from sandbox.acumatica.shipments import OPEN_SHIPMENT_EXISTS, open_shipment
from sandbox.acumatica.state import AcumaticaState, Invalid

Effect = Callable[[AcumaticaState, Record, dict[str, Any]], None]
BUSY = "[sandbox] The previous operation has not been completed yet."


def _refuse(message: str) -> errors.AcumaticaError:
    return errors.server_error(message)


def create_shipment(state: AcumaticaState, order: Record, params: dict[str, Any]) -> None:
    if order.get("Status") not in SHIPPABLE_ORDER or order.get("Hold"):
        raise _refuse(f"[sandbox] The sales order {order['OrderNbr']} cannot be shipped in the "
                      f"'{order.get('Status')}' status.")
    rows = [{"OrderType": order["OrderType"], "OrderNbr": order["OrderNbr"], "OrderLineNbr": row["LineNbr"],
             "ShippedQty": dec(row.get("OpenQty")) - dec(row.get("QtyOnShipments"))}
            for row in order.get("Details") or []
            if dec(row.get("OpenQty")) - dec(row.get("QtyOnShipments")) > 0]
    warehouse = params.get("WarehouseID") or next(
        (r.get("WarehouseID") for r in order.get("Details") or [] if r.get("WarehouseID")), None)
    other = open_shipment(state, order, warehouse)
    if other is not None:
        raise _refuse(OPEN_SHIPMENT_EXISTS.format(order["OrderType"], order["OrderNbr"], other))
    if not rows:
        day = (params.get("ShipmentDate") or state.today()).astimezone(state.tz)
        raise _refuse(f"Order {order['OrderType']} {order['OrderNbr']} does not contain any items planned for "
                      f"shipment on '{day.month}/{day.day}/{day.year}'.")
    body: Record = {"CustomerID": order.get("CustomerID"), "WarehouseID": warehouse, "Details": rows}
    if params.get("ShipmentDate"):
        body["ShipmentDate"] = params["ShipmentDate"]
    state.put("Shipment", body)


def cancel_order(state: AcumaticaState, order: Record, params: dict[str, Any]) -> None:
    if order.get("Status") in ("Completed", "Invoiced", "Canceled", "Shipping"):
        raise _refuse(f"[sandbox] The sales order {order['OrderNbr']} cannot be canceled in the "
                      f"'{order.get('Status')}' status.")
    state.set_fields("SalesOrder", order, {"Status": "Canceled"})


def reopen_order(state: AcumaticaState, order: Record, params: dict[str, Any]) -> None:
    if order.get("Status") != "Canceled":
        raise _refuse(f"[sandbox] The sales order {order['OrderNbr']} is not canceled.")
    state.set_fields("SalesOrder", order, {"Status": "Open"})


def confirm_shipment(state: AcumaticaState, shipment: Record, params: dict[str, Any]) -> None:
    if shipment.get("Status") != "Open":
        raise _refuse(f"[sandbox] The shipment {shipment['ShipmentNbr']} cannot be confirmed in the "
                      f"'{shipment.get('Status')}' status.")
    if dec(shipment.get("ShippedQty")) <= 0:
        raise _refuse(f"Unable to confirm zero shipment {shipment['ShipmentNbr']}.")
    _set_status(state, shipment, "Confirmed", confirmed=True)


def correct_shipment(state: AcumaticaState, shipment: Record, params: dict[str, Any]) -> None:
    if shipment.get("Status") != "Confirmed":
        raise _refuse(f"[sandbox] The shipment {shipment['ShipmentNbr']} is not confirmed.")
    _set_status(state, shipment, "Open", confirmed=False)


def _set_status(state: AcumaticaState, shipment: Record, status: str, confirmed: bool) -> None:
    candidate = copy.deepcopy(shipment)
    candidate["Status"] = status
    for package in candidate.get("Packages") or []:
        package["Confirmed"] = confirmed
    state.save(GRAPHS["Shipment"], candidate, shipment)


EFFECTS: dict[str, dict[str, Effect]] = {
    "SalesOrder": {"SalesOrderCreateShipment": create_shipment, "CancelSalesOrder": cancel_order,
                   "ReopenSalesOrder": reopen_order},
    "Shipment": {"ConfirmShipment": confirm_shipment, "CorrectShipment": correct_shipment},
}


@dataclass
class Operation:
    ident: str
    entity: str
    action: str
    record_id: str
    params: dict[str, Any]
    session: str
    polls_left: int
    started: datetime
    error: errors.AcumaticaError | None = None
    done: bool = False


class Operations:
    """Long operations by id."""

    def __init__(self, state: AcumaticaState) -> None:
        self.state = state
        self.running: dict[str, Operation] = {}
        self.finished: dict[str, Operation] = {}
        self.completed = 0

    def tick(self) -> None:
        """Finish operations left unpolled for `licence.action_seconds` of business time."""
        late = self.state.now() - timedelta(seconds=self.state.licence.action_seconds)
        for op in [op for op in self.running.values() if op.started <= late]:
            self.finish(op)

    def busy(self, session: str, entity: str) -> bool:
        """Whether an operation of this session on this entity still runs."""
        self.tick()
        return any(op.session == session and op.entity == entity for op in self.running.values())

    def start(self, entity: str, action: str, record: Record, params: dict[str, Any], session: str) -> Operation:
        if self.busy(session, entity):
            raise errors.server_error(BUSY)
        op = Operation(self.state.new_id(), entity, action, record["id"], params, session,
                       self.state.licence.action_polls, self.state.now())
        self.running[op.ident] = op
        if op.polls_left <= 0:
            self.finish(op)
        return op

    def poll(self, ident: str) -> Operation:
        op = self.running.get(ident.lower()) or self.finished.get(ident.lower())
        if op is None:
            raise errors.no_entity()
        if not op.done:
            op.polls_left -= 1
            if op.polls_left < 0:
                self.finish(op)
        return op

    def finish(self, op: Operation) -> None:
        record = self.state.by_id(op.entity, op.record_id)
        try:
            if record is None:
                raise errors.no_entity()
            EFFECTS[op.entity][op.action](self.state, record, op.params)
        except Invalid as invalid:
            op.error = errors.server_error(invalid.candidate.get("_error") or "[sandbox] The operation failed.")
        except errors.AcumaticaError as error:
            op.error = error
        op.done = True
        self.running.pop(op.ident, None)
        self.finished[op.ident] = op
        self.completed += 1

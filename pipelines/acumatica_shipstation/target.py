"""Acumatica as a posting target: shipments from labels, their confirmation, their freight cost.

Acumatica has no batch write: each record is its own request. A Shipment PUT without keys always
creates (reference §6), so a create is sent once (retried only after a 429) and a lost answer is
found again by our key in the package's `CustomRefNbr1` (`find`). §6 also warns that a 200 does not
prove a field was saved: the PUT asks for the packages back and a missing tracking number is a
refusal ("tracking write-back failed"), not a success. A voided label is reversed: a confirmed
shipment is corrected (`CorrectShipment`, §8) and the shipment deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.acumatica.client import AcumaticaClient
from connectors.common.errors import AuthError, BadRequest, NotFound, RateLimited, ServerError, TransportError
from pipelines.posting import Created, Outcome

if TYPE_CHECKING:
    from pipelines.posting import PostItem
    from state.ledger import Claim

TARGET = "acumatica"
TRACKING_NOT_SAVED = "tracking write-back failed"  # the rule pack matches this text
CONFIRMED = frozenset({"Confirmed", "Completed", "Invoiced", "Partially Invoiced"})
NOT_DELIVERED: tuple[type[BaseException], ...] = (RateLimited, AuthError)
OUTCOME_UNKNOWN: tuple[type[BaseException], ...] = (ServerError, TransportError)


def each(items: Sequence[PostItem], write: Callable[[PostItem], str]) -> Created:
    """Write items one by one; a refusal fails its item only; a failure of the system after some items
    landed keeps those and leaves the rest to be looked up (a first failure is raised for the poster)."""
    out = Created()
    for n, item in enumerate(items):
        try:
            out.landed[item.key] = write(item)
        except BadRequest as error:
            out.refused[item.key] = error.message
        except (*NOT_DELIVERED, *OUTCOME_UNKNOWN) as error:
            if not out.landed and not out.refused:
                raise
            out.unknown.update((i.key, f"the batch stopped at this record or before it: {error}") for i in items[n:])
            break
    return out


class AcumaticaTarget:
    """What every Acumatica target shares: its name, how its errors split, no batch checks, no deferral."""

    name = TARGET
    not_delivered = NOT_DELIVERED
    outcome_unknown = OUTCOME_UNKNOWN

    def __init__(self, client: AcumaticaClient) -> None:
        self.client = client

    def check(self, item: PostItem) -> str | None:
        return None

    def settle(self) -> Created:
        return Created()

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return Outcome()

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        return Outcome()


class ShipmentTarget(AcumaticaTarget):
    """Labels -> Acumatica Shipments. `item.payload` is the PUT body; `item.source` is the `OrderRef`."""

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        found: dict[str, str] = {}
        for item, _ in pending:
            since = item.date - timedelta(days=1) if item.date else None
            clauses = [f"CustomerID eq '{_quote(item.source.customer_id)}'"]
            clauses += [f"ShipmentDate ge datetimeoffset'{since.isoformat()}T00:00:00Z'"] if since else []
            for page in self.client.iter_pages("Shipment", filter=" and ".join(clauses), expand=["Packages"]):
                found.update((item.key, s["ShipmentNbr"]) for s in page
                             if any(p.get("CustomRefNbr1") == item.key for p in s.get("Packages") or []))
        return found

    def create(self, items: Sequence[PostItem]) -> Created:
        return each(items, self._create)

    def _create(self, item: PostItem) -> str:
        saved = self.client.put("Shipment", item.payload, expand=["Packages"], idempotent=False)
        wanted = item.payload["Packages"][0]["TrackingNbr"]
        if not any(p.get("TrackingNbr") == wanted for p in saved.get("Packages") or []):
            raise BadRequest(f"{TRACKING_NOT_SAVED}: shipment {saved.get('ShipmentNbr')} was saved without "
                             f"tracking number {wanted}", system=TARGET)
        return str(saved["ShipmentNbr"])

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        header = {k: item.payload.get(k) for k in ("ShipmentDate", "ShipVia")}
        return _outcome(lambda: self.client.put("Shipment", {"ShipmentNbr": target_id, **header}))

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        """A voided label: correct the shipment if it was confirmed, then delete it."""
        try:
            status = self.client.get("Shipment", target_id).get("Status")
        except NotFound:
            return Outcome()  # already gone
        if status in ("Invoiced", "Partially Invoiced"):
            return Outcome(f"shipment {target_id} is {status}: reverse the invoice in Acumatica first")

        def reverse() -> None:
            if status in CONFIRMED:
                self.client.invoke("Shipment", "CorrectShipment", {"ShipmentNbr": target_id})
            self.client.delete("Shipment", target_id)
        return _outcome(reverse)


class ConfirmTarget(AcumaticaTarget):
    """Confirms posted shipments (`ConfirmShipment`, 202 + Location polled). `item.payload` = {"ShipmentNbr"}."""

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        found = {}
        for item, _ in pending:
            nbr = item.payload["ShipmentNbr"] if item.payload else None
            if nbr and self.client.get("Shipment", nbr).get("Status") in CONFIRMED:
                found[item.key] = nbr
        return found

    def create(self, items: Sequence[PostItem]) -> Created:
        def confirm(item: PostItem) -> str:
            self.client.invoke("Shipment", "ConfirmShipment", {"ShipmentNbr": item.payload["ShipmentNbr"]})
            return item.payload["ShipmentNbr"]
        return each(items, confirm)  # alter/cancel: nothing (the shipment poster reverses a voided label's)


class FreightTarget(AcumaticaTarget):
    """A label's shipping cost on its shipment (`FreightCost`), written by key: re-sending is harmless.

    Acumatica answers 200 to a PUT on a confirmed shipment and changes nothing (a closed document),
    so the saved value is read back; a confirmed shipment is corrected, written and confirmed again.
    """

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        return {}  # a keyed PUT: resolving by sending again is safe

    def create(self, items: Sequence[PostItem]) -> Created:
        return each(items, self._write)

    def _write(self, item: PostItem) -> str:
        nbr, amount = item.payload["ShipmentNbr"], item.payload["FreightCost"]
        saved = self.client.put("Shipment", item.payload)
        if _amount(saved.get("FreightCost")) != amount and saved.get("Status") in CONFIRMED:
            self.client.invoke("Shipment", "CorrectShipment", {"ShipmentNbr": nbr})
            saved = self.client.put("Shipment", item.payload)
            self.client.invoke("Shipment", "ConfirmShipment", {"ShipmentNbr": nbr})
        if _amount(saved.get("FreightCost")) != amount:
            raise BadRequest(f"shipment {nbr} kept FreightCost {saved.get('FreightCost')} instead of {amount} "
                             f"(status {saved.get('Status')})", system=TARGET)
        return nbr

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return _outcome(lambda: self._write(item))


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        call()
    except BadRequest as error:
        return Outcome(error.message)
    return Outcome()


def _quote(text: str) -> str:
    return text.replace("'", "''")

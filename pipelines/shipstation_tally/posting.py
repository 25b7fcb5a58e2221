"""Posting ShipStation orders to TallyPrime as order vouchers, exactly once (the generic `Poster`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.tally.models import Voucher
from pipelines.posting import Poster, PostingReport, PostItem
from pipelines.posting.keys import record_id
from pipelines.shipstation_tally.mapping import (
    OrderVoucherConfig,
    customer_ledger_name,
    describe,
    external_key,
    order_to_voucher,
    payload_hash,
)
from pipelines.sides.errors import MappingError
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.skus import SkuResolver
from pipelines.sides.tally.target import TallyTarget
from state.ledger import Candidate, SyncLedger

if TYPE_CHECKING:
    from pipelines.shipstation_tally.checks import SettledCheck

__all__ = ["FLOW", "TARGET", "OrderTotals", "OrderVoucherPoster", "PostingReport"]

FLOW = "shipstation_tally.orders"
CENT = Decimal("0.01")


class OrderVoucherPoster(Poster):
    """Posts order vouchers for staged orders; every outcome lands in the ledger."""

    overlap = True  # prepare only maps and reads the ledger: Tally answers while the next batch is mapped

    flow = FLOW
    report_keys = ("order_number", "order_id")
    retain_source = False  # no `on_posted`: a settled create needs nothing of its order

    def __init__(self, target: TallyTarget, ledger: SyncLedger, cfg: OrderVoucherConfig, skus: SkuResolver,
                 known_ledgers: set[str], run_id: str, *, batch_size: int = 25,
                 batch_ceiling: int | None = None) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size, batch_ceiling=batch_ceiling)
        self.cfg, self.skus, self.known_ledgers = cfg, skus, known_ledgers
        # orderId -> orderTotal of every record read: what the voucher check compares Tally's vouchers
        # with, noted in this one pass so the check need not read the orders again
        self.totals = OrderTotals()
        # the voucher check's share done at settle time, when the target reads amounts back (assets wire it)
        self.settled_check: SettledCheck | None = None

    def prepare(self, record: tuple[Order | None, dict]) -> PostItem | None:
        order, raw = record
        self.report.read += 1
        source_id = record_id(raw, "orderId")
        number = str(raw.get("orderNumber", ""))
        self.totals.note(source_id, staged_total(raw.get("orderTotal")))
        if order is None:
            self._fail(source_id, number, raw, raw.get("_parse_error", "record could not be parsed"))
            return None
        try:
            voucher, desired, digest = self._map(order)
        except (MappingError, ValidationError) as exc:  # a model the mapping built refused it
            self._fail(source_id, number, raw, str(exc))
            return None
        day = local_date(order.order_date, self.cfg.timezone)
        detail = {"order_number": order.order_number, "date": day}
        cand = Candidate(source_id, external_key(order), digest, desired,
                         order.modify_date.isoformat() if order.modify_date else None, detail)
        return PostItem(describe(order), order.order_number, day, raw, voucher, cand, order)

    def on_read_back(self, items: list[PostItem], records: Mapping[str, Any]) -> None:
        if self.settled_check is not None:
            self.settled_check.add(items, records, self.totals)

    def _fail(self, source_id: str, number: str, raw: dict, error: str) -> None:
        self.fail_unclaimed(source_id, f"ss-order-{source_id}", number, raw, error)

    def _map(self, order: Order) -> tuple[Voucher | None, str, str]:
        if order.order_status == "cancelled":
            return None, "cancel", "cancelled"
        party = customer_ledger_name(order)
        if party not in self.known_ledgers:
            raise MappingError(describe(order), "billTo.name", f"party ledger {party!r} does not exist in Tally")
        voucher = order_to_voucher(order, party, self.skus, self.cfg)
        return voucher, "upsert", payload_hash(voucher)


class OrderTotals(Mapping[str, Decimal | None]):
    """orderId -> orderTotal (to the cent, or None) of every order a run read, kept small: whole cents
    under the numeric id (about 100 bytes an order against 370 for a tuple of strings and a Decimal),
    so a run of 100,000 orders holds ~10 MB here, not ~37 MB."""

    def __init__(self) -> None:
        self._cents: dict[int | str, int | None] = {}

    @staticmethod
    def key(source_id: str) -> int | str:
        """The compact key of an orderId: the number itself where the id is one."""
        return int(source_id) if source_id.isdigit() and str(int(source_id)) == source_id else source_id

    def note(self, source_id: str, total: Decimal | None) -> None:
        self._cents[self.key(source_id)] = None if total is None else int(total.scaleb(2))

    def __getitem__(self, source_id: str) -> Decimal | None:
        cents = self._cents[self.key(source_id)]
        return None if cents is None else Decimal(cents).scaleb(-2)

    def __iter__(self) -> Iterator[str]:
        return (str(key) for key in self._cents)

    def __len__(self) -> int:
        return len(self._cents)


def staged_total(value: object) -> Decimal | None:
    """A raw order's orderTotal to the cent (None when absent, not a number, NaN or infinite: `quantize`
    passes a quiet NaN through, and the run's totals keep whole cents)."""
    try:
        total = None if value is None else Decimal(str(value))
        return total.quantize(CENT, rounding=ROUND_HALF_UP) if total is not None and total.is_finite() else None
    except InvalidOperation:  # not a number, or too many digits to hold to the cent
        return None

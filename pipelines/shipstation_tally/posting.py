"""Posting ShipStation orders to TallyPrime as order vouchers, exactly once (the generic `Poster`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pydantic_core
from pydantic import ValidationError

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.tally.models import Voucher
from connectors.tally.xml_vouchers import RenderedVoucher, rendered
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
from pipelines.sides.shipstation import reading
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.skus import SkuResolver
from pipelines.sides.tally.target import TallyTarget
from state.ledger import Candidate, SyncLedger

if TYPE_CHECKING:
    from pipelines.shipstation_tally.checks import SettledCheck

__all__ = ["FLOW", "TARGET", "OrderMapping", "OrderTotals", "OrderVoucherPoster", "PostingReport", "PreparedOrder",
           "prepare_order", "prepare_texts"]

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

    def prepare(self, record: PreparedOrder | tuple[Order | None, dict]) -> PostItem | None:
        """An order prepared elsewhere (`prepare_texts`), or an `(order, raw)` pair from `parse_orders`."""
        if not isinstance(record, PreparedOrder):
            record = prepare_order(self.mapping(), *record)
        self.report.read += 1
        self.totals.note(record.source_id, record.total)
        if record.failure is not None:
            self._fail(record.source_id, record.number, record.raw, record.failure)
            return None
        cand = Candidate(record.source_id, record.key, record.digest, record.desired, record.modify,
                         {"order_number": record.number, "date": record.day})
        return PostItem(record.label, record.number, record.day, record.raw, record.payload, cand, record.source)

    def mapping(self) -> OrderMapping:
        """What mapping an order needs of this run, as it stands now (a helper process gets it once)."""
        return OrderMapping(self.cfg, self.skus, frozenset(self.known_ledgers))

    def on_read_back(self, items: list[PostItem], records: Mapping[str, Any]) -> None:
        if self.settled_check is not None:
            self.settled_check.add(items, records, self.totals)

    def _fail(self, source_id: str, number: str, raw: dict | str, error: str) -> None:
        self.fail_unclaimed(source_id, f"ss-order-{source_id}", number, raw, error)


@dataclass(frozen=True)
class OrderMapping:
    """What mapping an order needs besides the order: picklable, for a helper process (`prepare_texts`)."""

    cfg: OrderVoucherConfig
    skus: SkuResolver
    known_ledgers: frozenset[str]


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """One order mapped and ready to claim (`prepare_order`), or, with `failure`, one that cannot be posted
    (the field named). `raw` is kept for replay: the record, or its staged JSON text as it was read."""

    source_id: str
    number: str
    total: Decimal | None
    raw: dict | str
    failure: str | None = None
    label: str = ""
    key: str = ""
    digest: str = ""
    desired: str = ""
    modify: str | None = None
    day: date | None = None
    payload: Voucher | RenderedVoucher | None = None
    source: Order | None = None


def prepare_order(mapping: OrderMapping, order: Order | None, raw: dict, *, render: bool = False,
                  text: str | None = None) -> PreparedOrder:
    """Map one parsed order (None: it did not parse, `raw` says why); with `render`, the voucher comes back
    written (`RenderedVoucher`) and without its order, to cross a process boundary cheaply, and an order
    that maps keeps `text` (its JSON as staged) for replay instead of the record."""
    source_id = record_id(raw, "orderId")
    total = staged_total(raw.get("orderTotal"))
    if order is None:
        return PreparedOrder(source_id, str(raw.get("orderNumber", "")), total, raw,
                             raw.get("_parse_error", "record could not be parsed"))
    try:
        voucher, desired, digest = _map(mapping, order)
    except (MappingError, ValidationError) as exc:  # a model the mapping built refused it
        return PreparedOrder(source_id, str(raw.get("orderNumber", "")), total, raw, str(exc))
    payload = rendered(voucher) if render and voucher is not None else voucher
    return PreparedOrder(source_id, order.order_number, total, raw if text is None else text, None, describe(order),
                         external_key(order), digest,
                         desired, order.modify_date.isoformat() if order.modify_date else None,
                         local_date(order.order_date, mapping.cfg.timezone), payload, None if render else order)


def prepare_texts(mapping: OrderMapping, texts: list[str]) -> list[PreparedOrder]:
    """Staged orders, as JSON text, decoded, parsed and mapped (`prepared_ahead` runs it in a helper process):
    an order that maps keeps its text as `raw` (sent back as it came), one that does not its decoded record."""
    return [prepare_order(mapping, order, raw, render=True, text=text)
            for text, (order, raw) in zip(texts, reading.parse_orders(map(_decoded, texts)), strict=True)]


def _decoded(text: str) -> Any:
    """A staged order's JSON: pydantic-core's parser (~19 us an order against json's ~31; the same values for
    what staging writes: its money is text), json's for what it refuses (a lone surrogate escape)."""
    try:
        return pydantic_core.from_json(text)
    except ValueError:
        return json.loads(text)


def _map(mapping: OrderMapping, order: Order) -> tuple[Voucher | None, str, str]:
    if order.order_status == "cancelled":
        return None, "cancel", "cancelled"
    party = customer_ledger_name(order)
    if party not in mapping.known_ledgers:
        raise MappingError(describe(order), "billTo.name", f"party ledger {party!r} does not exist in Tally")
    voucher = order_to_voucher(order, party, mapping.skus, mapping.cfg)
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

"""The inventory builders assemble a voucher's models without pydantic where every value passes the models'
checks (`connectors.tally.models.assemble`): they must give exactly what validating them gives (the same
models, field order, fields set and payload hash) or the same error, for plain and hostile values alike."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from connectors.tally import models
from connectors.tally.models import BillAllocation, OrderRef, Voucher
from pipelines.sides.tally import builders
from pipelines.sides.tally.builders import Charge, Header, StockLine
from pipelines.sides.tally.skus import StockItemRef
from tests.fuzz.strategies import NASTY_NAMES, text

plain_names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), min_size=1, max_size=20)
names = st.one_of(plain_names, plain_names, st.sampled_from(NASTY_NAMES), text, st.just(""))
optional_names = st.one_of(st.none(), names)
plain_amounts = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6, max_value=10**6)
numbers = st.one_of(plain_amounts, plain_amounts,
                    st.decimals(allow_nan=False, allow_infinity=False, places=0, min_value=0, max_value=50),
                    st.decimals(allow_nan=True, allow_infinity=True),
                    st.sampled_from([Decimal("1E+14"), Decimal("-0.00"), Decimal("0.005"), Decimal("1e-30"),
                                     Decimal("999999999999999.99"), Decimal("1E+15")]),
                    st.integers(-3, 3))
headers = st.builds(Header, record=st.just("order WC-1 (orderId 1)"),
                    voucher_type=st.one_of(st.just("Sales Order"), names),
                    date=st.one_of(st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
                                   st.datetimes().map(lambda d: d.replace(hour=0, minute=0, second=0, microsecond=0))),
                    narration=names, party=optional_names, number=optional_names, reference=optional_names)
stock_lines = st.builds(StockLine, item=st.builds(StockItemRef, name=names, unit=st.sampled_from(["Nos", "kg", "&"])),
                        quantity=numbers, rate=numbers, godown=names, ledger=names, order_no=optional_names,
                        tracking_number=optional_names, cost_centre=optional_names)
charges = st.builds(Charge, ledger=names, amount=numbers, cost_centre=optional_names)
KINDS = ["order", "inward", "delivery", "invoice", "credit"]


def build(kind: str, h: Header, lines: list[StockLine], extra: list[Charge], other: str) -> Voucher:
    if kind in ("order", "inward"):
        return builders.order_voucher(h, lines, extra, inward=kind == "inward")
    if kind == "delivery":
        return builders.delivery_note(h, lines, OrderRef(order_no=other, basic_order_date=date(2026, 1, 2)))
    if kind == "invoice":
        return builders.sales_invoice(h, lines, extra, credit_period="30 Days")
    return builders.credit_note(h, lines, extra, against=other)


def observed(model: BaseModel) -> tuple:
    """Everything of a model a caller can see, its `__dict__` order included (its JSON, so its hash, follows it)."""
    parts: list[Any] = [type(model), list(model.__dict__), model.model_fields_set, model.__pydantic_extra__,
                        model.__pydantic_private__]
    for value in model.__dict__.values():
        if isinstance(value, list):
            parts += [observed(item) if isinstance(item, BaseModel) else item for item in value]
        else:
            parts.append((type(value), repr(value)))
    return tuple(parts)


def outcome(kind: str, h: Header, lines: list[StockLine], extra: list[Charge], other: str) -> tuple:
    try:
        voucher = build(kind, h, lines, extra, other)
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return ("error", type(exc), str(exc), getattr(exc, "record", None), getattr(exc, "field", None))
    return ("voucher", observed(voucher), voucher.model_dump_json(), builders.payload_hash(voucher))


@contextmanager
def validated_only():
    """The builders as they were: every model through validation."""
    with mock.patch.object(builders, "texts_pass", lambda texts: False):
        yield


@contextmanager
def counting_assembled(calls: list[type]):
    real = models.assemble

    def counted(cls, values, given):
        calls.append(cls)
        return real(cls, values, given)

    with mock.patch.object(builders, "assemble", counted):
        yield


@given(kind=st.sampled_from(KINDS), h=headers, lines=st.lists(stock_lines, min_size=1, max_size=3),
       extra=st.lists(charges, max_size=3), other=names)
def test_assembled_vouchers_are_the_validated_ones(kind: str, h: Header, lines: list[StockLine],
                                                   extra: list[Charge], other: str) -> None:
    fast = outcome(kind, h, [replace(line) for line in lines], extra, other)
    with validated_only():
        slow = outcome(kind, h, [replace(line) for line in lines], extra, other)
    assert fast == slow


def plain_order(*, party: str = "Asha Traders", rate: Decimal = Decimal("19.50")) -> tuple:
    h = Header(record="order PH-1 (orderId 1)", voucher_type="Sales Order", date=date(2026, 2, 6),
               narration="ShipStation order PH-1 [ext:ss-order-1]", party=party, number="PH-1", reference="PH-1")
    lines = [StockLine(StockItemRef("Black Pepper 50g", "Nos"), Decimal(2), rate, "Main Location", "Sales", "PH-1")]
    return h, lines, [Charge("Shipping Charges", Decimal("49.00")), Charge("Output Tax", Decimal("1.90"))]


def test_a_plain_order_is_assembled_and_equals_the_validated_voucher() -> None:
    calls: list[type] = []
    with counting_assembled(calls):
        fast = outcome("order", *plain_order(), "x")
    assert calls.count(models.LedgerEntry) == 3 and calls.count(models.InventoryEntry) == 1
    assert calls.count(Voucher) == 1
    with validated_only():
        assert outcome("order", *plain_order(), "x") == fast


def test_a_sales_invoice_assembles_its_bill_and_equals_the_validated_voucher() -> None:
    h, lines, extra = plain_order()
    calls: list[type] = []
    with counting_assembled(calls):
        fast = outcome("invoice", h, lines, extra, "x")
    assert Voucher in calls
    with validated_only():
        assert outcome("invoice", *plain_order(), "x") == fast
    assert isinstance(builders.sales_invoice(h, lines, extra).ledger_entries[0].bill_allocations[0], BillAllocation)


def test_values_a_model_refuses_are_validated_and_refused_as_before() -> None:
    for party, rate in [("Bad\x01Name", Decimal("19.50")), ("Asha", Decimal("-1")), ("Asha", Decimal("1E+16"))]:
        calls: list[type] = []
        with counting_assembled(calls):
            fast = outcome("order", *plain_order(party=party, rate=rate), "x")
        assert Voucher not in calls and fast[0] == "error" and fast[4] == "voucher"
        with validated_only():
            assert outcome("order", *plain_order(party=party, rate=rate), "x") == fast


@given(value=st.one_of(numbers, st.floats(), st.text(max_size=5), st.none()))
def test_an_amount_or_quantity_that_passes_is_kept_by_validation(value: object) -> None:
    """The predicates are one-sided: what they pass, the models accept and keep as it is (the same object)."""
    if models.amount_passes(value):
        assert models.LedgerEntry(ledger_name="x", amount=value).amount is value
    if models.quantity_passes(value):
        entry = models.InventoryEntry(stock_item="x", quantity=value, unit="Nos", rate=value, amount=Decimal(0))
        assert entry.quantity is value and entry.rate is value


@given(texts=st.lists(st.one_of(names, st.none(), st.integers()), max_size=4))
def test_texts_that_pass_are_kept_by_validation(texts: list[object]) -> None:
    if models.texts_pass(texts):
        for text in texts:
            assert models.LedgerEntry(ledger_name=text, amount=Decimal(0)).ledger_name is text

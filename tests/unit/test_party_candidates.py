"""The customer-ledger step reads an order's party from the raw record (staged beside the order as its
`party`) and parses the whole order only when its party is not known: the name read so must be the one
the parsed order gives, or nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from pipelines.shipstation_tally.customers import party_known, staged_party
from pipelines.shipstation_tally.mapping import MappingError, customer_ledger_name
from pipelines.sides.shipstation.reading import party_candidates
from pipelines.sides.tally.masters import party_ledger_name
from tests.unit.test_shipstation_models import sample_order

PLAIN = st.one_of(st.none(), st.text(alphabet=st.sampled_from(" \t\n\x1c\xa0\u2003\u200bAsha&<Ωअ1"), max_size=8))
ODD = st.one_of(st.integers(-5, 5), st.just(["x"]))
TEXT = st.one_of(PLAIN, PLAIN, PLAIN, ODD)  # mostly what a real record holds
NAMED = st.fixed_dictionaries({}, optional={"name": PLAIN})
ADDRESS = st.one_of(NAMED, NAMED, NAMED, st.none(), st.just("Main St"), st.fixed_dictionaries({"name": ODD}))


def parsed_name(raw: dict) -> str | None:
    """What the step would otherwise learn: the parsed order's party ledger (None if it has none)."""
    try:
        return customer_ledger_name(Order.from_raw(raw))
    except MappingError:
        return None


@settings(max_examples=300, deadline=None)
@given(bill=ADDRESS, ship=ADDRESS, email=TEXT, user=TEXT, snake=st.booleans())
def test_the_party_read_from_the_raw_record_is_the_parsed_orders_or_nothing(bill, ship, email, user, snake) -> None:
    raw = sample_order(billTo=bill, shipTo=ship, customerEmail=email, customerUsername=user)
    if snake:
        raw["customer_email"] = "someone@else.example"
    candidates = party_candidates(raw)
    try:
        expected = parsed_name(raw)
    except RecordError:
        return  # the whole order does not parse: the step never needs its party, known or not
    if candidates is None:
        return  # not plain enough: the step parses it, as before
    assert party_ledger_name(*candidates) == expected == staged_party(raw)
    assert party_known(raw, {expected} if expected else set()) == (expected is not None)


def test_plain_records_are_read_and_odd_ones_left_to_the_parser() -> None:
    assert party_candidates(sample_order(billTo={"name": "  Ram  &  Shyam "}, shipTo=None))[0] == "  Ram  &  Shyam "
    assert party_candidates(sample_order(billTo={"name": 7})) is None
    assert party_candidates(sample_order(shipTo="Main St")) is None
    assert party_candidates(sample_order(customerEmail=3)) is None
    assert party_candidates("not an order") is None
    assert not party_known(sample_order(billTo={"name": "Ram"}), {"Shyam"})
    assert staged_party(sample_order(billTo={"name": 7})) is None  # staged as NULL: the step parses it

"""Orders mapped from their staged text (`prepare_texts`, what the helper process runs) are what the run's
own path makes of the same records: the same items, payloads written as `voucher_xml` would write them,
the same failures naming the same field, and each staged text decoded as json decodes it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.tally.xml_vouchers import voucher_xml
from pipelines.posting.poster import replay_text
from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from pipelines.shipstation_tally.posting import OrderMapping, _decoded, prepare_order, prepare_texts
from pipelines.sides.shipstation.reading import parse_orders
from pipelines.sides.tally.skus import SkuResolver
from state import staging
from tests.fuzz.strategies import hostile_orders, valid_order

MAPPING = OrderMapping(OrderVoucherConfig(), SkuResolver.build([("Widget Item", ["SKU-1"], "Nos")]),
                       frozenset({"Asha & Co <Retail>"}))


def staged_text(raw: object) -> str:
    """A record as staging writes it (`StagingStore.order_columns`'s encoder)."""
    return staging._RAW_JSON.encode(raw)


@settings(max_examples=300)
@given(st.lists(st.one_of(hostile_orders(), st.integers(1, 10**6).map(lambda n: valid_order(order_id=n))),
                min_size=1, max_size=5))
def test_an_order_prepared_from_its_text_is_what_the_run_would_make_of_it(records: list[dict]) -> None:
    texts = [staged_text(r) for r in records]
    from_text = prepare_texts(MAPPING, texts)
    here = [prepare_order(MAPPING, order, raw) for order, raw in parse_orders(json.loads(t) for t in texts)]
    assert len(from_text) == len(here) == len(records)
    for text, theirs, ours in zip(texts, from_text, here, strict=True):
        assert (theirs.source_id, theirs.number, theirs.total, theirs.failure) == \
               (ours.source_id, ours.number, ours.total, ours.failure)
        assert (theirs.key, theirs.digest, theirs.desired, theirs.modify, theirs.day, theirs.label) == \
               (ours.key, ours.digest, ours.desired, ours.modify, ours.day, ours.label)
        if ours.failure is None:
            assert theirs.raw == text and theirs.source is None  # the text crosses back, not the order
            assert (theirs.payload is None) == (ours.payload is None)
            if ours.payload is not None:
                assert voucher_xml(theirs.payload) == voucher_xml(ours.payload)
                assert theirs.payload.balance() == ours.payload.balance()
        else:
            assert replay_text(theirs.raw) == replay_text(ours.raw)  # kept for replay as the run keeps it (NaN too)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=20))
def test_a_staged_text_is_decoded_as_json_decodes_it(value: object) -> None:
    text = staged_text({"orderId": 1, "value": value})
    assert _decoded(text) == json.loads(text)

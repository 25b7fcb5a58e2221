"""A run with hostile orders among good ones: the run continues, every good order is sent once and whole,
every bad one is held in the ledger with its id and the field named, and nothing half-formed is sent.
A record without a usable orderId is held under a key made from its content (`no-id:<hex>`), so each is
kept apart in the ledger (pipelines.posting.keys.record_id).
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from connectors.tally import codec
from pipelines.posting.target import Created, Outcome
from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from pipelines.shipstation_tally.posting import FLOW, OrderVoucherPoster
from pipelines.sides.shipstation.reading import parse_orders
from state.ledger import SyncLedger
from tests.fuzz.strategies import hostile_orders, valid_order
from tests.fuzz.test_fuzz_orders import SKUS

PARTIES = {"Asha & Co <Retail>"}
_ids = itertools.count(5000)


@dataclass
class XmlTally:
    """Receives each batch as the import XML Tally would get, and keeps only what parses back whole."""

    name: str = "tally"
    not_delivered: tuple = ()
    outcome_unknown: tuple = ()
    vouchers: dict[str, str] = field(default_factory=dict)  # external key -> party sent

    def check(self, item) -> str | None:
        return None

    def find(self, pending):
        return {}

    def create(self, items):
        xml = codec.build_voucher_import("Demo", [item.payload for item in items])
        root = codec.parse_xml(codec.decode_response(codec.encode_request(xml), codec.content_type()))
        sent = root.findall(".//VOUCHER")
        assert len(sent) == len(items)
        out = Created()
        for item, voucher in zip(items, sent, strict=True):
            assert item.key not in self.vouchers, f"{item.key} posted twice"
            self.vouchers[item.key] = voucher.findtext("PARTYLEDGERNAME")
            out.landed[item.key] = str(len(self.vouchers))
        return out

    def alter(self, item, target_id):
        return Outcome()

    def cancel(self, item, target_id):
        return Outcome()

    def settle(self):
        return Created()


def with_unique_id(raw: dict) -> dict:
    """Each hostile record under its own orderId where it still has a usable one (ids collide otherwise)."""
    return {**raw, "orderId": next(_ids)} if isinstance(raw.get("orderId"), int) else raw


@given(st.lists(hostile_orders(), min_size=1, max_size=6), st.integers(1, 4))
def test_hostile_orders_are_held_and_the_good_ones_posted_once(hostile: list[dict], good_count: int) -> None:
    good = [valid_order(order_id=next(_ids)) for _ in range(good_count)]
    raws = [with_unique_id(r) for r in hostile] + good
    with tempfile.TemporaryDirectory() as home:
        ledger = SyncLedger(Path(home) / "ledger.sqlite3")
        tally = XmlTally()
        poster = OrderVoucherPoster(tally, ledger, OrderVoucherConfig(), SKUS, PARTIES, "fuzz-run", batch_size=3)
        report = poster.post(parse_orders(raws))
        for raw in good:
            assert f"ss-order-{raw['orderId']}" in tally.vouchers
        failed = ledger.entries(FLOW, "failed")
        # Every failure the run reported is in the ledger, each under its own key (a record with no usable
        # orderId under a digest of its content: only identical records share one).
        assert {f["order_id"] for f in report.failures} == {e.source_id for e in failed}
        assert "" not in {e.source_id for e in failed}
        for entry in failed:
            assert entry.source_payload, entry  # kept for replay
            assert entry.last_error and ":" in entry.last_error, entry  # names the record and the field
        assert report.created == len(tally.vouchers)
        ledger.close()

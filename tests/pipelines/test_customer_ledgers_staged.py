"""The customer-ledger step asks the staging store for orders whose party Tally lacks: every party still
gets its ledger, only those orders are decoded, and orders staged without a party (an earlier version's
staging file) are decoded and get theirs too."""

from __future__ import annotations

import duckdb
import httpx

from connectors.common.errors import RecordError
from connectors.shipstation.models import Order
from pipelines.shipstation_tally import assets
from pipelines.shipstation_tally.mapping import customer_ledger_name
from pipelines.sides.errors import MappingError
from state.staging import StagingStore

LEDGERS = "tally/customer_ledgers"


def tally_ledgers(env) -> set[str]:
    masters = httpx.get(f"{env.sandbox.tally.base_url}/__sandbox/masters", timeout=30).json()["LEDGER"]
    return {m["name"] for m in masters}


def parties_needed(env, run_id: str) -> set[str]:
    """The party ledgers of the run's staged orders that parse and are not cancelled (the others fail at
    posting), every order read back and parsed whole."""
    needed = set()
    for chunk in StagingStore(env.home / "staging.duckdb").iter_staged_orders(run_id):
        for raw in chunk:
            try:
                order = Order.from_raw(raw)
                if order.order_status != "cancelled":
                    needed.add(customer_ledger_name(order))
            except (RecordError, MappingError):
                continue
    return needed


def ledgerless_orders(env, run_id: str) -> int:
    """How many of the run's staged orders need no party ledger: cancelled, unparsable or without a name."""
    count = 0
    for chunk in StagingStore(env.home / "staging.duckdb").iter_staged_orders(run_id):
        for raw in chunk:
            try:
                order = Order.from_raw(raw)
                count += order.order_status == "cancelled" or not customer_ledger_name(order)
            except (RecordError, MappingError):
                count += 1
    return count


def decoded_counter(monkeypatch) -> list[int]:
    """Counts the orders the step has decoded from the staging store."""
    decoded = [0]
    real = StagingStore.iter_staged_orders_of_unknown_party

    def counted(self, *args, **kwargs):
        for chunk in real(self, *args, **kwargs):
            decoded[0] += len(chunk)
            yield chunk

    monkeypatch.setattr(StagingStore, "iter_staged_orders_of_unknown_party", counted)
    return decoded


def test_every_party_tally_lacks_gets_its_ledger_and_known_parties_are_not_decoded(env, monkeypatch):
    decoded = decoded_counter(monkeypatch)
    before = tally_ledgers(env)
    summary = env.run()
    assert summary.success, summary.error
    needed = parties_needed(env, summary.run_id)
    assert len(needed - before) > 1 and needed & before  # some customers had a ledger already, most not
    assert summary.metric(LEDGERS, "ledgers_created") == len(needed - before) and needed <= tally_ledgers(env)
    orders = summary.metric("shipstation/orders", "orders_read")
    assert 0 < decoded[0] < orders  # orders of parties known or created earlier in the run were not decoded
    decoded[0] = 0
    again = env.run()
    assert again.success and again.metric(LEDGERS, "ledgers_created") == 0
    # read again: only orders that need no ledger (cancelled, unparsable, nameless) may still lack one
    assert decoded[0] <= ledgerless_orders(env, again.run_id) < orders


def test_orders_staged_without_a_party_in_an_old_file_still_get_their_ledgers(env, monkeypatch):
    env.home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(env.home / "staging.duckdb")) as conn:  # the table as an earlier version made it
        conn.execute("""CREATE TABLE shipstation_orders_staged (
            run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR,
            order_status VARCHAR, modify_date TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""")
    monkeypatch.setattr(assets, "staged_party", lambda raw: None)  # no party staged: each order is decoded
    decoded = decoded_counter(monkeypatch)
    before = tally_ledgers(env)
    summary = env.run()
    assert summary.success, summary.error
    needed = parties_needed(env, summary.run_id)
    assert summary.metric(LEDGERS, "ledgers_created") == len(needed - before) > 1 and needed <= tally_ledgers(env)
    assert decoded[0] == summary.metric("shipstation/orders", "orders_read")

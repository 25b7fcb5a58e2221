"""Tally stock and prices -> Walmart, end to end: both simulators over HTTP, the Dagster assets, the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from connectors.tally.settings import TallySettings
from connectors.walmart.client import WalmartClient
from connectors.walmart.items import InventoryUpdate
from pipelines.walmart_tally.outbound import ASSETS, JOB, OUTBOUND_FLOWS, outbound_definitions, read_back
from pipelines.walmart_tally.outbound_push import INVENTORY_FLOW, PRICE_FLOW, TARGET, Change
from pipelines.walmart_tally.outbound_settings import WalmartOutboundConfig, WalmartOutboundSettings
from resources import StateResource, TallyResource
from sandbox.runner import ServedApp
from sandbox.walmart import WalmartState, create_app
from sandbox.walmart.catalog import Item
from sandbox.walmart.feeds import Feeds
from state.ledger import SyncLedger
from tests.unit.test_tally_stock_helpers import COMPANY, LEVEL, move_stock, running_tally, set_prices

CLIENT_ID, CLIENT_SECRET = "outbound-client", "outbound-secret"
N = 30
UNLISTED = "SKU-0007"  # in Tally, not in the Walmart catalogue


class WalmartTestResource(dg.ConfigurableResource):
    """The `walmart` resource the assets ask for: anything whose `client()` is a WalmartClient."""

    base_url: str

    def client(self) -> WalmartClient:
        return WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=self.base_url)


@dataclass
class Rig:
    tally_url: str
    walmart_url: str
    walmart: WalmartState
    home: Path

    def run(self, **config: Any) -> dg.ExecuteInProcessResult:
        outbound = WalmartOutboundConfig(**({"feed_poll_seconds": 0.2, "feed_wait_seconds": 30, "timezone": "UTC"}
                                            | config))
        resources = {"tally": TallyResource(url=self.tally_url, company=COMPANY),
                     "state": StateResource(home=str(self.home)),
                     "walmart": WalmartTestResource(base_url=self.walmart_url),
                     "walmart_outbound": outbound}
        return dg.materialize(ASSETS, resources=resources)

    def calls(self) -> dict[str, int]:
        stats = httpx.get(self.walmart_url + "/__sandbox/stats").json()
        httpx.post(self.walmart_url + "/__sandbox/reset-stats")
        return {k: v for k, v in stats["by_endpoint"].items() if not k.startswith(("POST /v3/token", "GET"))}

    def inventory(self) -> dict[str, int]:
        return {sku: sum(nodes.values()) for sku, nodes in httpx.get(self.walmart_url + "/__sandbox/inventory")
                .json().items()}

    def prices(self) -> dict[str, Decimal]:
        return {sku: Decimal(str(p)) for sku, p in httpx.get(self.walmart_url + "/__sandbox/prices").json().items()}

    def entry(self, flow: str, sku: str) -> Any:
        return SyncLedger(self.home / "ledger.sqlite3").outcomes(flow, TARGET, [sku])[sku]


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    state = WalmartState(feeds=Feeds(received_for=0.1, processing_for=0.2))
    for n in range(N):
        sku = f"SKU-{n:04d}"
        if sku != UNLISTED:
            state.items[sku] = Item(sku, f"Chai {n}", Decimal("1.00"), f"{n:014d}", f"WP{n:06d}", "Tea", "Grocery")
    with ExitStack() as stack:
        tally = stack.enter_context(running_tally(N))
        walmart = stack.enter_context(ServedApp(create_app(state, credentials={CLIENT_ID: CLIENT_SECRET})))
        yield Rig(tally, walmart.base_url, state, tmp_path / "state")


def test_first_run_sets_every_listed_sku_and_records_the_refusal(rig: Rig) -> None:
    assert rig.run(stock_buffer=11).success
    inventory, prices = rig.inventory(), rig.prices()
    assert inventory["SKU-0000"] == 0 and inventory["SKU-0005"] == 4  # closing 10 / 15, 11 held back, never < 0
    assert prices["SKU-0005"] == Decimal("105.00")  # the standard selling price in force
    assert UNLISTED not in inventory
    refused = rig.entry(INVENTORY_FLOW, UNLISTED)
    assert refused.state == "failed" and f"SKU {UNLISTED} is not in your catalog" in refused.last_error
    assert rig.entry(PRICE_FLOW, UNLISTED).state == "failed"
    assert rig.entry(PRICE_FLOW, "SKU-0005").state == "posted"


def test_a_second_run_sends_nothing_but_the_refused_sku_again(rig: Rig) -> None:
    rig.run()
    rig.calls()
    assert rig.run().success
    assert rig.calls() == {"PUT /v3/inventory": 1, "PUT /v3/price": 1}  # the refused SKU, retried
    rig.walmart.items[UNLISTED] = Item(UNLISTED, "Chai 7", Decimal("1.00"), "7", "WP7", "Tea", "Grocery")
    assert rig.run().success
    assert rig.entry(INVENTORY_FLOW, UNLISTED).state == "posted" and rig.inventory()[UNLISTED] == 17
    rig.calls()
    rig.run()
    assert rig.calls() == {}


def test_only_changed_skus_are_sent(rig: Rig) -> None:
    rig.run()
    rig.calls()
    set_prices(rig.tally_url, "SKU-0003", ("20250401", "103.00/Nos"), ("20250601", "99.50/Nos"))
    move_stock(rig.tally_url, "SKU-0012", 5, inward=False)
    assert rig.run().success
    assert rig.calls() == {"PUT /v3/inventory": 2, "PUT /v3/price": 2}  # the change, and the refused SKU
    assert rig.prices()["SKU-0003"] == Decimal("99.50") and rig.inventory()["SKU-0012"] == 17


def test_above_the_threshold_feeds_are_sent_and_item_errors_recorded(rig: Rig) -> None:
    result = rig.run(feed_threshold=5, price_level=LEVEL)
    assert result.success
    calls = rig.calls()
    assert calls == {"POST /v3/feeds": 2}  # one inventory feed, one price feed; no single call
    assert rig.inventory()["SKU-0004"] == 14 and rig.prices()["SKU-0004"] == Decimal("6.50")
    refused = rig.entry(PRICE_FLOW, UNLISTED)
    assert refused.state == "failed" and "DATA_ERROR" in refused.last_error
    assert "not in your catalog" in refused.last_error
    meta = result.asset_materializations_for_node("walmart__inventory")[0].metadata
    assert meta["sent"].value == N - 1 and meta["failed"].value == 1


def test_a_system_error_in_a_feed_is_retried_next_cycle(rig: Rig) -> None:
    httpx.post(rig.walmart_url + "/__sandbox/feeds/fail-skus", json={"skus": ["SKU-0002"]})
    rig.run(feed_threshold=5)
    entry = rig.entry(INVENTORY_FLOW, "SKU-0002")
    assert entry.state == "failed" and "SYSTEM_ERROR" in entry.last_error
    httpx.post(rig.walmart_url + "/__sandbox/feeds/fail-skus", json={"skus": []})
    rig.calls()
    rig.run(feed_threshold=5)
    # SKU-0002 failed in both feeds, the unlisted SKU too: four retries, as single calls (below the threshold)
    assert rig.calls() == {"PUT /v3/inventory": 2, "PUT /v3/price": 2}
    assert rig.entry(INVENTORY_FLOW, "SKU-0002").state == rig.entry(PRICE_FLOW, "SKU-0002").state == "posted"


def test_definitions_schedule_hourly_by_default_and_name_the_flow() -> None:
    defs = outbound_definitions(WalmartOutboundSettings(), TallySettings())
    (schedule,) = defs.schedules
    assert schedule.cron_schedule == "0 * * * *" and schedule.job_name == JOB
    assert [j.name for j in defs.jobs] == [JOB] and OUTBOUND_FLOWS[0].name == "tally-stock-to-walmart"
    custom = outbound_definitions(WalmartOutboundSettings(walmart_stock_schedule="*/15 * * * *"), TallySettings())
    assert custom.schedules[0].cron_schedule == "*/15 * * * *"
    assert isinstance(defs.resources["walmart_outbound"], WalmartOutboundConfig)
    assert defs.jobs[0].tags == {"ml-connector/flow": "tally-stock-to-walmart"}
    assert {spec.group_name for a in ASSETS for spec in a.specs} == {"walmart_tally"}


def inventory_meta(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    meta = result.asset_materializations_for_node("walmart__inventory")[0].metadata
    return {key: value.value for key, value in meta.items()}


def test_a_feed_walmart_is_still_processing_is_not_sent_again_and_settles_later(rig: Rig) -> None:
    rig.walmart.feeds.received_for = rig.walmart.feeds.processing_for = 60  # Walmart takes its time
    first = inventory_meta(rig.run(feed_threshold=5, feed_wait_seconds=0))
    assert first["pending_in_feeds"] == N and first["sent"] == 0
    assert rig.entry(INVENTORY_FLOW, "SKU-0001").state == "pending"
    rig.calls()
    second = inventory_meta(rig.run(feed_threshold=5, feed_wait_seconds=0))
    assert second["pending_in_feeds"] == N and second["sent"] == 0 and second["resolved_after_crash"] == 0
    assert rig.calls() == {}  # nothing submitted again while Walmart works on it
    httpx.post(rig.walmart_url + "/__sandbox/feeds/process")
    third = inventory_meta(rig.run(feed_threshold=5))
    assert third["settled_from_earlier_feeds"] == N - 1 and third["sent"] == N - 1 and third["feeds"] == ""
    assert rig.entry(INVENTORY_FLOW, "SKU-0001").state == "posted" and rig.inventory()["SKU-0001"] == 11
    assert rig.calls() == {"PUT /v3/inventory": 1, "PUT /v3/price": 1}  # only the unlisted SKU, tried again
    assert "SKU SKU-0007 was not found" in rig.entry(INVENTORY_FLOW, UNLISTED).last_error


def test_a_feed_older_than_the_max_age_is_sent_again(rig: Rig) -> None:
    rig.walmart.feeds.received_for = rig.walmart.feeds.processing_for = 60
    rig.run(feed_threshold=5, feed_wait_seconds=0)
    rig.calls()
    again = inventory_meta(rig.run(feed_threshold=5, feed_wait_seconds=0, feed_max_age_hours=1e-9))
    assert again["resolved_after_crash"] == N and again["pending_in_feeds"] == N
    assert rig.calls() == {"POST /v3/feeds": 2}  # a new inventory feed and a new price feed


def test_listed_only_sends_nothing_walmart_does_not_list(rig: Rig) -> None:
    result = rig.run(listed_only=True)
    meta = result.asset_materializations_for_node("walmart__prices")[0].metadata
    assert meta["not_listed_on_walmart"].value == 1 and meta["failed"].value == 0 and meta["sent"].value == N - 1
    calls = rig.calls()
    assert calls["POST /v3/feeds"] == 2 and UNLISTED not in rig.inventory()
    rig.run(listed_only=True)
    assert rig.calls() == {}  # nothing changed, nothing refused: not one write


def test_the_read_back_check_passes_when_walmart_shows_what_was_sent(rig: Rig) -> None:
    result = rig.run()
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["read_back"].value == 10


class StaleWalmart:
    """Answers every inventory read with 3, whatever was sent."""

    def get_inventory(self, sku: str, ship_node: str | None = None) -> int:
        return 3


def test_the_read_back_names_each_sku_walmart_shows_otherwise() -> None:
    changes = [Change(InventoryUpdate(sku=s, quantity=q), s) for s, q in (("A", 3), ("B", 4))]
    assert read_back(StaleWalmart(), changes, ["A", "B"], None) == [  # type: ignore[arg-type]
        {"sku": "B", "sent": "4", "walmart": "3"}]

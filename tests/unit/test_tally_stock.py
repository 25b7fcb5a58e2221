"""Tally stock items by change: the simulator's rate lists, the connector's reads, the staged side."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.tally import TallyClient
from connectors.tally.stock_models import DatedRate, LevelRate, StockItemPrices
from connectors.tally.stock_xml import iter_stock_prices
from pipelines.sides.tally.stock import StockStage, read_changes, sellable
from state.staging import StagingStore
from tests.unit.test_tally_stock_helpers import (
    COMPANY,
    LEVEL,
    create_item,
    delete_item,
    move_stock,
    running_tally,
    set_prices,
)

TODAY = date(2026, 5, 1)


@pytest.fixture()
def tally() -> Iterator[str]:
    with running_tally(3) as url:
        yield url


@pytest.fixture()
def stage(tmp_path: Path) -> StockStage:
    return StockStage(StagingStore(tmp_path / "staging.duckdb"))


def client(url: str) -> TallyClient:
    return TallyClient(url, COMPANY, encoding="utf-8")


def exports(url: str) -> dict[str, int]:
    stats = httpx.get(url + "/__sandbox/stats").json()
    return {k.split(":")[-1]: v for k, v in stats.items() if k.startswith("export:")}


def staged(stage: StockStage) -> dict[str, StockItemPrices]:
    return {item.name: item for item in stage.items()}


# ---- values ---------------------------------------------------------------------------------

REPLY = """<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DATA><COLLECTION>
 <STOCKITEM NAME="Masala Chai 1 kg" RESERVEDNAME=""><GUID>g-1</GUID><MASTERID> 7</MASTERID><ALTERID> 441</ALTERID>
  <BASEUNITS>Nos</BASEUNITS><CLOSINGBALANCE TYPE="Quantity"> 12 Nos</CLOSINGBALANCE>
  <STANDARDPRICELIST.LIST><DATE>20250401</DATE><RATE>1,500.00/Nos</RATE></STANDARDPRICELIST.LIST>
  <STANDARDPRICELIST.LIST><DATE>20260401</DATE><RATE>1600.00/Nos</RATE></STANDARDPRICELIST.LIST>
  <STANDARDPRICELIST.LIST>      </STANDARDPRICELIST.LIST>
  <FULLPRICELIST.LIST><DATE>20260101</DATE><PRICELEVEL>Walmart US</PRICELEVEL>
   <PRICELEVELLIST.LIST><STARTINGFROM> 10 Nos</STARTINGFROM><RATE>18.00/Nos</RATE></PRICELEVELLIST.LIST>
   <PRICELEVELLIST.LIST><ENDINGAT> 10 Nos</ENDINGAT><RATE>20.00/Nos</RATE><DISCOUNT> 12.5</DISCOUNT>
   </PRICELEVELLIST.LIST>
  </FULLPRICELIST.LIST>
 </STOCKITEM></COLLECTION></DATA></BODY></ENVELOPE>"""


def test_rate_unit_suffix_is_parsed_to_decimal() -> None:
    (item,) = iter_stock_prices(REPLY)
    assert item.closing_qty == Decimal(12) and item.alter_id == 441
    assert item.standard_prices == [DatedRate(date=date(2025, 4, 1), rate=Decimal("1500.00"), unit="Nos"),
                                    DatedRate(date=date(2026, 4, 1), rate=Decimal("1600.00"), unit="Nos")]
    assert all(isinstance(r.rate, Decimal) for r in item.standard_prices)


def test_standard_price_in_force_is_the_latest_date_not_after_the_day() -> None:
    (item,) = iter_stock_prices(REPLY)
    assert item.standard_price_on(date(2025, 3, 31)) is None
    assert item.standard_price_on(date(2026, 3, 31)).rate == Decimal("1500.00")  # type: ignore[union-attr]
    assert item.standard_price_on(date(2026, 4, 1)).rate == Decimal("1600.00")  # type: ignore[union-attr]
    assert sellable(item, date(2026, 4, 2)).price == Decimal("1600.00")


def test_price_level_takes_the_lowest_slab_and_its_discount() -> None:
    (item,) = iter_stock_prices(REPLY)
    one = sellable(item, date(2026, 2, 1), LEVEL)
    assert one.price == Decimal("17.50") and one.price_from == date(2026, 1, 1)  # 20.00 less 12.5 %
    assert sellable(item, date(2025, 12, 31), LEVEL).price is None  # no entry of that level yet
    assert sellable(item, date(2026, 2, 1), "Retail").price is None


def test_a_newer_price_level_entry_replaces_the_older() -> None:
    item = StockItemPrices(name="X", price_levels=[
        LevelRate(date=date(2025, 4, 1), level=LEVEL, rate=Decimal("3.00")),
        LevelRate(date=date(2026, 4, 1), level=LEVEL, rate=Decimal("4.00")),
        LevelRate(date=date(2026, 4, 1), level="Retail", rate=Decimal("9.00"))])
    assert sellable(item, date(2026, 3, 1), LEVEL).price == Decimal("3.00")
    assert sellable(item, date(2026, 4, 1), LEVEL).price == Decimal("4.00")


# ---- the simulator keeps what Tally keeps ------------------------------------------------

def test_simulator_stores_and_exports_price_lists(tally: str) -> None:
    assert "<ALTERED>1</ALTERED>" in set_prices(tally, "SKU-0001", ("20250401", "150.00/Nos"),
                                                ("20260101", "160.00/Nos"),
                                                levels=(("20250401", LEVEL, "5.25/Nos"),))
    item = next(i for i in client(tally).stock_item_prices() if i.name == "SKU-0001")
    assert [(r.date, r.rate) for r in item.standard_prices] == [(date(2025, 4, 1), Decimal("150.00")),
                                                                (date(2026, 1, 1), Decimal("160.00"))]
    assert [(r.level, r.rate) for r in item.price_levels] == [(LEVEL, Decimal("5.25"))]
    shown = next(m for m in httpx.get(tally + "/__sandbox/masters").json()["STOCKITEM"] if m["name"] == "SKU-0001")
    assert shown["prices"]["STANDARDPRICELIST.LIST"][-1] == {"date": "2026-01-01", "rate": "160.00"}


@pytest.mark.parametrize(("prices", "error"), [
    ((("20250401", "150.00/Kgs"),), "not the base unit"),
    ((("1-Apr-2025", "150.00/Nos"),), "yyyymmdd"),
    ((("20250401", "150.00/Nos"), ("20250401", "151.00/Nos")), "two entries"),
])
def test_simulator_refuses_bad_price_lists(tally: str, prices: tuple[tuple[str, str], ...], error: str) -> None:
    reply = set_prices(tally, "SKU-0000", *prices)
    assert error in reply and "<ALTERED>0</ALTERED>" in reply


def test_simulator_refuses_an_unknown_price_level(tally: str) -> None:
    assert "Price Level 'Wholesale' does not exist" in set_prices(
        tally, "SKU-0000", levels=(("20250401", "Wholesale", "1.00/Nos"),))


def test_alteration_bumps_the_items_and_the_companys_alter_id(tally: str) -> None:
    before = client(tally).company().alt_mst_id
    set_prices(tally, "SKU-0002", ("20250401", "1.00/Nos"))
    after = client(tally).company().alt_mst_id
    (item,) = client(tally).stock_item_prices(alter_id_after=before)
    assert after == before + 1 and item.name == "SKU-0002" and item.alter_id == after  # type: ignore[operator]


# ---- incremental reads ----------------------------------------------------------------------

def test_first_read_stages_everything(tally: str, stage: StockStage) -> None:
    read = read_changes(client(tally), stage, TODAY)
    assert read.full and read.changed == ["SKU-0000", "SKU-0001", "SKU-0002"]
    assert {s.name: (s.quantity, s.price) for s in stage.sellable(TODAY)} == {
        "SKU-0000": (10, Decimal("100.00")), "SKU-0001": (11, Decimal("101.00")), "SKU-0002": (12, Decimal("102.00"))}
    assert {s.name: s.price for s in stage.sellable(TODAY, LEVEL)}["SKU-0001"] == Decimal("3.50")


def test_only_altered_items_are_read_again(tally: str, stage: StockStage) -> None:
    read_changes(client(tally), stage, TODAY)
    set_prices(tally, "SKU-0001", ("20250401", "101.00/Nos"), ("20260401", "120.00/Nos"))
    before = exports(tally)
    read = read_changes(client(tally), stage, TODAY)
    assert read.changed == ["SKU-0001"] and not read.deleted and not read.quantities_read
    assert staged(stage)["SKU-0001"].standard_price_on(TODAY).rate == Decimal("120.00")  # type: ignore[union-attr]
    after = exports(tally)
    assert after["MLStockPrices"] == before["MLStockPrices"] + 1
    assert after.get("MLStockQty", 0) == before.get("MLStockQty", 0)  # no quantity walk


def test_a_voucher_rereads_quantities_not_prices(tally: str, stage: StockStage) -> None:
    read_changes(client(tally), stage, TODAY)
    move_stock(tally, "SKU-0002", 3, inward=False)
    before = exports(tally)
    read = read_changes(client(tally), stage, TODAY)
    assert read.changed == [] and read.quantities_read and read.quantity_changed == ["SKU-0002"]
    assert staged(stage)["SKU-0002"].closing_qty == 9
    after = exports(tally)
    assert after["MLStockPrices"] == before["MLStockPrices"] and after["MLStockQty"] == before.get("MLStockQty", 0) + 1


def test_nothing_changed_costs_two_small_requests(tally: str, stage: StockStage) -> None:
    first = read_changes(client(tally), stage, TODAY)
    read = read_changes(client(tally), stage, TODAY, now=first.cursor.quantities_read_at + timedelta(minutes=5))
    assert (read.changed, read.deleted, read.quantities_read, read.requests) == ([], [], False, 2)


def test_a_deleted_item_is_noticed_though_no_alter_id_moves(tally: str, stage: StockStage) -> None:
    read_changes(client(tally), stage, TODAY)
    before = client(tally).company().alt_mst_id
    assert "<DELETED>1</DELETED>" in delete_item(tally, "SKU-0000")
    assert client(tally).company().alt_mst_id == before
    read = read_changes(client(tally), stage, TODAY)
    assert read.deleted == ["SKU-0000"] and "SKU-0000" not in staged(stage)


def test_a_new_item_is_read_with_its_quantity(tally: str, stage: StockStage) -> None:
    read_changes(client(tally), stage, TODAY)
    create_item(tally, "SKU-NEW", "9.99/Nos")
    read = read_changes(client(tally), stage, TODAY)
    assert read.changed == ["SKU-NEW"]
    assert sellable(staged(stage)["SKU-NEW"], TODAY).quantity == 4


def test_stale_quantities_are_read_again(tally: str, stage: StockStage) -> None:
    first = read_changes(client(tally), stage, TODAY, refresh_after=timedelta(hours=1))
    later = first.cursor.quantities_read_at + timedelta(hours=2)
    assert read_changes(client(tally), stage, TODAY, refresh_after=timedelta(hours=1), now=later).quantities_read


def test_the_cursor_survives_a_new_process(tally: str, tmp_path: Path) -> None:
    path = tmp_path / "staging.duckdb"
    first = read_changes(client(tally), StockStage(StagingStore(path)), TODAY)
    again = StockStage(StagingStore(path))
    assert again.cursor() == first.cursor
    assert not read_changes(client(tally), again, TODAY, now=datetime.now(UTC)).full


@given(st.lists(st.tuples(st.dates(date(2024, 1, 1), date(2027, 12, 31)),
                          st.decimals(min_value=0, max_value=10_000, places=2)), unique_by=lambda r: r[0]),
       st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_property_the_rate_in_force_is_never_a_future_one_and_none_later_applies(
        entries: list[tuple[date, Decimal]], day: date) -> None:
    item = StockItemPrices(name="X", standard_prices=[DatedRate(date=d, rate=r) for d, r in entries])
    found = item.standard_price_on(day)
    started = [d for d, _ in entries if d <= day]
    if not started:
        assert found is None
    else:
        assert found is not None and found.date == max(started) and found.rate == dict(entries)[found.date]


def test_awkward_names_survive_every_read(tally: str, stage: StockStage) -> None:
    name = "Masala Chai <Gold> & मसाला 250g"
    assert "<CREATED>1</CREATED>" in create_item(tally, escape(name), "5.00/Nos")
    read_changes(client(tally), stage, TODAY)
    move_stock(tally, escape(name), 1, inward=False)
    read = read_changes(TallyClient(tally, COMPANY), stage, TODAY)  # UTF-16 this time, as Tally is usually asked
    assert read.quantity_changed == [name] and staged(stage)[name].closing_qty == 3
    assert sellable(staged(stage)[name], TODAY).price == Decimal("5.00")

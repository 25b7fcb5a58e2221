"""The pure planning of Tally stock -> Walmart offers: SKU map, safety buffer, ambiguous SKUs, missing prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sides.tally.stock import Sellable
from pipelines.walmart_tally.outbound_plan import plan_offers, read_walmart_sku_map, sellable_units
from pipelines.walmart_tally.outbound_settings import WalmartOutboundSettings


def item(name: str, qty: str | None = "10", price: str | None = "5.00") -> Sellable:
    return Sellable(name, None if qty is None else Decimal(qty), None if price is None else Decimal(price), "Nos")


@pytest.mark.parametrize(("closing", "buffer", "units"), [
    ("10", 0, 10), ("10", 3, 7), ("2", 3, 0), ("-4", 0, 0), ("-4", 2, 0), ("5.5", 0, 5), ("5.5", 2, 3), (None, 1, 0),
])
def test_buffer_holds_back_units_and_never_goes_below_zero(closing: str | None, buffer: int, units: int) -> None:
    assert sellable_units(None if closing is None else Decimal(closing), buffer)[0] == units


def test_a_negative_or_fractional_closing_balance_says_why() -> None:
    assert "-4" in sellable_units(Decimal(-4), 0)[1]
    assert "whole units" in sellable_units(Decimal("5.5"), 0)[1]
    assert "3 held back" in sellable_units(Decimal(10), 3)[1]


def test_sku_map_renames_and_splits_and_unmapped_items_keep_their_name(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("stock_item,sku\nMasala Chai 1 kg,WM-CHAI-1\nMasala Chai 1 kg,WM-CHAI-1-B\n\n", encoding="utf-8")
    sku_map = read_walmart_sku_map(path)
    plan = plan_offers([item("Masala Chai 1 kg"), item("Green Tea")], sku_map, buffer=1)
    assert {(o.sku, o.stock_item, o.quantity) for o in plan.offers} == {
        ("WM-CHAI-1", "Masala Chai 1 kg", 9), ("WM-CHAI-1-B", "Masala Chai 1 kg", 9), ("Green Tea", "Green Tea", 9)}
    only = plan_offers([item("Masala Chai 1 kg"), item("Green Tea")], sku_map, only_mapped=True)
    assert sorted(o.sku for o in only.offers) == ["WM-CHAI-1", "WM-CHAI-1-B"]


def test_a_bad_sku_map_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("stock_item,sku\nGreen Tea\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_walmart_sku_map(path)


def test_two_items_on_one_sku_send_neither() -> None:
    plan = plan_offers([item("A"), item("B")], {"A": ["X"], "B": ["X"]})
    assert plan.offers == [] and [(e.record, e.field) for e in plan.errors] == [("X", "stock_item")]


def test_no_price_in_force_is_an_error_for_the_price_only() -> None:
    plan = plan_offers([item("A", price=None)], {})
    assert [(o.sku, o.quantity, o.price) for o in plan.offers] == [("A", 10, None)]
    assert [(e.record, e.field) for e in plan.errors] == [("A", "price")]


def test_settings_read_the_environment_names() -> None:
    settings = WalmartOutboundSettings.model_validate({
        "walmart_sku_map": "", "walmart_stock_buffer": "2", "walmart_feed_threshold": "100",
        "tally_walmart_price_level": "Walmart US"})
    assert (settings.walmart_sku_map, settings.walmart_stock_buffer, settings.walmart_feed_threshold,
            settings.walmart_stock_schedule) == (None, 2, 100, "0 * * * *")
    with pytest.raises(ValueError):
        WalmartOutboundSettings(walmart_stock_schedule="hourly")
    with pytest.raises(ValueError):
        WalmartOutboundSettings(walmart_stock_buffer=-1)


def test_listed_only_leaves_out_what_walmart_does_not_list_and_reports_the_reverse() -> None:
    plan = plan_offers([item("A"), item("B"), item("C", price=None)], {}, listed={"A", "C", "Z"})
    assert [o.sku for o in plan.offers] == ["A", "C"] and plan.not_listed == 1 and plan.unmatched == ["Z"]
    assert [(e.record, e.field) for e in plan.errors] == [("C", "price")]


@given(st.decimals(min_value=-1000, max_value=100_000, places=3) | st.none(), st.integers(0, 500))
def test_property_units_are_whole_never_negative_and_never_more_than_tally_less_the_buffer(
        closing: Decimal | None, buffer: int) -> None:
    units, _ = sellable_units(closing, buffer)
    assert units >= 0 and isinstance(units, int)
    assert units <= max(0, (closing or 0) - buffer)

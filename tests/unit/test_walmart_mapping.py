"""Pure mappings of Walmart orders and returns to Tally vouchers (no I/O): lines, charges, parties, ship nodes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.walmart.models import Order, ReturnOrder
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.skus import SkuResolver
from pipelines.walmart_tally.mapping import (
    SalesConfig,
    ShipNodeRoute,
    order_to_sales,
    party_for,
    party_group,
    read_ship_node_map,
    return_to_credit_notes,
)
from pipelines.walmart_tally.posting import SalesPoster
from state.ledger import SyncLedger
from tests.unit.test_walmart_fakes import line_json, order_json, return_json

SKUS = SkuResolver.build([("Widget A", ["WM-A"], "Nos"), ("WM-B", [], "Nos")], {"WM-C": "Widget A"})
CFG = SalesConfig(timezone="UTC", ship_nodes={"NODE-NJ": ShipNodeRoute("NJ Warehouse", "Walmart NJ Customers")})


def order(*lines: dict, node: str = "NODE-NJ", customer: str = "Ana Díaz & Co") -> Order:
    return Order.from_raw(order_json("PO-9", list(lines), node=node, customer=customer))


def amounts(voucher) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for entry in voucher.ledger_entries:
        out[entry.ledger_name] = out.get(entry.ledger_name, Decimal(0)) + entry.amount
    for item in voucher.inventory_entries:
        out[item.stock_item] = out.get(item.stock_item, Decimal(0)) + item.amount
    return out


def test_item_shipping_and_tax_lines_to_the_cent() -> None:
    voucher = order_to_sales(order(line_json("1", "WM-A", 3, "10.00", tax="0.67", shipping="4.99", ship_tax="0.33"),
                                   line_json("2", "WM-B", 1, "0.99", tax="0.07")), "Ana Díaz & Co", SKUS, CFG)
    assert amounts(voucher) == {"Ana Díaz & Co": Decimal("-17.05"), "Widget A": Decimal("10.00"),
                                "WM-B": Decimal("0.99"), "Shipping Charges": Decimal("4.99"),
                                "Output Tax": Decimal("1.07")}
    assert voucher.balance() == 0 and voucher.voucher_number == "PO-9" and voucher.date == date(2024, 5, 29)
    widget = voucher.inventory_entries[0]
    assert widget.quantity == 3 and widget.amount == Decimal("10.00")
    assert "[ext:wm-po-PO-9]" in voucher.narration
    party = voucher.ledger_entries[0]
    assert party.bill_allocations[0].name == "PO-9" and party.bill_allocations[0].bill_type == "New Ref"


def test_the_ship_node_picks_the_cost_centre_of_income_lines_and_the_ledger_group() -> None:
    mapped = order(line_json("1", "WM-A", 1, "10.00", shipping="2.00"))
    voucher = order_to_sales(mapped, "x", SKUS, CFG)
    assert voucher.inventory_entries[0].cost_centre == "NJ Warehouse"
    assert {e.ledger_name: e.cost_centre for e in voucher.ledger_entries}["Shipping Charges"] == "NJ Warehouse"
    assert party_group(mapped, CFG) == "Walmart NJ Customers"
    other = order(line_json("1", "WM-A", 1, "10.00"), node="NODE-CA")
    assert order_to_sales(other, "x", SKUS, CFG).inventory_entries[0].cost_centre is None
    assert party_group(other, CFG) == "Sundry Debtors"


def test_cancelled_lines_are_not_invoiced_and_a_fully_cancelled_order_cancels() -> None:
    voucher = order_to_sales(order(line_json("1", "WM-A", 1, "10.00", tax="1.00"),
                                   line_json("2", "WM-B", 2, "5.00", tax="0.50", status="Cancelled")), "p", SKUS, CFG)
    assert [i.stock_item for i in voucher.inventory_entries] == ["Widget A"]
    assert amounts(voucher)["p"] == Decimal("-11.00")
    assert order_to_sales(order(line_json("1", "WM-A", 1, "10.00", status="Cancelled")), "p", SKUS, CFG) is None


def test_party_by_mode() -> None:
    mapped = order(line_json("1", "WM-A", 1, "1.00"), customer="  Ana   Díaz ")
    assert party_for(mapped, CFG) == "Ana Díaz"
    assert party_for(mapped, SalesConfig(party_mode="marketplace")) == "Walmart Marketplace"


def test_an_unknown_sku_names_the_record_and_field() -> None:
    with pytest.raises(MappingError) as raised:
        order_to_sales(order(line_json("1", "NOPE", 1, "1.00")), "p", SKUS, CFG)
    assert raised.value.record == "Walmart PO PO-9" and raised.value.field == "orderLines[1].item.sku"


@given(st.integers(1, 7), st.integers(1, 99_999))
def test_any_line_amount_and_quantity_nets_to_zero_to_the_cent(quantity: int, cents: int) -> None:
    price = f"{Decimal(cents) / 100:.2f}"
    voucher = order_to_sales(order(line_json("1", "WM-A", quantity, price)), "p", SKUS, CFG)
    assert voucher.inventory_entries[0].amount == Decimal(price) and voucher.balance() == 0


def test_a_refunded_return_becomes_a_credit_note_against_the_sale() -> None:
    ret = ReturnOrder.from_raw(return_json("R-1", "PO-9", "1", "WM-C", 2, "20.00", "1.40"))
    notes = return_to_credit_notes(ret, {"PO-9": ("Ana", date(2024, 5, 29))}, SKUS, CFG)
    note = notes["PO-9"]
    assert amounts(note) == {"Ana": Decimal("21.40"), "Widget A": Decimal("-20.00"), "Output Tax": Decimal("-1.40")}
    assert note.ledger_entries[0].bill_allocations[0].name == "PO-9" and "[ext:wm-rma-R-1-PO-9]" in note.narration
    with pytest.raises(MappingError, match="no Sales voucher"):
        return_to_credit_notes(ret, {}, SKUS, CFG)


def test_ship_node_map_csv(tmp_path: Path) -> None:
    path = tmp_path / "nodes.csv"
    path.write_text("ship_node,cost_centre,ledger_group\n10001,NJ,Walmart NJ\n10002,,Walmart CA\n\n")
    assert read_ship_node_map(path) == {"10001": ShipNodeRoute("NJ", "Walmart NJ"),
                                        "10002": ShipNodeRoute(None, "Walmart CA")}
    path.write_text("10003,,\n")
    with pytest.raises(ValueError, match="line 1"):
        read_ship_node_map(path)


def test_an_amount_beyond_decimal_range_fails_only_its_record(tmp_path: Path) -> None:
    class NoTarget:
        name, not_delivered, outcome_unknown = "tally", (), ()

    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    poster = SalesPoster(NoTarget(), ledger, CFG, SKUS, {"Ana Díaz & Co"}, "run-1")
    raw = order_json("PO-X", [line_json("1", "WM-A", 1, "1E+40")])
    assert poster.prepare(raw) is None
    (entry,) = ledger.entries("walmart_tally.sales", "failed")
    assert entry.source_id == "PO-X" and "chargeAmount.amount" in (entry.last_error or "")
    assert "out of range" in (entry.last_error or "")

"""Reconciliation files: both layouts told apart by the header, streamed out of the ZIP, exact amounts."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from connectors.common.errors import RecordError
from connectors.walmart.reports import ReconReport
from tests.unit.test_walmart_fakes import FakeWalmart, client_for, legacy_csv, v1_csv, zipped

V1 = [("Sale", "Product Price", "19.99", "P1", "1", "SKU-1"),
      ("Sale", "Product tax", "1.60", "P1", "1", "SKU-1"),
      ("Sale", "Commission on Product", "-3.00", "P1", "1", "SKU-1"),
      ("Adjustment", "Lost item", "5.05", "", "", "")]


def test_v1_long_layout_with_preamble_in_a_zip() -> None:
    report = ReconReport(io.BytesIO(zipped(v1_csv(V1, preamble=3))), name="06102024")
    lines = list(report.lines())
    assert report.layout == "v1"
    assert [(x.transaction_type, x.amount_type, x.amount) for x in lines] == [
        (k, t, Decimal(a)) for k, t, a, *_ in V1]
    assert lines[0].purchase_order_id == "P1" and lines[0].posted == date(2024, 6, 1)
    assert report.summary.total_payable == Decimal("23.64") == report.summary.line_total
    assert report.summary.period_start == date(2024, 5, 27) and report.summary.lines == 4


def test_legacy_wide_layout_explodes_columns_and_keeps_unexplained_payable() -> None:
    rows = [{"Walmart.com PO #": "P1", "Walmart.com P.O. Line #": "1", "Transaction Type": "SALE",
             "Transaction Date Time": "06/01/2024", "Partner Item ID": "SKU-1", "Partner GTIN": '="0001"',
             "Gross Sales Revenue": "19.99", "Gross Shipping Revenue": "4.99", "Total NET Tax Collected": "2.00",
             "Tax Withheld": "-2.00", "Commission from Sale": "-3.00", "Payable to Partner from Sale": "21.98"},
            {"Walmart.com PO #": "", "Transaction Type": "ADJMNT", "Adjustment Description": "Lost item",
             "Payable to Partner from Sale": "5.05"}]
    report = ReconReport(io.BytesIO(zipped(legacy_csv(rows))))
    lines = list(report.lines())
    assert report.layout == "legacy"
    assert [(x.amount_type, x.amount) for x in lines if x.purchase_order_id == "P1"] == [
        ("Gross Sales Revenue", Decimal("19.99")), ("Gross Shipping Revenue", Decimal("4.99")),
        ("Total NET Tax Collected", Decimal("2.00")), ("Tax Withheld", Decimal("-2.00")),
        ("Commission from Sale", Decimal("-3.00"))]
    (adjustment,) = [x for x in lines if x.transaction_type == "ADJMNT"]
    assert adjustment.amount_type == "Payable to Partner from Sale" and adjustment.amount == Decimal("5.05")
    assert report.summary.total_payable == Decimal("27.03") == report.summary.line_total


def test_a_bare_csv_and_a_bad_amount_naming_row_and_column() -> None:
    bad = v1_csv([("Sale", "Product Price", "12.x", "P1", "1", "S")], total="12.00")
    report = ReconReport(io.BytesIO(bad), name="06102024")
    with pytest.raises(RecordError) as raised:
        list(report.lines())
    assert raised.value.field == "Amount" and "row 2" in str(raised.value)


def test_an_unknown_header_is_refused() -> None:
    with pytest.raises(RecordError, match="header"):
        ReconReport(io.BytesIO(b"a,b,c\n1,2,3\n"))


def test_download_streams_the_file_for_a_date() -> None:
    server = FakeWalmart()
    server.files[("v1", "06102024")] = zipped(v1_csv(V1))
    client = client_for(server)
    assert client.available_recon_dates("v1") == ["06102024"]
    buffer = io.BytesIO()
    name = client.download_recon_file("06102024", buffer, version="v1")
    assert name == "10000001_06102024.zip" and server.requests[-1].headers["Accept"] == "application/octet-stream"
    assert ReconReport(buffer).layout == "v1"

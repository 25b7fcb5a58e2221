"""The month-end report: HTML page, CSV and .xlsx rendered from hand-built data."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import duckdb
import markupsafe
import openpyxl
import pandas as pd
import pytest

from ml_connector.cli import main
from pipelines.reconciliation.report import EXCEPTION_COLUMNS, PairReport, ReportData, StockDrift, write_report
from pipelines.reconciliation.report_html import number_text, percent, rupees
from pipelines.reconciliation.tables import ddl
from pipelines.shipstation_tally.recon import PAIR, rule_pack
from pipelines.shipstation_tally.recon.tables import CATEGORIES, NOTICES

# Hand-built report data, also used by the browser test.
GENERATED = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
NASTY_CUSTOMER = 'Sharma & Sons <Pvt> "Ltd" \'s — शर्मा एंड संस'
PACK = rule_pack()
LABEL = "ShipStation ↔ TallyPrime"
PAIR_KEYS = ("totals", "match_rate", "stock_drift", "per_category")


def exception_rows(n: int | None = None) -> list[dict]:
    """One row per exception category (the first naming a nasty customer), or `n` rows cycling through them."""
    names = [name for name in CATEGORIES if name not in NOTICES]
    total = len(names) if n is None else n
    rows = []
    for i in range(total):
        category = names[i % len(names)]
        owner = CATEGORIES[category][0]
        source, target = Decimal("1234.5") + i, Decimal("1200.25") + i
        rows.append({
            "day": date(2026, 3, 1 + i % 31), "pair": PAIR, "category": category, "owner": owner,
            "order_number": f"SO-{1000 + i}", "source_system": "shipstation", "source_id": str(50_000 + i),
            "target_system": "tally", "target_id": str(900 + i) if i % 3 else None,
            "source_amount": source, "target_amount": target, "difference": target - source,
            "reason": f"voucher party {NASTY_CUSTOMER} is not the order's customer" if i == 0
            else f"{CATEGORIES[category][1]} (row {i})",
            "explained": i % 4 == 3, "explanation": "credit note raised by hand" if i % 4 == 3 else None,
            "detected_at": datetime(2026, 3, 1 + i % 31, 23, 0, tzinfo=UTC),
        })
    return rows


def report_data(rows: list[dict] | None = None, **overrides) -> ReportData:
    """The month of `rows` for the ShipStation ↔ TallyPrime pair; `overrides` may name the pair's fields too."""
    rows = exception_rows() if rows is None else rows
    frame = pd.DataFrame(rows, columns=list(EXCEPTION_COLUMNS))
    pair = dict(
        totals={"orders": 1250, "order_total": Decimal("1234567.5"), "vouchers": 1248,
                "voucher_amount": Decimal("1230000.25"), "shipments": 1190, "delivery_notes": 1187, "matched": 1233},
        match_rate=Decimal(1233) / Decimal(1250), per_category=dict(Counter(r["category"] for r in rows)),
        stock_drift=[StockDrift("SKU-A", "Widget A", Decimal("10"), Decimal("7")),
                     StockDrift("SKU-<B>", "Widget & B", Decimal("3"), Decimal("5.5")),
                     StockDrift("SKU-C", None, None, Decimal("2"))])
    pair |= {k: overrides.pop(k) for k in PAIR_KEYS if k in overrides}
    values = dict(
        month="2026-03", generated_at=GENERATED, company="Mehta & Lal <Traders>", pairs=[PairReport.of(PACK, **pair)],
        per_day={date(2026, 3, d): 0 for d in range(1, 32)} | dict(Counter(r["day"] for r in rows)),
        exceptions=frame, days_reconciled=31)
    return ReportData(**(values | overrides))


class _Cells(HTMLParser):
    """The text of each exception-table row, as a browser would show it."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "exception-table") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def table_rows(page: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(page)
    return parser.rows[1:]  # without the header


def test_the_page_shows_both_sides_the_match_rate_and_the_month(tmp_path):
    page = write_report(report_data(), tmp_path).html.read_text(encoding="utf-8")
    for text in ("March 2026", "Mehta &amp; Lal &lt;Traders&gt;", "₹1,234,567.50", "₹1,230,000.25", "-₹4,567.25",
                 "<td>1,250</td><td>1,248</td><td>-2</td>", "<td>1,190</td><td>1,187</td><td>-3</td>",
                 "98.6%", "1,233 of 1,250 orders matched", "31 of 31 days reconciled", "13 unexplained"):
        assert text in page


def test_every_category_has_its_bar_and_its_row(tmp_path):
    page = write_report(report_data(), tmp_path).html.read_text(encoding="utf-8")
    rows = table_rows(page)
    assert sorted(r[2] for r in rows) == sorted(set(CATEGORIES) - set(NOTICES))
    for name, (owner, _) in CATEGORIES.items():
        if name in NOTICES:
            continue
        assert f'class="lbl end">{name}</text>' in page  # the per-category chart
        assert [r[3] for r in rows if r[2] == name] == [owner]
    assert rows[0][:7] == ["2026-03-01", LABEL, "order_without_voucher", "finance", "SO-1000", "shipstation 50000",
                           "tally"]
    assert rows[0][7:10] == ["1,234.50", "1,200.25", "-34.25"] and rows[0][11] == "no"
    assert rows[3][11] == "yes: credit note raised by hand"


def test_every_value_is_escaped_and_devanagari_survives(tmp_path):
    page = write_report(report_data(), tmp_path).html.read_text(encoding="utf-8")
    assert str(markupsafe.escape(NASTY_CUSTOMER)) in page
    assert "<Pvt>" not in page and "<Traders>" not in page and "SKU-<B>" not in page and "Widget & B" not in page
    assert "शर्मा एंड संस" in page
    assert NASTY_CUSTOMER in table_rows(page)[0][10]  # the parsed cell reads exactly as the name


def test_the_page_is_self_contained(tmp_path):
    page = write_report(report_data(), tmp_path).html.read_text(encoding="utf-8")
    assert not re.search(r"https?:|\bsrc=|\bhref=|<link|@import|url\(", page)
    assert page.count("<svg") == 3 and '<meta charset="utf-8">' in page
    assert '<div id="filters" hidden>' in page  # the filter box appears only where the script runs


def test_an_empty_month_says_so_in_each_file(tmp_path):
    data = report_data([], totals={"orders": 0, "order_total": Decimal(0), "vouchers": 0,
                                   "voucher_amount": Decimal(0), "shipments": 0, "delivery_notes": 0, "matched": 0},
                       match_rate=None, stock_drift=[], company="")
    files = write_report(data, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert "No exceptions in March 2026." in page and "No stock drift" in page
    assert "<title>Reconciliation · March 2026</title>" in page and "—" in page  # no rate without orders
    assert files.csv.read_bytes() == b"\xef\xbb\xbf" + ",".join(EXCEPTION_COLUMNS).encode() + b"\r\n"
    sheet = openpyxl.load_workbook(files.xlsx)["Exceptions"]
    assert sheet.max_row == 1


def test_amounts_and_rates_are_formatted_plainly():
    assert number_text(Decimal("1250.5")) == "1250.50"
    assert number_text(Decimal("1250.5000"), grouping=True) == "1,250.50"
    assert number_text(Decimal("0.1234")) == "0.1234"
    assert number_text(Decimal("1E+3")) == "1000.00"
    assert number_text(0.1) == "0.10" and number_text(float("nan")) == "" and number_text(None) == ""
    assert rupees(Decimal("-1234567.456")) == "-₹1,234,567.46" and rupees(None) == "—"
    assert percent(Decimal("0.99996")) == "99.9%" and percent(1) == "100.0%" and percent(0.985) == "98.5%"


def test_csv_has_a_bom_every_row_and_plain_numbers(tmp_path):
    files = write_report(report_data(exception_rows(40)), tmp_path)
    raw = files.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == list(EXCEPTION_COLUMNS) and len(rows) == 40
    first = rows[0]
    assert first["day"] == "2026-03-01" and first["category"] == "order_without_voucher"
    assert (first["source_amount"], first["target_amount"], first["difference"]) == ("1234.50", "1200.25", "-34.25")
    assert first["reason"] == f"voucher party {NASTY_CUSTOMER} is not the order's customer"
    assert first["explained"] == "false" and first["target_id"] == "" and first["detected_at"].endswith("+00:00")
    assert all(re.fullmatch(r"-?\d+\.\d{2,4}", r["source_amount"]) for r in rows)


def test_xlsx_has_a_frozen_filtered_header_numeric_amounts_and_totals(tmp_path):
    files = write_report(report_data(exception_rows(40)), tmp_path)
    book = openpyxl.load_workbook(files.xlsx)
    assert book.sheetnames == ["Exceptions", "Totals"]
    sheet = book["Exceptions"]
    assert [c.value for c in sheet[1]][:15] == list(EXCEPTION_COLUMNS[:15]) and sheet["A1"].font.b
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:P41" and sheet.max_row == 41
    assert sheet["B2"].value == PAIR
    day, amount, explained, seen = sheet["A2"], sheet["J2"], sheet["N2"], sheet["P2"]
    assert day.value == datetime(2026, 3, 1) and day.number_format == "yyyy-mm-dd"
    assert amount.value == 1234.5 and amount.data_type == "n" and amount.number_format == "#,##0.00"
    assert sheet["L2"].value == -34.25 and explained.value is False
    assert {(m.value, n.value is not None) for m, n in sheet.iter_rows(min_row=2, min_col=14, max_col=15)} == {
        (False, False), (True, True)}
    assert seen.value == datetime(2026, 3, 1, 23, 0) and sheet["M2"].value.endswith("is not the order's customer")
    totals = {row[0]: row[1:] for row in book["Totals"].iter_rows(values_only=True) if row and row[0]}
    assert totals["Order amount"] == (1234567.5, 1230000.25, -4567.25)
    assert totals["Orders / order vouchers"] == (1250, 1248, -2)
    assert totals["Match rate"][0] == pytest.approx(0.9864) and totals["Exceptions"][0] == 40
    assert totals["over_shipment"] == ("operations", 2, PAIR) and totals[LABEL] == (PAIR, None, None)


def test_control_characters_in_a_reason_do_not_break_the_workbook(tmp_path):
    rows = exception_rows(2)
    rows[1]["reason"] = "Tally said: \x0bvoucher\x00 locked"
    files = write_report(report_data(rows), tmp_path)
    assert openpyxl.load_workbook(files.xlsx)["Exceptions"]["M3"].value == "Tally said: voucher locked"


def test_the_same_data_gives_the_same_bytes_whatever_the_row_order(tmp_path):
    rows = exception_rows(60)
    first = write_report(report_data(rows), tmp_path / "a")
    second = write_report(report_data(list(reversed(rows))), tmp_path / "b")
    for a, b in ((first.html, second.html), (first.csv, second.csv), (first.xlsx, second.xlsx)):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_rows_read_from_duckdb_render_like_hand_built_ones(tmp_path):
    """DuckDB hands back timestamps for days and floats or Decimals for amounts; all read the same."""
    conn = duckdb.connect()
    for statement in ddl():
        conn.execute(statement)
    assert [r[0] for r in conn.execute("DESCRIBE recon_exceptions").fetchall()] == list(EXCEPTION_COLUMNS)
    conn.executemany(f"INSERT INTO recon_exceptions VALUES ({', '.join('?' * len(EXCEPTION_COLUMNS))})",
                     [[r[c] for c in EXCEPTION_COLUMNS] for r in exception_rows(5)])
    for frame in (conn.execute("SELECT * FROM recon_exceptions").df(),
                  pd.DataFrame(conn.execute("SELECT * FROM recon_exceptions").fetchall(), columns=EXCEPTION_COLUMNS)):
        files = write_report(report_data(exception_rows(5), exceptions=frame), tmp_path)
        line = files.csv.read_text(encoding="utf-8-sig").splitlines()[1]
        assert line.startswith("2026-03-01,shipstation_tally,order_without_voucher,finance,SO-1000,shipstation,"
                               "50000,tally,,1234.50,1200.25,-34.25,")
        assert table_rows(files.html.read_text(encoding="utf-8"))[0][0] == "2026-03-01"


def test_report_cli_says_plainly_when_nothing_is_reconciled(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    assert main(["report", "--month", "2026-03"]) == 1
    err = capsys.readouterr().err
    assert "Nothing is reconciled for 2026-03 yet" in err and "Dagster UI" in err
    assert not (tmp_path / "reports").exists()
    assert main(["report", "--month", "2026-13"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_every_day_has_a_place_on_the_axis_and_days_not_reconciled_are_grey(tmp_path):
    per_day = {date(2026, 3, d): 0 for d in range(1, 21)} | {date(2026, 3, 2): 1, date(2026, 3, 5): 4}
    page = write_report(report_data(exception_rows(3), per_day=per_day), tmp_path).html.read_text(encoding="utf-8")
    chart = page[page.index('aria-label="exceptions per day"'):]
    chart = chart[:chart.index("</svg>")]
    assert chart.count('class="tick mid') == 31 and chart.count('class="tick mid off"') == 11
    assert chart.count("<rect") == 2 and "2026-03-05: 4 exception(s)" in chart
    assert "Days in grey are not reconciled yet." in page


def _fill_staging(path, days: range) -> list[dict]:
    """A staging file as the engine leaves it: day totals for `days` of March, the exceptions, stock snapshots."""
    from state.staging import StagingStore

    rows = exception_rows()
    drift = next(r for r in rows if r["category"] == "stock_drift")
    drift.update(source_id="SKU-RED", target_id="Red Mug", source_amount=Decimal(10), target_amount=Decimal(7),
                 difference=Decimal(-3))
    with StagingStore(path).connect() as conn:
        for statement in ddl():
            conn.execute(statement)
        measures = {"orders": 50, "order_total": "25000.25", "vouchers": 49, "voucher_amount": "24000.25",
                    "shipments": 45, "delivery_notes": 44, "matched": 48, "exceptions": 1, "unexplained": 1}
        at = datetime(2026, 4, 1)
        conn.executemany("INSERT INTO recon_pair_totals VALUES (?, ?, ?, ?, ?)",
                         [(date(2026, 3, d), PAIR, k, v, at) for d in days for k, v in measures.items()]
                         + [(drift["day"], PAIR, "stock_checked", 1, at)])
        conn.execute("INSERT INTO recon_pairs VALUES (?, ?, now())", [PAIR, json.dumps(PACK.describe())])
        named = ", ".join(f"? AS {c}" for c in EXCEPTION_COLUMNS)
        conn.executemany(f"INSERT INTO recon_exceptions BY NAME SELECT {named}",
                         [[r[c] for c in EXCEPTION_COLUMNS] for r in rows])
    return rows


def test_report_cli_writes_the_month_from_the_staging_file(tmp_path, monkeypatch, capsys):
    rows = _fill_staging(tmp_path / "staging.duckdb", range(1, 21))
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    monkeypatch.setenv("TALLY_COMPANY", "Mehta & Lal")
    assert main(["report", "--month", "2026-03"]) == 0
    out = capsys.readouterr().out.splitlines()
    folder = tmp_path / "reports" / "2026-03"
    assert out == ["Reconciliation report for 2026-03:", *(f"  {folder / name}" for name in (
        "reconciliation-2026-03.html", "reconciliation-2026-03-exceptions.csv",
        "reconciliation-2026-03-exceptions.xlsx"))]
    page = (folder / "reconciliation-2026-03.html").read_text(encoding="utf-8")
    for text in ("Mehta &amp; Lal", "20 of 31 days reconciled", "<td>1,000</td><td>980</td><td>-20</td>",
                 "₹500,005.00", "₹480,005.00", "96.0%", "960 of 1,000 orders matched", "SKU-RED"):
        assert text in page
    assert len(table_rows(page)) == len(rows)
    csv_rows = list(csv.DictReader(io.StringIO((folder / "reconciliation-2026-03-exceptions.csv")
                                               .read_text(encoding="utf-8-sig"))))
    assert len(csv_rows) == len(rows) and csv_rows[0]["source_amount"] == "1234.50"

    assert main(["report", "--month", "2026-03", "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "reconciliation-2026-03.html").exists()


def test_report_cli_refuses_a_month_with_no_reconciled_day(tmp_path, monkeypatch, capsys):
    _fill_staging(tmp_path / "staging.duckdb", range(1, 3))
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    assert main(["report", "--month", "2026-04"]) == 1
    assert "Nothing is reconciled for 2026-04 yet" in capsys.readouterr().err


def test_a_huge_month_shows_the_first_rows_and_says_the_files_have_all(tmp_path, monkeypatch):
    from pipelines.reconciliation import report_html

    rows = exception_rows(5)
    monkeypatch.setattr(report_html, "MAX_HTML_ROWS", 3)
    files = write_report(report_data(rows), tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert len(table_rows(page)) == 3 and "first 3 of 5 exceptions" in page
    with open(files.csv, encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) == 1 + 5  # the CSV keeps every row


def test_orders_in_transit_at_month_end_are_listed_apart_not_counted_as_exceptions(tmp_path):
    late = dict(exception_rows(1)[0])
    late |= {"category": "in_transit_at_month_end", "owner": "operations", "order_number": "SO-LATE",
             "reason": "Order SO-LATE of March 2026 shipped on 2026-04-02, after the month closed",
             "explained": True, "explanation": "period cut-off: shipped after the month closed"}
    rows = exception_rows(5) + [late]
    page = write_report(report_data(rows), tmp_path).html.read_text(encoding="utf-8")
    assert "Exceptions (5)" in page and "Listed, not exceptions (1)" in page
    assert "SO-LATE" not in "".join(sum(table_rows(page), []))  # not in the exception table
    notices = page[page.index('id="notice-table"'):page.index('id="exceptions"')]
    assert "SO-LATE" in notices and "after the month closed" in notices
    assert 'class="lbl end">in_transit_at_month_end</text>' not in page  # not drawn as an exception category


def test_every_difference_in_the_totals_is_explained_in_a_line(tmp_path):
    totals = {"orders": 1250, "order_total": Decimal("1234567.5"), "vouchers": 1240,
              "voucher_amount": Decimal("1230000.25"), "shipments": 1190, "delivery_notes": 1190, "matched": 1233,
              "orders_cancelled": 8, "orders_failed": 1, "orders_waiting": 0}
    page = write_report(report_data(totals=totals), tmp_path).html.read_text(encoding="utf-8")
    orders_row = page[page.index("<th>Orders / order vouchers</th>"):].split("</tr>")[0]
    assert "<td>-10</td>" in orders_row
    assert "8 cancelled before posting; 1 failed to post; 1 not explained by these" in orders_row
    shipments_row = page[page.index("<th>Shipments / Delivery Notes</th>"):].split("</tr>")[0]
    assert "the sides agree" in shipments_row


def test_the_exception_table_filters_by_pair_category_and_owner(tmp_path):
    page = write_report(report_data(exception_rows(40)), tmp_path).html.read_text(encoding="utf-8")
    for name in ("category", "owner"):
        assert f'<select name="{name}"' in page
    assert '<option value="finance">finance</option>' in page and '<option value="operations">' in page
    assert 'data-category="order_without_voucher" data-owner="finance"' in page
    assert '<select name="pair"' not in page  # one pair: nothing to choose

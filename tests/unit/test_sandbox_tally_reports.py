"""The TallyPrime simulator's discovery reports and its cost model, over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from lxml import etree

from sandbox.runner import ServedApp
from sandbox.tally import TallyState, create_app
from sandbox.tally.cost import CostModel
from sandbox.tally.state import company_from_masters
from tests.unit.test_sandbox_tally import (
    COMPANY,
    COMPANY_XML,
    SPEC,
    Tally,
    created_id,
    export_collection,
    import_vouchers,
    line_errors,
    order,
    parse,
    rows,
)

OTHER = {"company": "Verma Traders", "books_from": "2024-04-01"}


@contextmanager
def running(state: TallyState | None = None, cost: CostModel | None = None) -> Iterator[Tally]:
    with ServedApp(create_app(state or TallyState.from_masters(SPEC), cost=cost)) as served:
        yield Tally(served.base_url)


@pytest.fixture()
def tally() -> Iterator[Tally]:
    with running() as served:
        yield served


def report(name: str, statics: str = "", *, legacy: bool = False, company: str = COMPANY_XML) -> str:
    variables = f"<SVCURRENTCOMPANY>{company}</SVCURRENTCOMPANY><SVEXPORTFORMAT>$$SysName:XML</SVEXPORTFORMAT>"
    if legacy:
        return f"""<ENVELOPE><HEADER><TALLYREQUEST>Export Data</TALLYREQUEST></HEADER>
<BODY><EXPORTDATA><REQUESTDESC><REPORTNAME>{name}</REPORTNAME>
 <STATICVARIABLES>{variables}{statics}</STATICVARIABLES></REQUESTDESC></EXPORTDATA></BODY></ENVELOPE>"""
    return f"""<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST>
 <TYPE>Data</TYPE><ID>{name}</ID></HEADER>
<BODY><DESC><STATICVARIABLES>{variables}{statics}</STATICVARIABLES></DESC></BODY></ENVELOPE>"""


def masters(root: etree._Element) -> list[etree._Element]:
    """The objects of a masters dump, asserting Tally's one-object-per-TALLYMESSAGE layout."""
    messages = root.findall("BODY/IMPORTDATA/REQUESTDATA/TALLYMESSAGE")
    assert all(len(m) == 1 for m in messages)
    return [m[0] for m in messages]


# ---- List of Accounts, List of Ledgers ----------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True])
def test_list_of_accounts_dumps_every_master_as_an_import_document(tally: Tally, legacy: bool) -> None:
    root = parse(tally.post(report("List of Accounts", legacy=legacy)))
    assert root.findtext("HEADER/TALLYREQUEST") == "Import Data"
    assert root.findtext("BODY/IMPORTDATA/REQUESTDESC/REPORTNAME") == "All Masters"
    assert root.findtext("BODY/IMPORTDATA/REQUESTDESC/STATICVARIABLES/SVCURRENTCOMPANY") == COMPANY
    objects = masters(root)
    kinds = [o.tag for o in objects]
    assert set(kinds) == {"GROUP", "LEDGER", "VOUCHERTYPE", "UNIT", "GODOWN", "STOCKGROUP", "STOCKITEM"}
    assert kinds.index("STOCKITEM") > kinds.index("UNIT") > max(i for i, k in enumerate(kinds) if k == "LEDGER")
    names = [o.get("NAME") for o in objects]
    assert names.index("Sundry Debtors") < names.index("Online Customers") < names.index("Acme Retail")
    by_name = {o.get("NAME"): o for o in objects}
    assert by_name["Sundry Debtors"].get("RESERVEDNAME") == "Sundry Debtors"
    assert by_name["Acme Retail"].get("RESERVEDNAME") == ""
    assert by_name["Acme Retail"].findtext("PARENT") == "Online Customers"
    item = by_name["TEA-GRN-250"]
    assert item.findtext("BASEUNITS") == "Nos"
    assert [n.text for n in item.iterfind("LANGUAGENAME.LIST/NAME.LIST/NAME")] == ["TEA-GRN-250", "8901234000017"]
    assert item.find("CLOSINGBALANCE") is None  # a masters dump walks no vouchers
    assert item.findtext("GUID", "").startswith(by_name["Acme Retail"].findtext("GUID", "")[:36])


@pytest.mark.parametrize(("account_type", "kinds"), [
    ("Ledgers", {"LEDGER"}), ("Groups", {"GROUP"}), ("Stock Items", {"STOCKITEM"}),
    ("stock groups", {"STOCKGROUP"}), ("All Inventory Masters", {"UNIT", "GODOWN", "STOCKGROUP", "STOCKITEM"}),
    ("All Accounting Masters", {"GROUP", "LEDGER", "VOUCHERTYPE"}), ("Units", {"UNIT"}),
])
def test_account_type_narrows_the_list_of_accounts(tally: Tally, account_type: str, kinds: set[str]) -> None:
    root = parse(tally.post(report("List of Accounts", f"<ACCOUNTTYPE>{account_type}</ACCOUNTTYPE>", legacy=True)))
    assert {o.tag for o in masters(root)} == kinds


def test_an_account_type_tally_may_not_know_is_a_line_error(tally: Tally) -> None:
    root = parse(tally.post(report("List of Accounts", "<ACCOUNTTYPE>Ledger</ACCOUNTTYPE>")))
    assert root.tag == "ENVELOPE" and root.find("BODY") is None
    assert line_errors(root)[0].startswith("[sandbox] ACCOUNTTYPE 'Ledger' is not simulated")


def test_legacy_list_of_ledgers_holds_ledgers_only(tally: Tally) -> None:
    objects = masters(parse(tally.post(report("List of Ledgers", legacy=True))))
    assert {o.tag for o in objects} == {"LEDGER"}
    assert {"Cash", "Profit & Loss A/c", "Acme Retail", "Chai Suppliers"} <= {o.get("NAME") for o in objects}


@pytest.mark.parametrize("legacy", [False, True])
def test_unknown_report_is_not_found_and_unbuilt_ones_say_so(tally: Tally, legacy: bool) -> None:
    root = parse(tally.post(report("List of Things", legacy=legacy)))
    assert [c.tag for c in root] == ["LINEERROR"]
    assert line_errors(root) == ["Could not find Report 'List of Things'!"]
    trial = line_errors(parse(tally.post(report("Trial Balance", legacy=legacy))))
    assert trial == ["[sandbox] Report 'Trial Balance' is not simulated"]


def test_reports_need_a_loaded_company(tally: Tally) -> None:
    assert line_errors(parse(tally.post(report("List of Accounts", company="Nobody")))) == [
        "Could not find Company 'Nobody'"]
    tally.control("company", {"loaded": False})
    assert tally.post(report("List of Accounts")).content == b""


def test_company_list_names_every_loaded_company_even_when_one_is_protected() -> None:
    state = TallyState.from_masters(SPEC)
    state.add_company(company_from_masters(OTHER))
    with running(state) as tally:
        tally.control("security", {"name": COMPANY, "username": "owner", "password": "s3cret"})
        created_id(tally, import_vouchers(order("SO-1"), company=COMPANY_XML).replace(
            "<SVCURRENTCOMPANY>", "<SVUSERNAME>owner</SVUSERNAME><SVPASSWORD>s3cret</SVPASSWORD><SVCURRENTCOMPANY>"))
        xml = """<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Export</TALLYREQUEST>
 <TYPE>Collection</TYPE><ID>List of Companies</ID></HEADER>
 <BODY><DESC><STATICVARIABLES><SVEXPORTFORMAT>$$SysName:XML</SVEXPORTFORMAT></STATICVARIABLES></DESC></BODY>
</ENVELOPE>"""
        companies = {c.get("NAME"): c for c in rows(tally.post(xml), "COMPANY")}
        assert set(companies) == {COMPANY, "Verma Traders"}
        assert companies[COMPANY].findtext("BOOKSFROM") == "20250401"
        assert companies[COMPANY].findtext("LASTVOUCHERDATE") == "20250410"
        assert companies["Verma Traders"].findtext("LASTVOUCHERDATE") == ""
        assert int(companies[COMPANY].findtext("ALTVCHID", "0")) == 1


# ---- the cost model ---------------------------------------------------------------------------

VOUCHERS_TDL = '<COLLECTION NAME="Vch"><TYPE>Voucher</TYPE><FETCH>VoucherNumber</FETCH></COLLECTION>'
STOCK_TDL = '<COLLECTION NAME="Items"><TYPE>StockItem</TYPE><FETCH>ClosingBalance</FETCH></COLLECTION>'
APRIL = "<SVFROMDATE>20250401</SVFROMDATE><SVTODATE>20250430</SVTODATE>"


def seed_five_vouchers(tally: Tally) -> None:
    """Three orders in April, two in May, in one import of five objects."""
    days = ["20250405", "20250410", "20250420", "20250502", "20250515"]
    root = parse(tally.post(import_vouchers(*(order(f"SO-{i}", day=d) for i, d in enumerate(days)))))
    assert root.findtext("BODY/DATA/IMPORTRESULT/CREATED") == "5"


def stats(tally: Tally) -> dict[str, int]:
    return tally.control("stats")


def test_period_walk_counts_the_vouchers_in_the_period_and_charges_for_them() -> None:
    with running(cost=CostModel(per_voucher_walked_ms=1.0, per_object_imported_ms=2.0)) as tally:
        seed_five_vouchers(tally)
        assert stats(tally)["objects_imported"] == 5 and stats(tally)["cost_ms"] == 10
        tally.control("reset-stats", {})
        assert len(rows(tally.post(export_collection("Vch", VOUCHERS_TDL, APRIL)), "VOUCHER")) == 3
        assert stats(tally)["vouchers_walked"] == 3 and stats(tally)["cost_ms"] == 3
        tally.post(export_collection("Vch", VOUCHERS_TDL))  # no period: the whole company
        assert stats(tally)["vouchers_walked"] == 8 and stats(tally)["cost_ms"] == 8
        tally.post(export_collection("Items", STOCK_TDL, APRIL))  # closing stock walks up to SVTODATE
        assert stats(tally)["vouchers_walked"] == 11 and stats(tally)["export"] == 3


def test_company_walk_charges_every_voucher_whatever_the_period() -> None:
    with running(cost=CostModel(per_voucher_walked_ms=1.0, walk="company")) as tally:
        seed_five_vouchers(tally)
        tally.control("reset-stats", {})
        assert len(rows(tally.post(export_collection("Vch", VOUCHERS_TDL, APRIL)), "VOUCHER")) == 3
        assert stats(tally)["vouchers_walked"] == 5 and stats(tally)["cost_ms"] == 5
        tally.post(report("List of Accounts"))  # masters only: nothing walked, nothing charged
        assert stats(tally)["vouchers_walked"] == 5 and stats(tally)["cost_ms"] == 5


def test_walks_are_counted_with_the_cost_off_and_the_control_plane_sets_it(tally: Tally) -> None:
    seed_five_vouchers(tally)
    tally.post(export_collection("Vch", VOUCHERS_TDL, APRIL))
    assert stats(tally)["vouchers_walked"] == 3 and "cost_ms" not in stats(tally)
    assert tally.control("cost") == {"per_voucher_walked_ms": 0.0, "walk": "period", "per_object_imported_ms": 0.0}
    model = {"per_voucher_walked_ms": 2, "walk": "company"}
    assert tally.control("cost", model) == {"per_voucher_walked_ms": 2.0, "walk": "company",
                                            "per_object_imported_ms": 0.0}
    tally.post(export_collection("Vch", VOUCHERS_TDL, APRIL))
    assert stats(tally)["vouchers_walked"] == 8 and stats(tally)["cost_ms"] == 10
    for bad in ({"walk": "galaxy"}, {"per_voucher_walked_ms": -1}, {"per_voucher_ms": 1}):
        assert httpx.post(f"{tally.url}/__sandbox/cost", json=bad).status_code == 400
    assert tally.control("cost", {})["per_voucher_walked_ms"] == 0.0


def test_cost_setting_reads_json_or_key_value_pairs() -> None:
    assert CostModel.parse("") == CostModel()
    assert CostModel.parse("per_voucher_walked_ms=0.05, walk=company,per_object_imported_ms=0.2") == CostModel(
        0.05, "company", 0.2)
    assert CostModel.parse('{"walk": "period", "per_object_imported_ms": 1}') == CostModel(0.0, "period", 1.0)
    with pytest.raises(ValueError):
        CostModel.parse("walk=everything")
    assert CostModel(0.5, "period", 0.25).seconds(vouchers_walked=10, objects_imported=4) == pytest.approx(0.006)


def test_the_sandbox_stack_takes_the_cost_from_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.stack import TALLY_COST_ENV, start_sandbox

    monkeypatch.setenv(TALLY_COST_ENV, "per_voucher_walked_ms=0.05,walk=company")
    with start_sandbox(orders=12) as sandbox:
        cost = httpx.get(f"{sandbox.tally.base_url}/__sandbox/cost", timeout=10).json()
    assert cost == {"per_voucher_walked_ms": 0.05, "walk": "company", "per_object_imported_ms": 0.0}

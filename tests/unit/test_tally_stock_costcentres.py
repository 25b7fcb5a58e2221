"""The Tally simulator's cost centres: masters, allocations on ledger lines, and what it refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.tally.xml_export import collection_request
from sandbox.runner import ServedApp
from sandbox.tally import TallyState, create_app
from tests.unit.test_tally_stock_helpers import COMPANY, post

SPEC: dict[str, Any] = {
    "company": COMPANY, "books_from": "2025-04-01", "cost_centres": [{"name": "Walmart US"}],
    "ledgers": [{"name": "Sales", "parent": "Sales Accounts"}, {"name": "Walmart", "parent": "Sundry Debtors"}],
}


@pytest.fixture()
def tally() -> Iterator[str]:
    with ServedApp(create_app(TallyState.from_masters(SPEC))) as served:
        yield served.base_url


def journal(centre: str, category: str = "Primary Cost Category") -> str:
    allocation = (f"<CATEGORYALLOCATIONS.LIST><CATEGORY>{category}</CATEGORY><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>"
                  f"<COSTCENTREALLOCATIONS.LIST><NAME>{centre}</NAME><AMOUNT>100.00</AMOUNT>"
                  f"</COSTCENTREALLOCATIONS.LIST></CATEGORYALLOCATIONS.LIST>")
    return f"""<VOUCHER VCHTYPE="Journal" ACTION="Create"><DATE>20250501</DATE>
 <VOUCHERTYPENAME>Journal</VOUCHERTYPENAME><ALLLEDGERENTRIES.LIST><LEDGERNAME>Walmart</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>
 <AMOUNT>-100.00</AMOUNT></ALLLEDGERENTRIES.LIST>
 <ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>
 <AMOUNT>100.00</AMOUNT>{allocation}</ALLLEDGERENTRIES.LIST></VOUCHER>"""


def centre(name: str, *, action: str = "Create", category: str = "Primary Cost Category") -> str:
    return (f'<COSTCENTRE NAME="{name}" ACTION="{action}"><NAME>{name}</NAME><CATEGORY>{category}</CATEGORY>'
            f"<PARENT/></COSTCENTRE>")


def test_an_allocation_to_an_existing_cost_centre_imports(tally: str) -> None:
    assert "<CREATED>1</CREATED>" in post(tally, "Vouchers", journal("Walmart US"))


def test_an_allocation_to_an_unknown_cost_centre_is_refused(tally: str) -> None:
    reply = post(tally, "Vouchers", journal("Walmart CA"))
    assert "<CREATED>0</CREATED>" in reply and "Cost Centre 'Walmart CA' does not exist" in reply


def test_only_the_primary_cost_category_exists(tally: str) -> None:
    assert "Cost Category 'Regions' does not exist" in post(tally, "Vouchers", journal("Walmart US", "Regions"))
    assert "Cost Category 'Regions' does not exist" in post(tally, "All Masters", centre("East", category="Regions"))


def test_cost_centres_are_created_exported_and_deleted_only_when_unused(tally: str) -> None:
    assert "<CREATED>1</CREATED>" in post(tally, "All Masters", centre("Walmart CA"))
    request = collection_request(COMPANY, "Centres", "CostCentre", ["Name", "Parent"]).encode()
    names = httpx.post(tally + "/", content=request, headers={"Content-Type": "text/xml;charset=utf-8"}).text
    assert 'NAME="Walmart CA"' in names and 'NAME="Walmart US"' in names
    post(tally, "Vouchers", journal("Walmart US"))
    assert "Cannot be deleted" in post(tally, "All Masters", centre("Walmart US", action="Delete"))
    assert "<DELETED>1</DELETED>" in post(tally, "All Masters", centre("Walmart CA", action="Delete"))

"""The Books API of the Zoho simulator: contacts, items, invoices, payments, journals, upserts,
errors in `{code, message}`; over real HTTP on loopback (no client code of ours)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.zoho_books import ServedZoho, serve_zoho
from sandbox.zoho_books.world import make_world, world_org
from tests.unit.test_sandbox_zoho_oauth import control, token_for


class Books:
    """Plain httpx calls on the US organisation's Books API."""

    def __init__(self, served: ServedZoho) -> None:
        self.served = served
        token = token_for(served, "us")["access_token"]
        self.http = httpx.Client(base_url=f"{served.books['us'].base_url}/books/v3",
                                 headers={"Authorization": f"Zoho-oauthtoken {token}"},
                                 params={"organization_id": world_org("us")})

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, json=body, **kw)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        answer = self.call(method, path, body, **kw)
        assert answer.status_code in (200, 201) and answer.json()["code"] == 0, answer.text
        return answer.json()

    def contact(self, name: str, email: str) -> dict[str, Any]:
        person = {"first_name": name.split()[0], "email": email, "is_primary_contact": True}
        return self.ok("POST", "/contacts", {"contact_name": name, "contact_persons": [person]})["contact"]

    def item(self, sku: str, rate: str = "100.00") -> dict[str, Any]:
        return self.ok("POST", "/items", {"name": f"Item {sku}", "rate": rate, "sku": sku})["item"]

    def accounts(self) -> dict[str, str]:
        rows = self.ok("GET", "/chartofaccounts")["chartofaccounts"]
        return {row["account_name"]: row["account_id"] for row in rows}


@pytest.fixture
def books() -> Iterator[Books]:
    served = serve_zoho(make_world(["us"]), ["us"])
    yield Books(served)
    served.stop()


def error(answer: httpx.Response, status: int, code: int) -> str:
    assert answer.status_code == status and set(answer.json()) == {"code", "message"}, answer.text
    assert answer.json()["code"] == code, answer.text
    return answer.json()["message"]


def test_organization_id_is_required_and_must_be_the_users(books: Books) -> None:
    assert "organization_id" in error(books.http.get("/contacts", params={"organization_id": ""}), 400, 2)
    error(books.http.get("/contacts", params={"organization_id": "123"}), 400, 2)
    assert books.ok("GET", "/organizations")["organizations"][0]["organization_id"] == world_org("us")


def test_contacts_found_by_email_and_names_unique(books: Books) -> None:
    made = books.contact("Priya Sharma", "Priya@Example.in")
    found = books.ok("GET", "/contacts", params={"email": "priya@example.in"})["contacts"]
    assert [c["contact_id"] for c in found] == [made["contact_id"]] and found[0]["email"] == "Priya@Example.in"
    assert "already exists" in error(books.call("POST", "/contacts", {"contact_name": "Priya Sharma"}), 400, 3062)
    updated = books.ok("PUT", f"/contacts/{made['contact_id']}", {"contact_name": "Priya R. Sharma"})["contact"]
    assert updated["contact_name"] == "Priya R. Sharma" and updated["email"] == "Priya@Example.in"
    error(books.call("PUT", f"/contacts/{made['contact_id']}", {"company_name": "no name"}), 400, 4)
    error(books.call("GET", "/contacts/999"), 404, 1002)


def test_contact_pages_and_newest_first(books: Books) -> None:
    made = [books.contact(f"Person {n}", f"p{n}@example.in") for n in range(5)]
    control(books.served, "us", "/clock/advance", {"seconds": 5})
    books.ok("PUT", f"/contacts/{made[2]['contact_id']}", {"contact_name": "Person 2b"})
    first = books.ok("GET", "/contacts", params={"per_page": 2})
    assert first["page_context"]["has_more_page"] is True and len(first["contacts"]) == 2
    last = books.ok("GET", "/contacts", params={"per_page": 2, "page": 3})
    assert last["page_context"]["has_more_page"] is False and len(last["contacts"]) == 1
    newest = books.ok("GET", "/contacts", params={"sort_column": "last_modified_time", "sort_order": "D"})
    assert newest["contacts"][0]["contact_name"] == "Person 2b"
    error(books.call("GET", "/contacts", params={"sort_column": "nonsense"}), 400, 2)


def test_items_by_sku_and_skus_unique(books: Books) -> None:
    made = books.item("TEA-GRN-100", "129.50")
    assert books.ok("GET", "/items", params={"sku": "tea-grn-100"})["items"][0]["item_id"] == made["item_id"]
    assert books.ok("GET", "/items", params={"sku": "TEA-BLK-100"})["items"] == []
    assert books.ok("GET", f"/items/{made['item_id']}")["item"]["rate"] == 129.5
    error(books.call("POST", "/items", {"name": "Other", "rate": 1, "sku": "TEA-GRN-100"}), 400, 1001)
    error(books.call("POST", "/items", {"name": "No rate"}), 400, 4)
    other = books.item("TEA-BLK-100")
    bulk = books.ok("GET", "/itemdetails", params={"item_ids": f"{made['item_id']},{other['item_id']}"})["items"]
    assert {i["sku"] for i in bulk} == {"TEA-GRN-100", "TEA-BLK-100"}


def test_invoice_totals_lifecycle_and_payments(books: Books) -> None:
    customer = books.contact("Ravi Iyer", "ravi@example.in")
    tax = books.ok("GET", "/settings/taxes")["taxes"][0]["tax_id"]
    item = books.item("SPC-TUR-100")
    body = {"customer_id": customer["contact_id"], "reference_number": "SS-1001",
            "line_items": [{"item_id": item["item_id"], "quantity": 2, "rate": "50.00", "tax_id": tax},
                           {"name": "Gift wrap", "rate": "10.00"}], "shipping_charge": "40.00"}
    invoice = books.ok("POST", "/invoices", body)["invoice"]
    assert (invoice["sub_total"], invoice["tax_total"], invoice["total"]) == (110, 18, 168)
    assert invoice["status"] == "draft" and invoice["invoice_number"] == "INV-000001"
    found = books.ok("GET", "/invoices", params={"reference_number": "SS-1001"})["invoices"]
    assert [i["invoice_id"] for i in found] == [invoice["invoice_id"]]
    books.ok("POST", f"/invoices/{invoice['invoice_id']}/status/sent")
    payment = {"customer_id": customer["contact_id"], "amount": "100.00", "payment_mode": "banktransfer",
               "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": "100.00"}]}
    books.ok("POST", "/customerpayments", payment)
    assert books.ok("GET", f"/invoices/{invoice['invoice_id']}")["invoice"]["status"] == "partially_paid"
    error(books.call("POST", f"/invoices/{invoice['invoice_id']}/status/void"), 400, 1039)
    error(books.call("PUT", f"/invoices/{invoice['invoice_id']}", {"line_items": [{"name": "x", "rate": 5}]}),
          400, 1038)
    control(books.served, "us", f"/invoices/{invoice['invoice_id']}/paid", {})
    paid = books.ok("GET", f"/invoices/{invoice['invoice_id']}")["invoice"]
    assert paid["status"] == "paid" and paid["balance"] == 0
    assert len(books.ok("GET", f"/invoices/{invoice['invoice_id']}/payments")["payments"]) == 2
    assert [i["invoice_id"] for i in books.ok("GET", "/invoices", params={"status": "paid"})["invoices"]] == [
        invoice["invoice_id"]]


def test_invoice_numbers_void_and_modified_since(books: Books) -> None:
    customer = books.contact("Meera Nair", "meera@example.in")
    lines = [{"name": "Tea", "rate": "99.00"}]
    flagged = books.call("POST", "/invoices", {"customer_id": customer["contact_id"], "line_items": lines},
                         params={"ignore_auto_number_generation": "true"})
    assert "invoice_number" in error(flagged, 400, 4)
    first = books.ok("POST", "/invoices", {"customer_id": customer["contact_id"], "invoice_number": "SS-1",
                                           "line_items": lines}, params={"ignore_auto_number_generation": "true"})
    error(books.call("POST", "/invoices", {"customer_id": customer["contact_id"], "invoice_number": "SS-1",
                                           "line_items": lines}), 400, 1001)
    since = first["invoice"]["last_modified_time"]
    control(books.served, "us", "/clock/advance", {"seconds": 10})
    message = books.ok("POST", f"/invoices/{first['invoice']['invoice_id']}/status/void")["message"]
    assert message == "Invoice status has been changed to Void."
    voided = books.ok("GET", f"/invoices/{first['invoice']['invoice_id']}")["invoice"]
    assert voided["status"] == "void" and voided["last_modified_time"] > since
    later = books.ok("GET", "/invoices", params={"last_modified_time": voided["last_modified_time"]})["invoices"]
    assert [i["invoice_id"] for i in later] == [voided["invoice_id"]]
    base = str(books.http.base_url).rstrip("/")
    raw_plus = httpx.get(f"{base}/invoices?organization_id={world_org('us')}&last_modified_time={since}",
                         headers=books.http.headers)
    error(raw_plus, 400, 2)  # the '+' of the offset arrives as a space when sent unencoded
    error(books.call("PUT", f"/invoices/{voided['invoice_id']}", {"notes": "x"}), 400, 1037)


def test_upsert_by_unique_custom_field(books: Books) -> None:
    customer = books.contact("Arjun Das", "arjun@example.in")
    body = {"customer_id": customer["contact_id"], "line_items": [{"name": "Rice", "rate": "60.00"}]}
    headers = {"X-Unique-Identifier-Key": "cf_order_ref", "X-Unique-Identifier-Value": "ORD-77"}
    error(books.call("PUT", "/invoices", body, headers=headers), 404, 1002)
    made = books.call("PUT", "/invoices", body, headers=headers | {"X-Upsert": "true"})
    assert made.status_code == 201 and made.json()["invoice"]["custom_fields"][0]["value"] == "ORD-77"
    again = books.call("PUT", "/invoices", body | {"notes": "edited"}, headers=headers | {"X-Upsert": "true"})
    assert again.status_code == 200 and again.json()["invoice"]["invoice_id"] == made.json()["invoice"]["invoice_id"]
    assert again.json()["invoice"]["notes"] == "edited"
    assert len(books.ok("GET", "/invoices")["invoices"]) == 1
    error(books.call("PUT", "/invoices", body, headers={**headers, "X-Unique-Identifier-Key": "cf_nope"}), 400, 2)
    duplicate = {"custom_fields": [{"api_name": "cf_order_ref", "value": "ORD-77"}]}
    error(books.call("POST", "/invoices", body | duplicate), 400, 1001)


def test_journals_must_balance(books: Books) -> None:
    accounts = books.accounts()
    lines = [{"account_id": accounts["Postage"], "debit_or_credit": "debit", "amount": "75.00"},
             {"account_id": accounts["ShipStation Clearing"], "debit_or_credit": "credit", "amount": "75.00"}]
    made = books.ok("POST", "/journals", {"journal_date": "2026-04-02", "reference_number": "LBL-1",
                                          "line_items": lines})
    assert made["journal"]["total"] == 75 and made["message"] == "The journal entry has been created."
    unbalanced = [lines[0], {**lines[1], "amount": "74.99"}]
    error(books.call("POST", "/journals", {"journal_date": "2026-04-02", "line_items": unbalanced}), 400, 13013)
    found = books.ok("GET", "/journals", params={"reference_number": "LBL-1"})["journals"]
    assert [j["journal_id"] for j in found] == [made["journal"]["journal_id"]]
    books.ok("DELETE", f"/journals/{made['journal']['journal_id']}")
    assert books.ok("GET", "/journals", params={"reference_number": "LBL-1"})["journals"] == []


def test_bodies_as_jsonstring_form_and_malformed_json(books: Books) -> None:
    form = books.http.post("/contacts", data={"JSONString": '{"contact_name": "Form Client"}'})
    assert form.status_code == 201 and form.json()["contact"]["contact_name"] == "Form Client"
    raw = books.http.post("/contacts", content=b'{"contact_name": "Raw"')
    assert error(raw, 400, 1038) == "JSON is not well formed"
    assert books.http.get("/nothing/here").json() == {"code": 5, "message": "Invalid URL Passed"}
    error(books.http.delete("/items"), 405, 37)


def test_queued_faults_including_non_zero_codes_on_200(books: Books) -> None:
    control(books.served, "us", "/faults", {"status": 200, "code": 9999, "message": "Business rule"})
    control(books.served, "us", "/faults", {"status": 500})
    assert error(books.call("GET", "/contacts"), 200, 9999) == "Business rule"
    assert error(books.call("GET", "/contacts"), 500, 1000) == "Internal error"
    assert books.call("GET", "/contacts").json()["code"] == 0


def test_malformed_numbers_name_the_field(books: Books) -> None:
    customer = books.contact("Bad Numbers", "bad@example.in")
    for line, field in (({"name": "x", "rate": "abc"}, "rate"), ({"name": "x", "rate": 1, "quantity": "two"},
                                                                 "quantity")):
        answer = books.call("POST", "/invoices", {"customer_id": customer["contact_id"], "line_items": [line]})
        assert error(answer, 400, 2) == f"Invalid value passed for {field}"


def test_money_is_exact_on_the_wire(books: Books) -> None:
    customer = books.contact("Decimal Person", "dec@example.in")
    lines = [{"name": "Odd", "rate": "0.10", "quantity": 3}]
    invoice = books.ok("POST", "/invoices", {"customer_id": customer["contact_id"], "line_items": lines})["invoice"]
    raw = books.http.get(f"/invoices/{invoice['invoice_id']}").text
    assert '"total":0.3' in raw
    assert Decimal(str(invoice["total"])) == Decimal("0.30")

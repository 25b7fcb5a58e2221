"""Invoice, customer-payment and journal routes (modules `invoices`, `customerpayments`, `accountants`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.zoho_books import invoices, journals, payments
from sandbox.zoho_books.errors import refused
from sandbox.zoho_books.gate import Gate, Handler
from sandbox.zoho_books.org import Organization, Record
from sandbox.zoho_books.respond import Body, Resource, crud_routes, lookup, ok

INVOICES = Resource("invoices", "/invoices", "invoice", "Invoice", lambda o: o.invoices, invoices.find,
                    invoices.create, invoices.update, "The invoice has been created.",
                    "Invoice information has been updated.", upsert=True, show=invoices.detail)
PAYMENTS = Resource("customerpayments", "/customerpayments", "payment", "Payment", lambda o: o.payments, payments.find,
                    lambda org, body, query: payments.create(org, body), None, "The payment has been created.")
JOURNALS = Resource("accountants", "/journals", "journal", "Journal", lambda o: o.journals, journals.find,
                    lambda org, body, query: journals.create(org, body), journals.update,
                    "The journal entry has been created.", "The journal entry has been updated.")


def invoice_routes(gate: Gate) -> list[Route]:
    """Invoices, their status changes and payments; customer payments."""
    def invoice(request: Request, org: Organization) -> Record:
        return lookup(INVOICES.table, "Invoice", request, org, "invoice_id")

    def delete(request: Request, org: Organization, body: Body) -> Response:
        record = invoice(request, org)
        if record["payment_made"] > 0:
            raise refused(1042, "Invoices with payments recorded cannot be deleted.")
        del org.invoices[record["invoice_id"]]
        return ok("The invoice has been deleted.")

    def status(target: str) -> Handler:
        def mark(request: Request, org: Organization, body: Body) -> Response:
            return ok(invoices.mark(org, invoice(request, org), target))
        return mark

    def invoice_payments(request: Request, org: Organization, body: Body) -> Response:
        return ok("success", payments=list(invoice(request, org)["payments"]))

    def delete_payment(request: Request, org: Organization, body: Body) -> Response:
        payments.delete(org, lookup(PAYMENTS.table, "Payment", request, org, "payment_id"))
        return ok("The payment has been deleted.")

    return [*crud_routes(gate, INVOICES, [
        ("/invoices/{invoice_id}", "DELETE", delete), ("/invoices/{invoice_id}/status/sent", "POST", status("sent")),
        ("/invoices/{invoice_id}/status/void", "POST", status("void")),
        ("/invoices/{invoice_id}/status/draft", "POST", status("draft")),
        ("/invoices/{invoice_id}/payments", "GET", invoice_payments)]),
        *crud_routes(gate, PAYMENTS, [("/customerpayments/{payment_id}", "DELETE", delete_payment)])]


def journal_routes(gate: Gate) -> list[Route]:
    """Manual journals."""
    def delete(request: Request, org: Organization, body: Body) -> Response:
        journals.delete(org, lookup(JOURNALS.table, "Journal", request, org, "journal_id"))
        return ok("The selected journal entry has been deleted.")

    def publish(request: Request, org: Organization, body: Body) -> Response:
        org.touch(lookup(JOURNALS.table, "Journal", request, org, "journal_id"))["status"] = "published"
        return ok("Journal has been published.")

    return crud_routes(gate, JOURNALS, [("/journals/{journal_id}", "DELETE", delete),
                                        ("/journals/{journal_id}/status/publish", "POST", publish)])

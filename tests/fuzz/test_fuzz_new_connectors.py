"""Hostile response bodies for the Walmart, Zoho Books and Acumatica response parsers (read-only: their
code belongs to other people; bugs found are reported, pinned here as strict xfails).

Sign-in requests reach each connector's own test double; every other request gets the hostile body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors.acumatica import AcumaticaClient
from connectors.common.errors import ConnectorError
from connectors.walmart.client import WalmartClient
from connectors.zoho_books.auth import zoho_auth
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.limits import OrgLimits
from tests.fuzz.test_fuzz_responses import JSON_BODIES
from tests.unit.fakes import FakeClock
from tests.unit.test_acumatica_fake import FakeAcumatica
from tests.unit.test_walmart_fakes import FakeWalmart, client_for
from tests.unit.test_zoho_support import CLIENT_ID, CLIENT_SECRET, ORG, REFRESH, FakeZoho

STATUSES = st.sampled_from([200, 200, 200, 204, 400, 404, 409, 500, 503])
CONTENT_TYPES = st.sampled_from(["application/json", "text/html", "application/xml"])
SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def hostile(signin: Callable[[httpx.Request], httpx.Response], is_signin: Callable[[httpx.Request], bool],
            status: int, body: bytes, content_type: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if is_signin(request):
            return signin(request)
        return httpx.Response(status, content=body, headers={"Content-Type": content_type, "Retry-After": "0"})
    return answer


def only_connector_errors(*calls: Callable[[], object]) -> None:
    for call in calls:
        try:
            call()
        except ConnectorError:
            pass


@given(STATUSES, JSON_BODIES, CONTENT_TYPES)
def test_walmart_hostile_bodies(status: int, body: bytes, content_type: str) -> None:
    server = FakeWalmart()
    client: WalmartClient = client_for(hostile(server, lambda r: r.url.path == "/v3/token", status, body,
                                               content_type), max_retries=0)
    only_connector_errors(lambda: list(client.iter_order_pages_raw(created_start=SINCE)),
                          lambda: client.get_order("P1"), lambda: list(client.iter_returns(modified_start=SINCE)),
                          lambda: client.available_recon_dates(), lambda: client.count_orders(created_start=SINCE))


@given(STATUSES, JSON_BODIES, CONTENT_TYPES)
def test_zoho_books_hostile_bodies(status: int, body: bytes, content_type: str) -> None:
    fake, clock = FakeZoho(), FakeClock()
    auth = zoho_auth(CLIENT_ID, SecretStr(CLIENT_SECRET), SecretStr(REFRESH), data_centre="us",
                     transport=fake.transport(), clock=clock)
    api = httpx.MockTransport(hostile(lambda r: httpx.Response(500), lambda r: False, status, body, content_type))
    client = ZohoBooksClient(auth=auth, organization_id=ORG, data_centre="us", transport=api,
                             limits=OrgLimits(per_minute=0, clock=clock, sleep=clock.sleep), sleep=clock.sleep,
                             rng=lambda: 0.0, max_retries=0)
    only_connector_errors(lambda: client.get_invoice("1"), lambda: client.find_contacts_by_email("a@b.c"),
                          lambda: client.list_items(), lambda: list(client.iter_contacts_modified(SINCE)),
                          lambda: client.invoice_payments("1"))


@given(STATUSES, JSON_BODIES, CONTENT_TYPES)
def test_acumatica_hostile_bodies(status: int, body: bytes, content_type: str) -> None:
    fake = FakeAcumatica()
    answer = hostile(fake, lambda r: r.url.path.startswith("/entity/auth/"), status, body, content_type)
    with AcumaticaClient(url="https://erp.test", tenant="Acme", branch="MAIN", username="admin", password="secret",
                         transport=httpx.MockTransport(answer), sleep=lambda s: None, rng=lambda: 0.5,
                         max_retries=0) as client:
        only_connector_errors(lambda: client.get("SalesOrder", "SO", "000001"),
                              lambda: list(client.iter_pages("SalesOrder")),
                              lambda: list(client.iter_modified("SalesOrder", SINCE)), client.endpoint_versions)

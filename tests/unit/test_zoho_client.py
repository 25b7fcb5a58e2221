"""The Zoho Books client against a stand-in of the real API: data centres, tokens, codes, limits, onboarding."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from connectors.common.errors import AuthError
from connectors.zoho_books import onboarding, settings
from connectors.zoho_books.auth import zoho_auth
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.errors import DailyLimitReached, ZohoApiError
from connectors.zoho_books.limits import OrgLimits
from connectors.zoho_books.settings import ZohoBooksSettings
from tests.unit.test_zoho_support import API_HOSTS, CLIENT_ID, CLIENT_SECRET, HOSTS, ORG, REFRESH, FakeZoho


class Clock:
    def __init__(self, fake: FakeZoho | None = None) -> None:
        self.t, self.fake = 1000.0, fake

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        if self.fake is not None:
            self.fake.now += seconds


def make_client(fake: FakeZoho, dc: str = "us", clock: Clock | None = None, **limits) -> ZohoBooksClient:
    clock = clock or Clock(fake)
    auth = zoho_auth(CLIENT_ID, SecretStr(CLIENT_SECRET), SecretStr(REFRESH), data_centre=dc,
                     transport=fake.transport(), clock=clock)
    return ZohoBooksClient(auth=auth, organization_id=ORG, data_centre=dc, transport=fake.transport(),
                           limits=OrgLimits(per_minute=limits.get("per_minute", 0), clock=clock, sleep=clock.sleep,
                                            daily_limit=limits.get("daily_limit", 0)),
                           sleep=clock.sleep, rng=lambda: 0.0)


@pytest.mark.parametrize("dc", sorted(settings.ACCOUNTS_URLS))
def test_every_data_centre_is_routed_to_its_accounts_server_and_api_domain(dc):
    fake = FakeZoho(data_centre=dc)
    seen: list[str] = []
    transport = fake.transport()

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return transport.handle_request(request)

    config = ZohoBooksSettings(zoho_data_centre=dc, zoho_client_id=CLIENT_ID, zoho_client_secret=CLIENT_SECRET,
                               zoho_refresh_token=REFRESH, zoho_organization_id=ORG)
    client = ZohoBooksClient.from_settings(config, transport=httpx.MockTransport(spy), limits=OrgLimits(per_minute=0))
    assert client.ping()["ok"] is True
    assert seen == [f"accounts.{HOSTS[dc]}", API_HOSTS[dc]]
    assert client.base_url == f"https://{API_HOSTS[dc]}/books/v3"


def test_a_refresh_token_from_another_data_centre_is_refused_with_the_remedy():
    fake = FakeZoho(data_centre="us")
    with pytest.raises(AuthError, match="zoho authorize"):
        make_client(fake, dc="eu").get_invoice("1")
    assert not fake.tokens


def test_the_api_root_follows_api_domain_not_the_configured_data_centre():
    fake = FakeZoho(data_centre="in")
    fake.self_url = "https://books-proxy.example.test"
    client = make_client(fake, dc="in")
    client.ping()
    assert client.base_url == "https://books-proxy.example.test/books/v3"


def test_the_token_is_renewed_before_expiry_without_a_401():
    fake = FakeZoho()
    clock = Clock(fake)
    client = make_client(fake, clock=clock)
    client.ping()
    clock.sleep(54 * 60)
    client.ping()
    assert fake.token_grants == 1
    clock.sleep(2 * 60)  # 56 minutes: due for renewal, though Zoho would still accept it for 4 more
    client.ping()
    assert fake.token_grants == 2
    assert [c for c in fake.calls if c[1].endswith("/token")] == [("POST", "/oauth/v2/token")] * 2


def test_a_401_refreshes_once_and_resends():
    fake = FakeZoho()
    client = make_client(fake)
    client.ping()
    fake.expire_tokens()  # revoked or expired early on Zoho's side
    assert client.ping()["ok"] is True
    assert fake.token_grants == 2


def test_organization_id_goes_on_every_call_but_organizations():
    fake = FakeZoho()
    urls: list[httpx.URL] = []
    transport = fake.transport()

    def spy(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        return transport.handle_request(request)

    client = make_client(fake)
    client._http._transport = httpx.MockTransport(spy)
    client.ping()
    client.find_contacts_by_email("a@example.com")
    client.find_invoices(reference_number="x")
    assert "organization_id" not in urls[0].params
    assert [u.params["organization_id"] for u in urls[1:]] == [ORG, ORG]


def test_a_non_zero_code_on_http_200_is_an_error():
    fake = FakeZoho()
    client = make_client(fake)
    client.ping()

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 1001, "message": "Invoice number already exists"})

    client._http._transport = httpx.MockTransport(refuse)
    with pytest.raises(ZohoApiError) as info:
        client.create_invoice({"customer_id": "1", "line_items": []})
    assert info.value.code == 1001 and "already exists" in str(info.value)


def test_a_per_minute_block_pauses_and_continues():
    fake = FakeZoho(per_minute=3)
    clock = Clock(fake)
    client = make_client(fake, clock=clock)
    for _ in range(5):
        client.ping()
    assert clock.t - 1000 >= 60  # code 44: sat out a whole window, then went on
    assert fake.calls.count(("GET", "/books/v3/organizations")) == 6  # five answered, one refused


def test_our_own_window_keeps_under_the_per_minute_limit():
    fake = FakeZoho(per_minute=3)
    clock = Clock(fake)
    client = make_client(fake, clock=clock, per_minute=3)
    for _ in range(7):
        client.ping()
    assert fake.calls.count(("GET", "/books/v3/organizations")) == 7  # never refused


def test_the_daily_cap_ends_the_run_and_is_not_retried():
    fake = FakeZoho(daily_cap=3)
    client = make_client(fake)
    for _ in range(3):
        client.find_invoices()
    with pytest.raises(DailyLimitReached) as info:
        client.find_invoices()
    assert info.value.resume_at is not None
    sent = len(fake.calls)
    with pytest.raises(DailyLimitReached):
        client.find_invoices()  # the spent day is known: nothing is sent
    assert len(fake.calls) == sent


def test_a_known_daily_limit_stops_before_zoho_refuses():
    fake = FakeZoho(daily_cap=10)
    client = make_client(fake, daily_limit=2)
    client.find_invoices()
    client.find_invoices()
    with pytest.raises(DailyLimitReached):
        client.find_invoices()
    assert fake.day_calls == 2


def test_the_unique_field_upsert_sends_zoho_headers():
    fake = FakeZoho()
    client = make_client(fake)
    contact = client.create_contact({"contact_name": "A", "contact_persons": [
        {"email": "a@example.com", "is_primary_contact": True}]})
    item = client.create_item({"name": "Widget", "rate": "2.50", "sku": "W-1"})
    body = {"customer_id": contact["contact_id"], "reference_number": "ss-order-1",
            "line_items": [{"item_id": item["item_id"], "rate": "2.50", "quantity": 2}],
            "custom_fields": [{"api_name": "cf_ss_order", "value": "ss-order-1"}]}
    first = client.create_invoice(body, unique=("cf_ss_order", "ss-order-1"))
    again = client.create_invoice(body | {"shipping_charge": "1.00"}, unique=("cf_ss_order", "ss-order-1"))
    assert first["invoice_id"] == again["invoice_id"] and len(fake.invoices) == 1
    assert fake.invoices[first["invoice_id"]]["total"] == "6.00"


def test_secrets_never_show_in_reprs_or_errors():
    fake = FakeZoho()
    client = make_client(fake)
    client.ping()
    text = repr(client) + repr(client.auth)
    for secret in (CLIENT_SECRET, REFRESH, *fake.tokens):
        assert secret not in text


# -- onboarding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dc", sorted(settings.ACCOUNTS_URLS))
def test_the_consent_url_is_on_the_data_centres_accounts_server(dc):
    url = httpx.URL(onboarding.consent_url(CLIENT_ID, data_centre=dc, redirect_uri="http://localhost/cb"))
    assert url.host == f"accounts.{HOSTS[dc]}" and url.path == "/oauth/v2/auth"
    assert url.params["access_type"] == "offline" and url.params["response_type"] == "code"


def test_a_code_older_than_two_minutes_is_refused_before_any_exchange():
    clock = Clock()
    code = onboarding.receive_code("1000.grant", clock=clock)
    clock.sleep(121)

    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a stale code must not be sent")

    with pytest.raises(AuthError, match="single use"):
        onboarding.exchange_code(code, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri="x",
                                 transport=httpx.MockTransport(never), clock=clock)


def test_a_fresh_code_gives_the_refresh_token_and_api_domain():
    clock = Clock()
    sent: list[dict] = []

    def accounts(request: httpx.Request) -> httpx.Response:
        sent.append(dict(httpx.QueryParams(request.content.decode())))
        assert request.url.host == "accounts.zoho.eu"
        return httpx.Response(200, json={"access_token": "a", "refresh_token": "r-new",
                                         "api_domain": "https://www.zohoapis.eu", "expires_in": 3600})

    code = onboarding.receive_code("1000.grant", clock=clock)
    clock.sleep(30)
    grant = onboarding.exchange_code(code, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                     redirect_uri="http://localhost/cb", data_centre="eu",
                                     transport=httpx.MockTransport(accounts), clock=clock)
    assert grant.refresh_token.get_secret_value() == "r-new" and grant.api_domain == "https://www.zohoapis.eu"
    assert sent[0]["grant_type"] == "authorization_code" and sent[0]["code"] == "1000.grant"
    assert "r-new" not in repr(grant) and "1000.grant" not in repr(code)


def test_a_spent_code_is_reported_not_retried():
    calls: list[int] = []

    def accounts(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"error": "invalid_code"})

    with pytest.raises(AuthError, match="invalid_code"):
        onboarding.exchange_code(onboarding.receive_code("used"), client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                 redirect_uri="x", transport=httpx.MockTransport(accounts))
    assert calls == [1]


def test_after_a_spent_day_a_probe_goes_out_only_every_recheck_interval():
    from datetime import UTC, datetime, timedelta

    fake = FakeZoho(daily_cap=1)
    clock = Clock(fake)
    wall = [datetime(2026, 3, 2, 10, tzinfo=UTC)]
    auth = zoho_auth(CLIENT_ID, SecretStr(CLIENT_SECRET), SecretStr(REFRESH), transport=fake.transport(), clock=clock)
    limits = OrgLimits(per_minute=0, recheck=1800, clock=clock, sleep=clock.sleep, now=lambda: wall[0])
    client = ZohoBooksClient(auth=auth, organization_id=ORG, transport=fake.transport(), limits=limits,
                             sleep=clock.sleep)
    client.find_invoices()
    with pytest.raises(DailyLimitReached):
        client.find_invoices()
    sent = len(fake.calls)
    wall[0] += timedelta(minutes=29)
    with pytest.raises(DailyLimitReached):
        client.find_invoices()
    assert len(fake.calls) == sent  # still blocked locally
    wall[0] += timedelta(minutes=2)
    fake.next_day()
    assert client.find_invoices() == []  # the probe went out and the new day's budget answered


def test_the_pasted_redirect_url_gives_the_code_and_its_accounts_server():
    code = onboarding.receive_code("http://localhost:8765/zoho/callback?state=s&code=1000.abc&location=eu"
                                   "&accounts-server=https%3A%2F%2Faccounts.zoho.eu")
    assert code.code.get_secret_value() == "1000.abc" and code.accounts_server == "https://accounts.zoho.eu"
    with pytest.raises(AuthError, match="consent was not given"):
        onboarding.receive_code("http://localhost:8765/zoho/callback?error=access_denied")


def test_the_client_secret_never_goes_to_an_accounts_server_zoho_does_not_run():
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    code = onboarding.receive_code("http://localhost/cb?code=1000.abc&accounts-server=https%3A%2F%2Fevil.example")
    with pytest.raises(AuthError, match="not a Zoho accounts server"):
        onboarding.exchange_code(code, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri="x",
                                 transport=httpx.MockTransport(never))

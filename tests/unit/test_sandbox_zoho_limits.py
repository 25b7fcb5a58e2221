"""The Zoho simulator's per-minute, daily and concurrency caps, its HMAC-signed webhooks and the
seeded merchant organisation; over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.merchant import generate_merchant
from sandbox.merchant_zoho import CLIENT_ID, CLIENT_SECRET, ORGANIZATION_ID, REFRESH_TOKEN, generate_zoho, start_zoho
from sandbox.runner import serve
from sandbox.zoho_books import SIGNATURE_HEADER, ServedZoho, serve_zoho
from sandbox.zoho_books.world import make_world
from tests.unit.test_sandbox_zoho_oauth import books_get, control, token_for


@pytest.fixture
def us() -> Iterator[tuple[ServedZoho, str]]:
    served = serve_zoho(make_world(["us"]), ["us"])
    yield served, token_for(served, "us")["access_token"]
    served.stop()


def codes(served: ServedZoho, token: str, n: int) -> list[int]:
    return [books_get(served, "us", "/contacts", token).json()["code"] for _ in range(n)]


def test_per_minute_cap_is_code_44_and_lifts_a_minute_later(us: tuple[ServedZoho, str]) -> None:
    served, token = us
    control(served, "us", "/limits", {"per_minute": 5})
    assert codes(served, token, 7) == [0, 0, 0, 0, 0, 44, 44]
    refused = books_get(served, "us", "/contacts", token)
    assert refused.status_code == 429 and "requests per minute" in refused.json()["message"]
    assert "retry-after" not in refused.headers
    control(served, "us", "/clock/advance", {"seconds": 60})
    assert codes(served, token, 1) == [0]


def test_per_minute_cap_switched_off_for_benches(us: tuple[ServedZoho, str]) -> None:
    served, token = us
    control(served, "us", "/limits", {"per_minute": 0})
    assert set(codes(served, token, 120)) == {0}
    assert control(served, "us", "/stats")["requests_by_organization"] == {"90000001": 120}


def test_daily_cap_is_code_45_until_the_next_day(us: tuple[ServedZoho, str]) -> None:
    served, token = us
    control(served, "us", "/limits", {"daily": 3})
    assert codes(served, token, 4) == [0, 0, 0, 45]
    message = books_get(served, "us", "/contacts", token).json()["message"]
    assert message == "The API call for this organization has exceeded the maximum call rate limit of 3."
    control(served, "us", "/clock/advance", {"seconds": 86400})
    assert codes(served, token_for(served, "us")["access_token"], 1) == [0]
    assert control(served, "us", "/stats")["throttled_by_code"] == {"45": 2}


def test_concurrency_cap_is_code_1070(us: tuple[ServedZoho, str]) -> None:
    served, token = us
    control(served, "us", "/limits", {"concurrency": 2})
    control(served, "us", "/hold", {})
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(books_get(served, "us", "/contacts", token)))
               for _ in range(5)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while control(served, "us", "/stats")["throttled_by_code"].get("1070", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert control(served, "us", "/stats")["limits"]["90000001"]["in_flight"] == 2
    control(served, "us", "/release", {})
    for thread in threads:
        thread.join(20)
    assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429]
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {1070}


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    served = serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    yield f"{served.base_url}/hook", got
    served.stop()


def test_contact_webhooks_are_signed_with_hmac(us: tuple[ServedZoho, str], receiver: Any) -> None:
    served, token = us
    url, got = receiver
    secret = "S3cretWebhookKey"
    control(served, "us", "/webhooks", {"url": url, "secret": secret})
    created = httpx.post(f"{served.books['us'].base_url}/books/v3/contacts", params={"organization_id": "90000001"},
                         headers={"Authorization": f"Zoho-oauthtoken {token}"}, json={"contact_name": "Hook Person"})
    contact_id = created.json()["contact"]["contact_id"]
    control(served, "us", f"/contacts/{contact_id}/edit", {"contact_name": "Hook Person (edited in Zoho)"})
    log = control(served, "us", "/webhooks/flush", {})
    assert [entry["outcome"] for entry in log] == ["delivered", "delivered"]
    names = []
    for headers, body in got:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], expected)
        names.append(json.loads(body)["contact"]["contact_name"])
    assert names == ["Hook Person", "Hook Person (edited in Zoho)"]
    bad = httpx.post(f"{served.books['us'].base_url}/__sandbox/webhooks", json={"url": url, "secret": "short"})
    assert bad.status_code == 400


def test_webhooks_registered_through_the_api(us: tuple[ServedZoho, str], receiver: Any) -> None:
    served, token = us
    url, got = receiver
    api = httpx.Client(base_url=f"{served.books['us'].base_url}/books/v3", params={"organization_id": "90000001"},
                       headers={"Authorization": f"Zoho-oauthtoken {token}"})
    short = api.post("/settings/webhooks", json={"url": url, "entity": "contact", "secret": "tooShort"})
    assert short.status_code == 400 and short.json()["code"] == 2
    made = api.post("/settings/webhooks", json={"url": url, "entity": "contact", "events": ["contact.created"],
                                                "secret": "AnotherSecret123"})
    assert made.status_code == 201 and "secret" not in made.json()["webhook"]
    api.post("/contacts", json={"contact_name": "Via API hook"})
    control(served, "us", "/webhooks/flush", {})
    assert len(got) == 1 and json.loads(got[0][1])["contact"]["contact_name"] == "Via API hook"
    hook_id = made.json()["webhook"]["webhook_id"]
    assert [h["webhook_id"] for h in api.get("/settings/webhooks").json()["webhooks"]] == [hook_id]
    assert api.delete(f"/settings/webhooks/{hook_id}").json()["code"] == 0
    assert api.delete(f"/settings/webhooks/{hook_id}").json()["code"] == 1002


def test_merchant_organisation_is_seeded_and_served() -> None:
    merchant = generate_merchant(seed=7, n_orders=40)
    seed = generate_zoho(merchant, seed=3)
    again = generate_zoho(merchant, seed=3)
    names = sorted(c["contact_name"] for c in seed.organization.contacts.values())
    assert names == sorted(c["contact_name"] for c in again.organization.contacts.values())
    ss_name = next(c["name"] for c in merchant.customers if c["email"] == seed.conflict_email)
    zoho = [c for c in seed.organization.contacts.values() if c["email"] == seed.conflict_email]
    assert len(zoho) == 1 and zoho[0]["contact_name"] != ss_name
    skus = {i["sku"] for i in seed.organization.items.values()}
    assert skus and seed.missing_skus and not skus & set(seed.missing_skus)
    accounts, books, state = start_zoho(merchant, "in")
    try:
        token = httpx.post(f"{accounts['in'].base_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
            "client_secret": "sandbox-zoho-client-secret-in"}).json()
        assert token["api_domain"] == books.base_url
        orgs = httpx.get(f"{books.base_url}/books/v3/organizations",
                         headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"}).json()
        assert [o["organization_id"] for o in orgs["organizations"]] == [ORGANIZATION_ID]
        wrong = httpx.post(f"{accounts['in'].base_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET})
        assert wrong.json() == {"error": "invalid_client"}  # CLIENT_SECRET is the US one
    finally:
        accounts["in"].stop()
        books.stop()
        state.webhooks.close()

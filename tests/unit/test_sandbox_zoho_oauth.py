"""The Zoho accounts servers and token checks of the Books API, over real HTTP on loopback.

Also the helpers the other `test_sandbox_zoho_*` modules use: `world` (served accounts and Books
apps per data centre), `consent`, `exchange`, `token_for` and `books_get`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sandbox.zoho_books import ServedZoho, serve_zoho
from sandbox.zoho_books.datacentres import DATA_CENTRES
from sandbox.zoho_books.world import WORLD_CLIENT_ID, WORLD_REDIRECT, make_world, world_org, world_secret

FULL = "ZohoBooks.fullaccess.all"


def consent(served: ServedZoho, dc: str, scope: str = FULL, access_type: str = "offline") -> str:
    """The code `/oauth/v2/auth` redirects back with (the sandbox consents at once)."""
    answer = httpx.get(f"{served.accounts[dc].base_url}/oauth/v2/auth", params={
        "scope": scope, "client_id": WORLD_CLIENT_ID, "response_type": "code", "redirect_uri": WORLD_REDIRECT,
        "access_type": access_type, "state": "xyz"})
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["location"] == [dc] and query["state"] == ["xyz"]
    assert query["accounts-server"] == [served.accounts[dc].base_url]
    return query["code"][0]


def exchange(served: ServedZoho, dc: str, code: str, *, secret: str | None = None) -> httpx.Response:
    """`grant_type=authorization_code` at `dc`'s accounts server, as a form."""
    return httpx.post(f"{served.accounts[dc].base_url}/oauth/v2/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": WORLD_CLIENT_ID,
        "client_secret": secret or world_secret(dc), "redirect_uri": WORLD_REDIRECT})


def refresh(served: ServedZoho, dc: str, refresh_token: str) -> httpx.Response:
    """`grant_type=refresh_token` with the parameters in the query string, as Zoho's docs show."""
    return httpx.post(f"{served.accounts[dc].base_url}/oauth/v2/token", params={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": WORLD_CLIENT_ID,
        "client_secret": world_secret(dc)})


def token_for(served: ServedZoho, dc: str, scope: str = FULL) -> dict[str, Any]:
    """A fresh token response of `dc`."""
    answer = exchange(served, dc, consent(served, dc, scope))
    assert answer.status_code == 200 and "access_token" in answer.json(), answer.text
    return answer.json()


def books_get(served: ServedZoho, dc: str, path: str, token: str | None, org: str | None = None,
              **params: Any) -> httpx.Response:
    """A GET on `dc`'s Books API with `organization_id` (default: the DC's organisation)."""
    headers = {"Authorization": f"Zoho-oauthtoken {token}"} if token else {}
    return httpx.get(f"{served.books[dc].base_url}/books/v3{path}", headers=headers,
                     params={"organization_id": org or world_org(dc), **params})


def control(served: ServedZoho, dc: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A control-plane call on `dc`'s Books app."""
    url = f"{served.books[dc].base_url}/__sandbox{path}"
    answer = httpx.post(url, json=body or {}) if body is not None else httpx.get(url)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def world() -> Iterator[ServedZoho]:
    """US and EU, each with its accounts server and Books API."""
    served = serve_zoho(make_world(["us", "eu"]), ["us", "eu"])
    yield served
    served.stop()


@pytest.fixture(scope="module")
def all_dcs() -> Iterator[ServedZoho]:
    served = serve_zoho(make_world(list(DATA_CENTRES)), list(DATA_CENTRES))
    yield served
    served.stop()


def test_code_exchange_answers_tokens_and_the_dcs_api_domain(world: ServedZoho) -> None:
    body = token_for(world, "eu")
    assert body["api_domain"] == world.books["eu"].base_url != world.books["us"].base_url
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer" and body["refresh_token"]
    orgs = httpx.get(f"{body['api_domain']}/books/v3/organizations",
                     headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"}).json()
    assert orgs["code"] == 0 and [o["organization_id"] for o in orgs["organizations"]] == [world_org("eu")]


def test_online_access_gives_no_refresh_token(world: ServedZoho) -> None:
    body = exchange(world, "us", consent(world, "us", access_type="online")).json()
    assert "access_token" in body and "refresh_token" not in body


def test_a_code_is_single_use(world: ServedZoho) -> None:
    code = consent(world, "us")
    assert "access_token" in exchange(world, "us", code).json()
    again = exchange(world, "us", code)
    assert again.status_code == 200 and again.json() == {"error": "invalid_code"}


def test_a_code_expires_after_two_minutes(world: ServedZoho) -> None:
    fresh, stale = consent(world, "us"), consent(world, "us")
    control(world, "us", "/clock/advance", {"seconds": 119})
    assert "access_token" in exchange(world, "us", fresh).json()
    control(world, "us", "/clock/advance", {"seconds": 2})
    assert exchange(world, "us", stale).json() == {"error": "invalid_code"}


def test_consent_refuses_unknown_clients_and_redirects(world: ServedZoho) -> None:
    base = {"scope": FULL, "response_type": "code", "access_type": "offline"}
    unknown = httpx.get(f"{world.accounts['us'].base_url}/oauth/v2/auth",
                        params=base | {"client_id": "1000.NOPE", "redirect_uri": WORLD_REDIRECT})
    assert unknown.status_code == 400 and unknown.json() == {"error": "invalid_client"}
    elsewhere = httpx.get(f"{world.accounts['us'].base_url}/oauth/v2/auth",
                          params=base | {"client_id": WORLD_CLIENT_ID, "redirect_uri": "http://evil.example/cb"})
    assert elsewhere.status_code == 400 and elsewhere.json() == {"error": "invalid_redirect_uri"}


def test_wrong_secret_or_data_centre_is_refused(world: ServedZoho) -> None:
    assert exchange(world, "us", consent(world, "us"), secret=world_secret("eu")).json() == {"error": "invalid_client"}
    code_of_us = consent(world, "us")
    assert exchange(world, "eu", code_of_us).json() == {"error": "invalid_code"}


def test_each_data_centres_token_is_refused_by_every_other(all_dcs: ServedZoho) -> None:
    tokens = {dc: token_for(all_dcs, dc)["access_token"] for dc in DATA_CENTRES}
    for dc, token in tokens.items():
        for other in DATA_CENTRES:
            answer = books_get(all_dcs, other, "/contacts", token)
            if other == dc:
                assert answer.status_code == 200 and answer.json()["code"] == 0
            else:
                assert answer.status_code == 401 and answer.json()["code"] == 57, (dc, other)


def test_the_21st_refresh_token_silently_revokes_the_oldest(world: ServedZoho) -> None:
    issued = [token_for(world, "us")["refresh_token"] for _ in range(21)]
    assert refresh(world, "us", issued[0]).json() == {"error": "invalid_code"}
    assert "access_token" in refresh(world, "us", issued[1]).json()
    assert control(world, "us", "/stats")["tokens"]["refresh_tokens_by_user"]["user-us"] == 20


def test_access_tokens_expire_after_an_hour_and_refresh_mints_new_ones(world: ServedZoho) -> None:
    body = token_for(world, "us")
    control(world, "us", "/clock/advance", {"seconds": 3599})
    assert books_get(world, "us", "/contacts", body["access_token"]).status_code == 200
    control(world, "us", "/clock/advance", {"seconds": 1})
    expired = books_get(world, "us", "/contacts", body["access_token"])
    assert expired.status_code == 401 and expired.json()["code"] == 57
    fresh = refresh(world, "us", body["refresh_token"]).json()
    assert set(fresh) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert books_get(world, "us", "/contacts", fresh["access_token"]).status_code == 200


def test_refreshing_more_than_ten_times_in_ten_minutes_is_throttled(world: ServedZoho) -> None:
    rt = token_for(world, "us")["refresh_token"]
    assert all("access_token" in refresh(world, "us", rt).json() for _ in range(10))
    throttled = refresh(world, "us", rt)
    assert throttled.status_code == 400 and throttled.json()["error"] == "Access Denied"
    control(world, "us", "/clock/advance", {"seconds": 600})
    assert "access_token" in refresh(world, "us", rt).json()


def test_missing_header_is_code_14_and_a_dead_token_code_57(world: ServedZoho) -> None:
    missing = books_get(world, "us", "/contacts", None)
    assert missing.status_code == 401 and missing.json()["code"] == 14
    bearer = httpx.get(f"{world.books['us'].base_url}/books/v3/contacts",
                       headers={"Authorization": f"Bearer {token_for(world, 'us')['access_token']}"},
                       params={"organization_id": world_org("us")})
    assert bearer.status_code == 401 and bearer.json()["code"] == 14
    garbage = books_get(world, "us", "/contacts", "1000.garbage.garbage")
    assert garbage.status_code == 401 and garbage.json() == {
        "code": 57, "message": "You are not authorized to perform this operation"}


def test_scopes_limit_modules_and_operations(world: ServedZoho) -> None:
    token = token_for(world, "us", scope="ZohoBooks.contacts.READ")["access_token"]
    assert books_get(world, "us", "/contacts", token).status_code == 200
    assert books_get(world, "us", "/invoices", token).json()["code"] == 57
    create = httpx.post(f"{world.books['us'].base_url}/books/v3/contacts", params={"organization_id": world_org("us")},
                        headers={"Authorization": f"Zoho-oauthtoken {token}"}, json={"contact_name": "X"})
    assert create.status_code == 401 and create.json()["code"] == 57


def test_revoking_a_refresh_token_kills_its_access_tokens(world: ServedZoho) -> None:
    body = token_for(world, "us")
    minted = refresh(world, "us", body["refresh_token"]).json()["access_token"]
    revoked = httpx.post(f"{world.accounts['us'].base_url}/oauth/v2/token/revoke",
                         params={"token": body["refresh_token"]})
    assert revoked.json() == {"status": "success"}
    assert books_get(world, "us", "/contacts", minted).status_code == 401
    assert refresh(world, "us", body["refresh_token"]).json() == {"error": "invalid_code"}

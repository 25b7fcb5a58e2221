"""The common authenticators with hand-built responses (httpx.MockTransport) and a fake clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.common.auth import (
    ApiKeyAuth,
    BasicAuth,
    CookieSession,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    basic_token,
)
from connectors.common.errors import AuthError
from tests.unit.fakes import FakeClock

CLIENT_ID, CLIENT_SECRET, REFRESH = "client-id-7f3a", "client-secret-9c2e", "refresh-1b4d"
TOKEN_URL = "https://auth.test/v3/token"


class Server:
    """A token endpoint handing out tok-1, tok-2 …, and an API accepting only the latest token."""

    def __init__(self, *, expires_in: int = 900, extra: dict | None = None, delay: float = 0.0) -> None:
        self.issued = 0
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.expires_in, self.extra, self.delay = expires_in, extra or {}, delay
        self.reject_next = 0
        self.seen_tokens: list[str | None] = []  # a re-sent request is the same object: note its header as sent

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/token":
            self.token_requests.append(request)
            time.sleep(self.delay)
            self.issued += 1
            return httpx.Response(200, json={"access_token": f"tok-{self.issued}", "token_type": "Bearer",
                                             "expires_in": self.expires_in} | self.extra)
        self.api_requests.append(request)
        self.seen_tokens.append(request.headers.get("WM_SEC.ACCESS_TOKEN"))
        if self.reject_next:
            self.reject_next -= 1
            return httpx.Response(401, json={"error": "expired"})
        return httpx.Response(200, json={"ok": True})


def api(auth: httpx.Auth, server: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(base_url="https://api.test", auth=auth, transport=httpx.MockTransport(server))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


# -- static credentials --------------------------------------------------------------------------------


def test_api_key_auth_sets_its_header_and_hides_the_key() -> None:
    auth = ApiKeyAuth("API-Key", "  secret-key-123 ")
    seen = []
    api(auth, lambda r: seen.append(r) or httpx.Response(200)).get("/x")
    assert seen[0].headers["API-Key"] == "secret-key-123"
    assert "secret-key-123" not in repr(auth) and "sha256:" in repr(auth)
    assert auth.redaction_values() == ("secret-key-123",)
    with pytest.raises(AuthError, match="required"):
        ApiKeyAuth("API-Key", " ")


def test_basic_auth_sets_the_header_and_hides_the_pair() -> None:
    auth = BasicAuth("user-1", "pw-1")
    seen = []
    api(auth, lambda r: seen.append(r) or httpx.Response(200)).get("/x")
    assert seen[0].headers["Authorization"] == "Basic " + basic_token("user-1", "pw-1")
    assert not any(s in repr(auth) for s in auth.redaction_values())


# -- OAuth 2.0 client credentials ----------------------------------------------------------------------


def walmart_auth(server: Server, clock: FakeClock, correlation: list[str] | None = None) -> OAuth2ClientCredentials:
    ids = iter(range(1000))

    def headers() -> dict[str, str]:
        value = f"corr-{next(ids)}"
        if correlation is not None:
            correlation.append(value)
        return {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": value}

    return OAuth2ClientCredentials(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, header_name="WM_SEC.ACCESS_TOKEN",
                                   header_format="{token}", extra_headers=headers,
                                   transport=httpx.MockTransport(server), clock=clock)


def test_client_credentials_request_and_header() -> None:
    server, clock, correlation = Server(), FakeClock(), []
    api(walmart_auth(server, clock, correlation), server).get("/v3/orders")
    token_request = server.token_requests[0]
    assert token_request.method == "POST"
    assert token_request.headers["Authorization"] == "Basic " + basic_token(CLIENT_ID, CLIENT_SECRET)
    assert form(token_request) == {"grant_type": "client_credentials"}
    assert token_request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
    assert token_request.headers["WM_QOS.CORRELATION_ID"] == correlation[0]
    assert server.api_requests[0].headers["WM_SEC.ACCESS_TOKEN"] == "tok-1"
    assert "authorization" not in server.api_requests[0].headers


def test_token_is_cached_and_renewed_a_margin_before_it_expires() -> None:
    server, clock = Server(expires_in=900), FakeClock()
    client = api(walmart_auth(server, clock), server)
    client.get("/a")
    clock.sleep(839)
    client.get("/b")
    assert len(server.token_requests) == 1
    clock.sleep(1)  # 900 - 60 s margin
    client.get("/c")
    assert len(server.token_requests) == 2
    assert server.api_requests[-1].headers["WM_SEC.ACCESS_TOKEN"] == "tok-2"


def test_a_401_refreshes_the_token_and_resends_once() -> None:
    server, clock = Server(), FakeClock()
    client = api(walmart_auth(server, clock), server)
    client.get("/a")
    server.reject_next = 1
    response = client.post("/b", json={"qty": 3})
    assert response.status_code == 200 and len(server.token_requests) == 2
    assert server.seen_tokens[1:] == ["tok-1", "tok-2"]
    assert json.loads(server.api_requests[-1].content) == {"qty": 3}
    server.reject_next = 2
    assert client.get("/c").status_code == 401  # re-sent once, then the 401 stands
    assert len(server.api_requests) == 5


def test_concurrent_callers_share_one_token_request() -> None:
    server, clock = Server(delay=0.05), FakeClock()
    auth = walmart_auth(server, clock)
    client = api(auth, server)
    threads = [threading.Thread(target=client.get, args=("/x",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.api_requests) == 8 and len(server.token_requests) == 1 == auth.token_requests


def test_bad_client_credentials_are_an_auth_error_without_secrets() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        echo = f"{CLIENT_SECRET} {request.headers['Authorization']}"
        return httpx.Response(400, json={"error": "invalid_client", "error_description": echo})

    auth = OAuth2ClientCredentials(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, transport=httpx.MockTransport(refuse))
    with pytest.raises(AuthError) as raised:
        auth.token()
    texts = [str(raised.value), repr(raised.value), raised.value.excerpt or "", repr(auth)]
    for text in texts:
        assert CLIENT_SECRET not in text and basic_token(CLIENT_ID, CLIENT_SECRET) not in text, text


def test_a_reply_without_access_token_is_an_auth_error() -> None:
    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": "invalid_code"})

    auth = OAuth2ClientCredentials(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, transport=httpx.MockTransport(empty))
    with pytest.raises(AuthError, match="invalid_code"):
        auth.token()


# -- OAuth 2.0 refresh token ---------------------------------------------------------------------------


def zoho_auth(server: Server, clock: FakeClock, seen: list[dict]) -> OAuth2RefreshToken:
    return OAuth2RefreshToken(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, REFRESH, header_format="Zoho-oauthtoken {token}",
                              on_token=seen.append, transport=httpx.MockTransport(server), clock=clock)


def test_refresh_grant_body_header_and_api_domain() -> None:
    server, clock, seen = Server(expires_in=3600, extra={"api_domain": "https://www.zohoapis.in/"}), FakeClock(), []
    auth = zoho_auth(server, clock, seen)
    api(auth, server).get("/books/v3/invoices")
    assert form(server.token_requests[0]) == {"grant_type": "refresh_token", "refresh_token": REFRESH,
                                              "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert "authorization" not in server.token_requests[0].headers
    assert server.api_requests[0].headers["Authorization"] == "Zoho-oauthtoken tok-1"
    assert auth.api_domain == auth.api_base_url == "https://www.zohoapis.in"
    assert seen[0]["api_domain"] == "https://www.zohoapis.in/"
    assert REFRESH not in repr(auth) and CLIENT_SECRET not in repr(auth)


def test_refresh_after_55_minutes_and_a_rotated_refresh_token_is_handed_over() -> None:
    server, clock, seen = Server(expires_in=3600, extra={"refresh_token": "refresh-NEW"}), FakeClock(), []
    client = api(zoho_auth(server, clock, seen), server)
    client.get("/a")
    clock.sleep(55 * 60 - 1)
    client.get("/b")
    assert len(server.token_requests) == 1
    clock.sleep(1)
    client.get("/c")
    assert len(server.token_requests) == 2 and form(server.token_requests[1])["refresh_token"] == "refresh-NEW"
    assert [s["refresh_token"] for s in seen] == ["refresh-NEW", "refresh-NEW"]


def test_refresh_token_auth_retries_a_401_once() -> None:
    server, clock = Server(expires_in=3600), FakeClock()
    client = api(zoho_auth(server, clock, []), server)
    server.reject_next = 1
    assert client.get("/a").status_code == 200 and len(server.token_requests) == 2


# -- cookie session ------------------------------------------------------------------------------------


class Acumatica:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.sessions = 0
        self.expire_next = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        cookie = request.headers.get("Cookie")
        self.calls.append((request.method, request.url.path, cookie))
        if request.url.path == "/entity/auth/login":
            if json.loads(request.content)["password"] != "pw-secret":
                return httpx.Response(401, json={"exceptionMessage": "Invalid credentials pw-wrong"})
            self.sessions += 1
            return httpx.Response(204, headers={"Set-Cookie": f".ASPXAUTH=session-{self.sessions}; path=/"})
        if request.url.path == "/entity/auth/logout":
            return httpx.Response(204)
        if self.expire_next or cookie != f".ASPXAUTH=session-{self.sessions}":
            self.expire_next = False
            return httpx.Response(401)
        return httpx.Response(200, json=[])


CREDENTIALS = {"name": "api-user", "password": "pw-secret", "tenant": "Company", "branch": "HQ"}


def session(server: Acumatica, **credentials: str) -> CookieSession:
    return CookieSession("https://erp.test", CREDENTIALS | credentials, transport=httpx.MockTransport(server))


def erp(auth: CookieSession, server: Acumatica) -> httpx.Client:
    return httpx.Client(base_url="https://erp.test", auth=auth, transport=httpx.MockTransport(server))


def test_logs_in_on_first_request_and_sends_the_cookie() -> None:
    server = Acumatica()
    with session(server) as auth:
        client = erp(auth, server)
        client.get("/entity/Default/23.200.001/SalesOrder")
        client.get("/entity/Default/23.200.001/Shipment")
    assert [c[1] for c in server.calls] == ["/entity/auth/login", "/entity/Default/23.200.001/SalesOrder",
                                            "/entity/Default/23.200.001/Shipment", "/entity/auth/logout"]
    assert server.calls[1][2] == server.calls[3][2] == ".ASPXAUTH=session-1"
    assert auth.logins == 1 and not auth.logged_in


def test_an_expired_session_logs_in_again_once() -> None:
    server = Acumatica()
    with session(server) as auth:
        client = erp(auth, server)
        client.get("/a")
        server.expire_next = True
        assert client.get("/b").status_code == 200
    assert auth.logins == 2 and server.calls[-2][2] == ".ASPXAUTH=session-2"


def test_a_failing_run_still_logs_out() -> None:
    server = Acumatica()
    with pytest.raises(RuntimeError), session(server) as auth:
        erp(auth, server).get("/a")
        raise RuntimeError("the run broke")
    assert server.calls[-1][:2] == ("POST", "/entity/auth/logout")


def test_closing_an_unused_session_sends_nothing() -> None:
    server = Acumatica()
    session(server).close()
    assert server.calls == []


def test_a_refused_login_is_an_auth_error_without_the_password() -> None:
    server = Acumatica()
    auth = session(server, password="pw-wrong")
    with pytest.raises(AuthError) as raised:
        erp(auth, server).get("/a")
    for text in (str(raised.value), raised.value.excerpt or "", repr(auth)):
        assert "pw-wrong" not in text, text
    auth.close()
    assert [c[1] for c in server.calls] == ["/entity/auth/login"]  # never logged in: no logout

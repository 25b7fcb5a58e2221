"""One Walmart token per expiry window across OS processes (issue 13 item 1), through `state.token_cache`.

Real processes (subprocess) call the Walmart simulator over loopback at the same moment; the
simulator's own `token_requests` counter is the judge.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from connectors.common.auth import CachedToken, MemoryTokenCache, OAuth2ClientCredentials, TokenCache
from sandbox.runner import ServedApp, serve
from sandbox.walmart import WalmartState, create_app
from state.token_cache import FileTokenCache

CLIENT_ID, CLIENT_SECRET = "cache-client", "cache-secret-value"
ROOT = Path(__file__).resolve().parents[2]

# One "Dagster step": wait for the start signal, make one authenticated call, report its own token requests.
STEP = """
import json, os, sys, time
from pathlib import Path
from connectors.common.ratelimit import PerEndpointBuckets
from connectors.walmart.client import WalmartClient
from state.token_cache import FileTokenCache
go = Path(os.environ["GO_FILE"])
Path(os.environ["READY_FILE"]).touch()
while not go.exists():
    time.sleep(0.002)
client = WalmartClient(client_id=os.environ["CID"], client_secret=os.environ["CSECRET"], base_url=os.environ["BASE"],
                       pacer=PerEndpointBuckets(), token_cache=FileTokenCache(os.environ["TOKENS"]))
client.count_orders()
print(json.dumps({"token_requests": client.auth.token_requests}))
"""


def slow_token_endpoint(app, seconds: float = 0.3):
    """The token call takes a while (as a real one over the internet does), so concurrent callers overlap."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/v3/token":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)
    return wrapped


@pytest.fixture
def sim() -> Iterator[ServedApp]:
    app = create_app(WalmartState(), credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=False)
    served = serve(slow_token_endpoint(app))
    try:
        yield served
    finally:
        served.stop()


def stats(served: ServedApp) -> dict:
    return httpx.get(f"{served.base_url}/__sandbox/stats", timeout=10).json()


def run_steps(served: ServedApp, tokens: Path, count: int, tmp: Path) -> list[int]:
    """Start `count` processes, release them together once all are ready; each one's own token requests."""
    run = uuid.uuid4().hex[:8]
    go = tmp / f"go-{run}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BASE": served.base_url, "CID": CLIENT_ID,
           "CSECRET": CLIENT_SECRET, "TOKENS": str(tokens), "GO_FILE": str(go)}
    procs, ready = [], []
    for n in range(count):
        ready.append(tmp / f"ready-{run}-{n}")
        procs.append(subprocess.Popen([sys.executable, "-c", STEP], env={**env, "READY_FILE": str(ready[-1])},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline, "the step processes did not start"
        time.sleep(0.01)
    go.touch()
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout.strip().splitlines()[-1])["token_requests"])
    return out


def test_processes_asking_at_once_make_one_token_request(sim: ServedApp, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    per_process = run_steps(sim, tokens, 3, tmp_path)
    assert stats(sim)["token_requests"] == 1
    assert sorted(per_process) == [0, 0, 1]
    assert stats(sim)["by_endpoint"]["GET /v3/orders"] == 3


def test_later_processes_reuse_the_token_and_a_401_refreshes_it_once(sim: ServedApp, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    run_steps(sim, tokens, 1, tmp_path)
    run_steps(sim, tokens, 2, tmp_path)
    assert stats(sim)["token_requests"] == 1
    httpx.post(f"{sim.base_url}/__sandbox/tokens/revoke", timeout=10).raise_for_status()
    per_process = run_steps(sim, tokens, 2, tmp_path)  # the revoked token is refused: 401, one refresh
    assert stats(sim)["token_requests"] == 2
    assert sum(per_process) == 1
    assert stats(sim)["by_status"]["401"] >= 1


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def walmart_token_auth(served: ServedApp, cache: TokenCache, clock: FakeTime) -> OAuth2ClientCredentials:
    headers = lambda: {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": str(uuid.uuid4())}  # noqa: E731
    return OAuth2ClientCredentials(f"{served.base_url}/v3/token", CLIENT_ID, CLIENT_SECRET,
                                   header_name="WM_SEC.ACCESS_TOKEN", header_format="{token}", extra_headers=headers,
                                   expiry_margin=90,
                                   clock=clock, wall=clock, cache=cache, system="walmart")


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_expiry_makes_exactly_one_more_request_for_everyone_sharing(sim: ServedApp, tmp_path: Path,
                                                                    kind: str) -> None:
    cache: TokenCache = FileTokenCache(tmp_path / "tokens") if kind == "file" else MemoryTokenCache()
    clock = FakeTime()
    first, second = walmart_token_auth(sim, cache, clock), walmart_token_auth(sim, cache, clock)
    assert first.token() == second.token()
    clock.now += 800  # 900 s tokens renewed 90 s early: not yet
    assert first.token() == second.token()
    assert stats(sim)["token_requests"] == 1
    clock.now += 20
    renewed = second.token()
    assert first.token() == renewed
    assert stats(sim)["token_requests"] == 2
    assert first.token_requests + second.token_requests == 2


def test_a_refused_token_is_discarded_only_while_it_is_still_the_shared_one(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens")
    cache.put("k1", CachedToken(SecretStr("old"), 2e9))
    cache.discard("k1", "other")
    assert cache.get("k1") is not None and cache.get("k1").is_token("old")
    cache.discard("k1", "old")
    assert cache.get("k1") is None


def test_tokens_are_encrypted_at_rest_and_a_foreign_file_reads_as_absent(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    cache = FileTokenCache(tmp_path / "tokens", key)
    cache.put("k1", CachedToken(SecretStr("very-secret-token"), 2e9, {"api_domain": "https://x"}))
    raw = (tmp_path / "tokens" / "k1.tok").read_bytes()
    assert b"very-secret-token" not in raw
    assert oct((tmp_path / "tokens" / "k1.tok").stat().st_mode & 0o777) == "0o600"
    again = FileTokenCache(tmp_path / "tokens", key).get("k1")
    assert again is not None and again.is_token("very-secret-token") and again.extra == {"api_domain": "https://x"}
    assert "very-secret-token" not in repr(again)
    assert FileTokenCache(tmp_path / "tokens", Fernet.generate_key()).get("k1") is None  # another key: refetch
    (tmp_path / "tokens" / "k1.tok").write_bytes(b"garbage")
    assert cache.get("k1") is None


def test_without_a_credential_key_the_directory_keeps_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ML_CONNECTOR_CREDENTIALS_KEY", raising=False)
    monkeypatch.setattr("state.token_cache.resolve_key", lambda: None)
    one = FileTokenCache.for_home(tmp_path)
    one.put("k2", CachedToken(SecretStr("t"), 2e9))
    other = FileTokenCache.for_home(tmp_path)  # another process: same key file
    assert other.get("k2") is not None
    assert oct((tmp_path / "tokens" / ".key").stat().st_mode & 0o777) == "0o600"


def test_cache_keys_must_be_digests(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens")
    with pytest.raises(ValueError):
        cache.get("../escape")


def test_a_refresh_token_auth_adopts_the_shared_token_and_its_api_domain() -> None:
    from connectors.common.auth import OAuth2RefreshToken

    calls = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"access_token": f"tok-{len(calls)}", "expires_in": 3600,
                                         "api_domain": "https://www.zohoapis.in"})

    cache, clock = MemoryTokenCache(), FakeTime()
    zoho = [OAuth2RefreshToken("https://accounts.zoho.in/oauth/v2/token", "cid", "csecret", "refresh",
                               transport=httpx.MockTransport(token_endpoint), cache=cache, clock=clock, wall=clock)
            for _ in range(2)]
    assert zoho[0].token() == zoho[1].token() == "tok-1"
    assert len(calls) == 1 and zoho[1].api_domain == "https://www.zohoapis.in"
    zoho[1].invalidate("tok-1")  # a 401 in one process: it refreshes
    assert zoho[1].token() == "tok-2" and len(calls) == 2
    zoho[0].invalidate("tok-1")  # the same 401 in the other: it adopts the refreshed token
    assert zoho[0].token() == "tok-2" and len(calls) == 2

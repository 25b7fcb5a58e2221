"""The fault proxy on a tiny upstream: each fault kind does what it says, measured at the upstream."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.faults.proxy import FaultProxy, Rule
from sandbox.runner import serve


class Upstream:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def app(self) -> Starlette:
        async def write(request: Request) -> JSONResponse:
            self.writes.append(await request.body())
            return JSONResponse({"stored": len(self.writes), "pad": "x" * 2000})

        async def read(request: Request) -> JSONResponse:
            return JSONResponse({"writes": len(self.writes), "q": request.url.query})

        return Starlette(routes=[Route("/write", write, methods=["POST"]), Route("/read", read, methods=["GET"])])


@pytest.fixture
def upstream():
    up = Upstream()
    served = serve(up.app())
    up.url = served.base_url
    try:
        yield up
    finally:
        served.stop()


@pytest.fixture
def proxy(upstream):
    with FaultProxy(upstream.url) as px:
        yield px


def wait_for(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def victim() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_forwards_requests_and_bodies_unchanged(proxy, upstream):
    with httpx.Client(base_url=proxy.base_url) as client:
        assert client.get("/read?a=1&b=%C3%A9").json() == {"writes": 0, "q": "a=1&b=%C3%A9"}
        assert client.post("/write", content=b"<IMPORTDATA>x</IMPORTDATA>").json()["stored"] == 1
        assert client.post("/write", content=iter([b"chunked ", b"body"])).status_code == 200
    assert upstream.writes == [b"<IMPORTDATA>x</IMPORTDATA>", b"chunked body"]


def test_status_hits_only_the_nth_matching_requests_and_says_retry_after(proxy, upstream):
    proxy.set_rules([Rule("status", method="POST", body="Import", nth=2, times=2, status=429, retry_after=3)])
    with httpx.Client(base_url=proxy.base_url) as client:
        codes = [client.post("/write", content=body) for body in (b"Import 1", b"Export", b"Import 2",
                                                                   b"Import 3", b"Import 4")]
    assert [r.status_code for r in codes] == [200, 200, 429, 429, 200]
    assert codes[2].headers["retry-after"] == "3"
    assert upstream.writes == [b"Import 1", b"Export", b"Import 4"]


def test_a_5xx_burst_never_reaches_the_upstream(proxy, upstream):
    proxy.set_rules([Rule("status", path="^/write", times=3, status=503)])
    with httpx.Client(base_url=proxy.base_url) as client:
        codes = [client.post("/write", content=b"w").status_code for _ in range(4)]
    assert codes == [503, 503, 503, 200] and len(upstream.writes) == 1


def test_a_stall_past_the_client_timeout_still_delivers_the_write(proxy, upstream):
    proxy.set_rules([Rule("stall", method="POST", seconds=0.5, forward=True)])
    with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=proxy.base_url, timeout=0.1) as client:
        client.post("/write", content=b"late")
    wait_for(lambda: upstream.writes == [b"late"], "the stalled write to land")


def test_a_stall_without_forwarding_drops_the_request(proxy, upstream):
    proxy.set_rules([Rule("stall", seconds=0.1)])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)), httpx.Client(base_url=proxy.base_url) as c:
        c.post("/write", content=b"lost")
    assert upstream.writes == []


def test_reset_mid_response_after_the_upstream_committed(proxy, upstream):
    proxy.set_rules([Rule("reset", method="POST")])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)), httpx.Client(base_url=proxy.base_url) as c:
        c.post("/write", content=b"committed")
    assert upstream.writes == [b"committed"]
    with httpx.Client(base_url=proxy.base_url) as client:  # the next connection works again
        assert client.get("/read").json()["writes"] == 1


@pytest.mark.parametrize(("action", "delivered"), [("kill_before", []), ("kill_after", [b"w"])])
def test_kill_sigkills_the_victims_process_group_before_or_after_the_write(proxy, upstream, action, delivered):
    proc = victim()
    proxy.victim = proc.pid
    proxy.set_rules([Rule(action, method="POST")])
    with pytest.raises(httpx.TransportError), httpx.Client(base_url=proxy.base_url) as client:
        client.post("/write", content=b"w")
    assert proc.wait(timeout=10) == -9
    assert upstream.writes == delivered and proxy.kills == 1


def test_refuse_makes_the_upstream_unreachable_for_a_while(proxy, upstream):
    proxy.set_rules([Rule("refuse", method="POST", seconds=1.0)])
    assert httpx.post(f"{proxy.base_url}/write", content=b"w").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{proxy.base_url}/read")

    def reachable() -> bool:
        try:
            return httpx.get(f"{proxy.base_url}/read").status_code == 200
        except httpx.ConnectError:
            return False

    wait_for(reachable, "the proxy to listen again")
    assert upstream.writes == [b"w"]


def test_pass_forwards_and_calls_its_hook_first(proxy, upstream):
    seen: list[int] = []
    proxy.set_rules([Rule("pass", method="POST", nth=2, on_hit=lambda: seen.append(len(upstream.writes)))])
    with httpx.Client(base_url=proxy.base_url) as client:
        assert [client.post("/write", content=b"w").status_code for _ in range(3)] == [200, 200, 200]
    assert seen == [1] and len(upstream.writes) == 3  # called once, before the second write was forwarded

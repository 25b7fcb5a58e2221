"""The LAN agent over real HTTP on loopback, in front of a stand-in for TallyPrime's port 9000."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.tally.agent import create_agent_app
from connectors.tally.client import TallyClient
from connectors.tally.errors import TallyOutcomeUnknown
from connectors.tally.models import LedgerEntry, Voucher
from sandbox.runner import ServedApp, free_port

TOKEN = "agent-token-0123456789abcdef-XYZ"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IMPORT = {**AUTH, "X-ML-Request-Kind": "import", "Content-Type": "text/xml;charset=utf-16"}
EXPORT = {**IMPORT, "X-ML-Request-Kind": "export"}
REPLY = "<RESPONSE><CREATED>1</CREATED><ERRORS>0</ERRORS><EXCEPTIONS>0</EXCEPTIONS><!--REPLY-MARKER--></RESPONSE>"
COMPANIES = ("<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DATA><COLLECTION>"
             '<COMPANY NAME="Demo Traders Pvt Ltd"/></COLLECTION></DATA></BODY></ENVELOPE>')


def body(marker: str = "SECRET-NARRATION-MARKER") -> bytes:
    return f"<ENVELOPE><NARRATION>{marker} राम</NARRATION></ENVELOPE>".encode("utf-16-le")


class FakeTally:
    """Records every call and how many overlapped; answers a fixed RESPONSE (or the company list)."""

    def __init__(self, delay: float = 0.0, statuses: list[int] | None = None) -> None:
        self.delay = delay
        self.statuses = statuses or []
        self.calls: list[tuple[bytes, str]] = []
        self.active = 0
        self.max_active = 0
        self.overlaps = 0
        self.app = Starlette(routes=[Route("/", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        data = await request.body()
        self.active += 1
        self.overlaps += self.active > 1
        self.max_active = max(self.max_active, self.active)
        self.calls.append((data, request.headers.get("content-type", "")))
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        status = self.statuses.pop(0) if self.statuses else 200
        text = COMPANIES if "MLCompanies" in data.decode("utf-16-le", "ignore") else REPLY
        return Response(text.encode("utf-16-le"), status_code=status,
                        headers={"content-type": "text/xml; charset=utf-16"})


class Dropper:
    """Reads one whole request per connection, then closes it without answering."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.received.append(rest)

    def close(self) -> None:
        self.sock.close()


def agent(upstream_url: str, **options: object) -> ServedApp:
    options = {"retry_base_delay": 0.05, "retry_attempts": 4, **options}
    return ServedApp(create_agent_app(upstream_url, TOKEN, **options))  # type: ignore[arg-type]


@pytest.fixture
def tally() -> Iterator[tuple[FakeTally, ServedApp]]:
    fake = FakeTally()
    with ServedApp(fake.app) as served:
        yield fake, served


def test_empty_token_refuses_to_start() -> None:
    for token in ("", "   "):
        with pytest.raises(ValueError, match="empty"):
            create_agent_app("http://127.0.0.1:9000", token)


def test_auth_is_required(tally: tuple[FakeTally, ServedApp]) -> None:
    fake, upstream = tally
    with agent(upstream.base_url) as served:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": f"Bearer {TOKEN}x"}):
            response = httpx.post(served.base_url, content=body(), headers=headers)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert fake.calls == []


def test_forwards_bytes_and_content_type_verbatim(tally: tuple[FakeTally, ServedApp]) -> None:
    fake, upstream = tally
    with agent(upstream.base_url) as served:
        response = httpx.post(served.base_url, content=body(), headers=IMPORT)
    assert response.status_code == 200
    assert response.content == REPLY.encode("utf-16-le")
    assert response.headers["content-type"] == "text/xml; charset=utf-16"
    assert fake.calls == [(body(), "text/xml;charset=utf-16")]


def test_concurrent_requests_reach_tally_one_at_a_time() -> None:
    fake = FakeTally(delay=0.05)
    with ServedApp(fake.app) as upstream, agent(upstream.base_url) as served:
        def post(i: int) -> httpx.Response:
            return httpx.post(served.base_url, content=body(f"m{i}"), headers=EXPORT, timeout=30)

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(post, range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert len(fake.calls) == 8 and fake.overlaps == 0 and fake.max_active == 1


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_requests_are_forwarded_in_arrival_order() -> None:
    fake = FakeTally(delay=0.3)
    with ServedApp(fake.app) as upstream, agent(upstream.base_url) as served, ThreadPoolExecutor(5) as pool:
        forwarder = served.app.state.forwarder
        futures = []
        for i in range(5):
            futures.append(pool.submit(httpx.post, served.base_url, content=body(f"m{i}"), headers=EXPORT,
                                       timeout=30))
            # the next request leaves only once this one has arrived (in flight, or queued behind the others)
            wait_until(lambda i=i: len(fake.calls) + forwarder.depth >= i + 1)
        assert all(f.result().status_code == 200 for f in futures)
    assert [c[0] for c in fake.calls] == [body(f"m{i}") for i in range(5)]


def test_upstream_down_then_up_is_retried_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    fake = FakeTally()
    with agent(f"http://127.0.0.1:{port}/", retry_attempts=10) as served, ThreadPoolExecutor(1) as pool:
        future = pool.submit(httpx.post, served.base_url, content=body(), headers=IMPORT, timeout=30)
        time.sleep(0.6)
        with ServedApp(fake.app, port=port):
            response = future.result()
    assert response.status_code == 200 and len(fake.calls) == 1
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) >= 2 and "upstream_unreachable" in retries[0]


def test_upstream_down_for_good_answers_502() -> None:
    with agent(f"http://127.0.0.1:{free_port()}/", retry_attempts=2) as served:
        response = httpx.post(served.base_url, content=body(), headers=EXPORT)
    assert response.status_code == 502 and response.json()["error"] == "upstream_unreachable"


def test_import_dropped_after_sending_is_not_resent() -> None:
    dropper = Dropper()
    try:
        with agent(dropper.url) as served:
            imported = httpx.post(served.base_url, content=body(), headers=IMPORT, timeout=30)
            assert imported.status_code == 504 and imported.json()["error"] == "outcome_unknown"
            assert dropper.received == [body()]
            exported = httpx.post(served.base_url, content=body(), headers=EXPORT, timeout=30)
            assert exported.status_code == 504 and exported.json()["error"] == "upstream_timeout"
            assert len(dropper.received) == 1 + 4  # exports are safe to re-send: all 4 attempts used
            unknown_kind = httpx.post(served.base_url, content=body(), headers=AUTH, timeout=30)
            assert unknown_kind.json()["error"] == "outcome_unknown" and len(dropper.received) == 6
    finally:
        dropper.close()


def test_slow_import_times_out_as_outcome_unknown_and_client_maps_it() -> None:
    fake = FakeTally(delay=1.5)
    with ServedApp(fake.app) as upstream, agent(upstream.base_url, request_timeout=0.4) as served:
        client = TallyClient(served.base_url, "Demo Traders Pvt Ltd", token=TOKEN, timeout=10)
        voucher = Voucher(voucher_type="Journal", date=date(2025, 4, 1), view="Accounting Voucher View",
                          ledger_entries=[LedgerEntry(ledger_name="Cash", amount=Decimal("-1.00")),
                                          LedgerEntry(ledger_name="Sales", amount=Decimal("1.00"))])
        with pytest.raises(TallyOutcomeUnknown):
            client.import_vouchers([voucher])
        time.sleep(0.2)
    assert len(fake.calls) == 1


def test_import_5xx_is_outcome_unknown_but_503_is_retried() -> None:
    fake = FakeTally(statuses=[503, 500])
    with ServedApp(fake.app) as upstream, agent(upstream.base_url) as served:
        response = httpx.post(served.base_url, content=body(), headers=IMPORT)
    assert response.status_code == 504 and response.json()["error"] == "outcome_unknown"
    assert len(fake.calls) == 2


def test_oversize_bodies_are_refused(tally: tuple[FakeTally, ServedApp]) -> None:
    fake, upstream = tally
    with agent(upstream.base_url, max_body_bytes=1000) as served:
        assert httpx.post(served.base_url, content=b"x" * 2000, headers=IMPORT).status_code == 413

        def chunks() -> Iterator[bytes]:
            for _ in range(5):
                yield b"y" * 400

        assert httpx.post(served.base_url, content=chunks(), headers=IMPORT).status_code == 413
        assert httpx.post(served.base_url, content=b"z" * 900, headers=IMPORT).status_code == 200
    assert [c[0] for c in fake.calls] == [b"z" * 900]


def test_queue_is_bounded() -> None:
    fake = FakeTally(delay=0.6)
    with ServedApp(fake.app) as upstream, agent(upstream.base_url, queue_depth=1) as served, \
            ThreadPoolExecutor(3) as pool:
        first = pool.submit(httpx.post, served.base_url, content=body(), headers=EXPORT, timeout=30)
        time.sleep(0.2)
        rest = [pool.submit(httpx.post, served.base_url, content=body(), headers=EXPORT, timeout=30)
                for _ in range(2)]
        statuses = sorted([first.result().status_code, *(f.result().status_code for f in rest)])
    assert statuses == [200, 200, 503]


def test_caller_that_gives_up_before_sending_withdraws_its_request() -> None:
    fake = FakeTally(delay=1.0)
    with ServedApp(fake.app) as upstream, agent(upstream.base_url) as served, ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.post, served.base_url, content=body("first"), headers=IMPORT, timeout=30)
        time.sleep(0.2)
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(served.base_url, content=body("second"), headers=IMPORT, timeout=0.3)
        assert first.result().status_code == 200
        time.sleep(0.5)
    assert [c[0] for c in fake.calls] == [body("first")]


def test_health(tally: tuple[FakeTally, ServedApp]) -> None:
    _, upstream = tally
    with agent(upstream.base_url) as served:
        anonymous = httpx.get(f"{served.base_url}/health")
        detailed = httpx.get(f"{served.base_url}/health", headers=AUTH)
    assert anonymous.status_code == 200 and anonymous.json() == {"ok": True}
    assert detailed.json()["companies"] == ["Demo Traders Pvt Ltd"] and detailed.json()["company_loaded"]
    with agent(f"http://127.0.0.1:{free_port()}/") as served:
        down = httpx.get(f"{served.base_url}/health", headers=AUTH)
    assert down.status_code == 503 and down.json()["ok"] is False


def test_bodies_and_token_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTally(statuses=[503])
    with ServedApp(fake.app) as upstream, agent(upstream.base_url) as served:
        assert httpx.post(served.base_url, content=body(), headers=EXPORT).status_code == 200
        httpx.post(served.base_url, content=b"x" * 10, headers={"Authorization": "Bearer leaked-guess"})
        httpx.get(f"{served.base_url}/health", headers=AUTH)
    text = caplog.text
    assert "kind=export" in text and "status=200" in text
    for secret in ("SECRET-NARRATION-MARKER", "REPLY-MARKER", "राम", TOKEN, "leaked-guess", "Demo Traders"):
        assert secret not in text

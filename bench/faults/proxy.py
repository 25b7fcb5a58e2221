"""A loopback HTTP/1.1 proxy that injects faults between our sync process and any simulator.

Point a flow's base URL at `FaultProxy(upstream).start().base_url`; every request is forwarded to the
upstream unless a `Rule` takes it. A rule matches by method, a regex searched in the request target
(path and query) and a substring of the body (e.g. ``<TALLYREQUEST>Import`` vs ``Export`` for
TallyPrime), and acts on the `nth` matching request (1-based) and the `times - 1` after it:

- ``pass``: forward as usual (with `on_hit`, a moment to act on a simulator, e.g. revoke a token);
- ``status``: answer `status` without forwarding (a 429 carries ``Retry-After: retry_after``);
- ``stall``: wait `seconds`, then forward (``forward=True``) or drop the connection unanswered;
- ``reset``: forward (the upstream commits), send the headers and part of the body, then RST;
- ``kill_before``: SIGKILL the victim's process group, then drop the request unforwarded;
- ``kill_after``: forward (the upstream commits), SIGKILL the victim before its answer reaches it;
- ``refuse``: answer this request, then stop listening for `seconds` (new connections are refused,
  open ones closed): the host is unreachable from the next request on.

No hook in the product is needed: the proxy only sees HTTP. It imports nothing of ours.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import httpx

from bench.faults.wire import HttpRequest, read_request, write_response

ACTIONS = ("pass", "status", "stall", "reset", "kill_before", "kill_after", "refuse")
_CODECS = ("utf-8", "utf-16-le")  # TallyPrime is often spoken to in UTF-16
_HOP = {"host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length", "te",
        "upgrade", "content-encoding"}


@dataclass
class Rule:
    action: str
    method: str | None = None
    path: str | None = None
    body: str | None = None
    nth: int = 1
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    forward: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # extra headers of a `status` answer
    on_hit: Callable[[], object] | None = None  # called (off the loop) when the rule hits, before it acts
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; one of {ACTIONS}")

    def matches(self, request: HttpRequest) -> bool:
        return ((self.method is None or request.method == self.method.upper())
                and (self.path is None or re.search(self.path, request.target) is not None)
                and (self.body is None or any(self.body.encode(codec) in request.body for codec in _CODECS)))

    def take(self, request: HttpRequest) -> bool:
        """Count a matching request; True if this one is to be hit."""
        if not self.matches(request):
            return False
        self.seen += 1
        hit = self.nth <= self.seen < self.nth + self.times
        self.fired += hit
        return hit


@dataclass
class Hit:
    method: str
    target: str
    action: str


@dataclass
class FaultProxy:
    """The proxy, served by an asyncio loop in a daemon thread."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    host: str = "127.0.0.1"
    victim: int | None = None  # pid of a process group leader (the sync started with start_new_session)
    hits: list[Hit] = field(default_factory=list)
    requests: int = 0
    kills: int = 0

    def __post_init__(self) -> None:
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_rules(self, rules: list[Rule]) -> None:
        with self._lock:
            self.rules = list(rules)

    def outage(self, seconds: float) -> None:
        """Refuse connections for `seconds` from now."""
        asyncio.run_coroutine_threadsafe(self._refuse(seconds), self._loop).result(timeout=10)

    # --- serving ------------------------------------------------------------------------------
    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        self._http = httpx.AsyncClient(base_url=self.upstream, timeout=httpx.Timeout(600.0, connect=10.0))

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            _abort(writer)
        await self._http.aclose()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while (request := await read_request(reader)) is not None:
                if not await self._serve(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            _abort(writer)

    def _rule_for(self, request: HttpRequest) -> Rule | None:
        with self._lock:
            self.requests += 1
            hit = next((rule for rule in self.rules if rule.take(request)), None)
            if hit is not None:
                self.hits.append(Hit(request.method, request.target, hit.action))
            return hit

    async def _serve(self, request: HttpRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is to be dropped."""
        rule = self._rule_for(request)
        action = rule.action if rule else "forward"
        if rule is not None and rule.on_hit is not None:
            await asyncio.get_running_loop().run_in_executor(None, rule.on_hit)
        if action == "status":
            return await _answer_status(writer, rule)
        if action == "kill_before":
            self._kill()
            return False
        if action == "stall":
            await asyncio.sleep(rule.seconds)
            if not rule.forward:
                return False
        if action == "kill_after":  # the upstream committed (or dropped us): the victim never hears back
            try:
                await self._forward(request)
            finally:
                self._kill()
            return False
        status, headers, body = await self._forward(request)
        if action == "refuse":  # this one is answered; nobody after it gets through (an unreachable host)
            await self._refuse(rule.seconds, keep=writer)
            await write_response(writer, status, headers, body)
            return False
        if action == "reset":
            await write_response(writer, status, headers, body, cut=max(1, len(body) // 2))
            return False
        await write_response(writer, status, headers, body)
        return True

    async def _forward(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP]
        try:
            response = await self._http.request(request.method, request.target, headers=headers,
                                                content=request.body)
        except httpx.HTTPError as exc:  # the upstream dropped us: so do we, to the client
            raise ConnectionError(f"upstream: {exc!r}") from exc
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP]
        return response.status_code, kept, response.content

    def _kill(self) -> None:
        if self.victim is None:
            return
        try:
            os.killpg(self.victim, signal.SIGKILL)
            self.kills += 1
        except ProcessLookupError:
            pass

    async def _refuse(self, seconds: float, keep: asyncio.StreamWriter | None = None) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            if writer is not keep:
                _abort(writer)
        self._loop.call_later(seconds, lambda: asyncio.ensure_future(self._reopen()))

    async def _reopen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._connection, self.host, self.port, reuse_address=True)


async def _answer_status(writer: asyncio.StreamWriter, rule: Rule) -> bool:
    headers = [("content-type", "application/json"), *rule.headers.items()]
    if rule.retry_after is not None:
        headers.append(("retry-after", f"{rule.retry_after:g}"))
    phrase = HTTPStatus(rule.status).phrase if rule.status in HTTPStatus._value2member_map_ else "Error"
    body = f'{{"message": "{phrase} (injected)"}}'.encode()
    await write_response(writer, rule.status, headers, body)
    return True


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()

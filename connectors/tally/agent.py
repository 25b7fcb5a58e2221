"""The LAN agent: an authenticated front for TallyPrime's unauthenticated XML port (reference §8).

Runs on the office PC beside TallyPrime (`ml-connector agent`). `POST /` forwards the body
and its Content-Type to Tally one request at a time and answers Tally's body verbatim.
`GET /health` answers `{"ok": bool}` to anyone (for a monitor) and adds the loaded company
names, queue depth and reason only for callers with the token: company names are business data.
Request and response bodies are never logged; only method, size, duration and outcome.

Refusals, in the order they are checked (`agent_guard` holds the checks):
429 `rate_limited` (per caller address, Retry-After set; checked before the token so guessing is
slow too), 401 `unauthorised` (neither the token nor, during a change-over, the next token),
413 `too_large`, 403 `read_only` (a read-only agent, `TALLY_AGENT_READ_ONLY`, forwards only
Export envelopes without TDL functions), 503 `queue_full`. A body whose TALLYREQUEST is not an
Export is handled as an import (never re-sent) whatever its `X-ML-Request-Kind` header says.

Token rotation without downtime: start the agent with `TALLY_AGENT_TOKEN` (old) and
`TALLY_AGENT_TOKEN_NEXT` (new); both are accepted. Move the pipeline to the new token, then restart
the agent with the new token as `TALLY_AGENT_TOKEN` and no next one.
TLS: `agent_tls.make_self_signed_cert` writes a certificate for the LAN; `run_agent` serves it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tally import codec
from connectors.tally.agent_guard import ClientLimiter, TokenSet, inspect_body
from connectors.tally.agent_queue import Forwarder, Job, Outcome, error_outcome
from connectors.tally.errors import CompanyNotLoaded, TallyError, TallyProtocolError
from connectors.tally.settings import (
    AGENT_HEALTH_CACHE_SECONDS,
    AGENT_HEALTH_TIMEOUT_SECONDS,
    AGENT_MAX_BODY_BYTES,
    AGENT_QUEUE_DEPTH,
    AGENT_RATE_BURST,
    AGENT_RATE_PER_MINUTE,
    AGENT_REQUEST_TIMEOUT_SECONDS,
    AGENT_RETRY_ATTEMPTS,
    AGENT_RETRY_BASE_DELAY_SECONDS,
    AGENT_RETRY_MAX_DELAY_SECONDS,
    REQUEST_KIND_HEADER,
    RequestKind,
)

logger = logging.getLogger("connectors.tally.agent")

_POLL_SECONDS = 0.2
_MIN_TOKEN_LENGTH = 24


class _Agent:
    """Request handlers bound to one forwarder, its tokens and its limits."""

    def __init__(self, forwarder: Forwarder, tokens: TokenSet, max_body_bytes: int, health_cache: float,
                 limiter: ClientLimiter, read_only: bool) -> None:
        self.forwarder = forwarder
        self._tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.health_cache = health_cache
        self.limiter = limiter
        self.read_only = read_only
        self._health: tuple[float, dict[str, Any]] | None = None
        self._health_lock = asyncio.Lock()

    def authorised(self, request: Request) -> bool:
        """Constant-time check of `Authorization: Bearer <token>` against the current and next token."""
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self._tokens.matches(presented)

    def _throttled(self, request: Request) -> Response | None:
        wait = self.limiter.admit(request.client.host if request.client else "")
        if not wait:
            return None
        logger.info("%s %s refused: rate limited", request.method, request.url.path)
        return JSONResponse({"error": "rate_limited", "retry_after": math.ceil(wait)}, status_code=429,
                            headers={"Retry-After": str(math.ceil(wait))})

    async def forward(self, request: Request) -> Response:
        """POST /: queue the body for Tally and answer Tally's reply."""
        started = time.monotonic()
        if (throttled := self._throttled(request)) is not None:
            return throttled
        if not self.authorised(request):
            return _unauthorised()
        body = await self._read_bounded(request)
        if body is None:
            logger.info("POST / refused: body over %d bytes", self.max_body_bytes)
            return JSONResponse({"error": "too_large", "max_bytes": self.max_body_bytes}, status_code=413)
        content_type = request.headers.get("content-type", "text/xml")
        kind, refusal = self._admit_kind(request, body, content_type)
        if refusal is not None:
            logger.info("POST / refused: read-only agent (%s)", refusal)
            return JSONResponse({"error": "read_only", "detail": refusal}, status_code=403)
        job = Job(body=body, content_type=content_type, kind=kind)
        outcome = await self._run(job, request)
        if outcome is None:
            logger.info("POST / kind=%s size=%d abandoned by caller before sending", kind, len(body))
            return Response(status_code=499)
        logger.info("POST / kind=%s size=%d status=%d outcome=%s attempts=%d reply=%d duration=%.3fs",
                    kind, len(body), outcome.status, outcome.note, outcome.attempts, len(outcome.body),
                    time.monotonic() - started)
        return Response(outcome.body, status_code=outcome.status, headers={"content-type": outcome.content_type})

    def _admit_kind(self, request: Request, body: bytes, content_type: str) -> tuple[RequestKind, str | None]:
        """The kind to treat the body as (an import unless header and body both say export) and,
        for a read-only agent, why it is refused."""
        try:
            facts = inspect_body(codec.decode_response(body, content_type))
        except TallyProtocolError as exc:
            return "import", f"body is not readable text: {exc}" if self.read_only else None
        kind: RequestKind = "export" if _kind(request) == "export" and facts.kind in ("export", None) else "import"
        return kind, facts.read_only_refusal() if self.read_only else None

    async def _read_bounded(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return None  # refuse before reading any of it
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _run(self, job: Job, request: Request | None) -> Outcome | None:
        """Queue `job` and wait; a caller that disconnects before it is sent withdraws it."""
        try:
            self.forwarder.submit(job)
        except asyncio.QueueFull:
            return error_outcome(503, "queue_full", f"{self.forwarder.queue_depth} requests already waiting")
        while True:
            done, _ = await asyncio.wait({job.future}, timeout=_POLL_SECONDS)
            if done:
                return job.future.result()
            if request is not None and not job.started and await request.is_disconnected():
                job.abandoned = True
                return None

    async def health(self, request: Request) -> Response:
        """GET /health: `{"ok": bool}` for anyone; company names and details only with the token."""
        if (throttled := self._throttled(request)) is not None:
            return throttled
        details = await self._probe()
        body = dict(details) if self.authorised(request) else {"ok": details["ok"]}
        return JSONResponse(body, status_code=200 if details["ok"] else 503)

    async def _probe(self) -> dict[str, Any]:
        async with self._health_lock:
            now = time.monotonic()
            if self._health is None or now - self._health[0] > self.health_cache:
                self._health = (now, await self._ask_companies())
            return {**self._health[1], "queue_depth": self.forwarder.depth}

    async def _ask_companies(self) -> dict[str, Any]:
        xml = codec.company_request()
        job = Job(body=codec.encode_request(xml), content_type=codec.content_type(), kind="export",
                  retry=False, timeout=AGENT_HEALTH_TIMEOUT_SECONDS)
        outcome = await self._run(job, None)
        assert outcome is not None
        if outcome.status != 200:
            return {"ok": False, "tally": outcome.note, "companies": []}
        reply = codec.decode_response(outcome.body, outcome.content_type)
        try:
            names = [] if codec.is_server_running(reply) else [c.name for c in codec.parse_companies(reply)]
        except CompanyNotLoaded:
            names = []
        except TallyError as exc:
            return {"ok": False, "tally": f"unexpected_reply: {type(exc).__name__}", "companies": []}
        return {"ok": True, "tally": "running", "company_loaded": bool(names), "companies": names,
                "read_only": self.read_only}


def _kind(request: Request) -> RequestKind:
    # Unknown or missing kinds are treated as imports: never re-sent once they may have landed.
    return "export" if request.headers.get(REQUEST_KIND_HEADER, "").strip().lower() == "export" else "import"


def _unauthorised() -> Response:
    return JSONResponse({"error": "unauthorised"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def create_agent_app(
    upstream_url: str,
    token: str,
    *,
    next_token: str | None = None,
    read_only: bool = False,
    rate_per_minute: float = AGENT_RATE_PER_MINUTE,
    rate_burst: float = AGENT_RATE_BURST,
    max_body_bytes: int = AGENT_MAX_BODY_BYTES,
    request_timeout: float = AGENT_REQUEST_TIMEOUT_SECONDS,
    retry_attempts: int = AGENT_RETRY_ATTEMPTS,
    retry_base_delay: float = AGENT_RETRY_BASE_DELAY_SECONDS,
    retry_max_delay: float = AGENT_RETRY_MAX_DELAY_SECONDS,
    queue_depth: int = AGENT_QUEUE_DEPTH,
    health_cache_seconds: float = AGENT_HEALTH_CACHE_SECONDS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the agent app; refuses an empty token (the agent would be an open door to the books).

    `next_token`: a second token accepted during a change-over. `read_only`: forward exports only.
    """
    if not token or not token.strip():
        raise ValueError("TALLY_AGENT_TOKEN is empty; refusing to start the Tally agent")
    tokens = TokenSet([token, next_token or ""])
    if tokens.shortest() < _MIN_TOKEN_LENGTH:
        logger.warning("an agent token is shorter than %d characters", _MIN_TOKEN_LENGTH)
    if not upstream_url.startswith(("http://", "https://")):
        raise ValueError(f"upstream URL must be http(s): {upstream_url!r}")
    forwarder = Forwarder(upstream_url, request_timeout=request_timeout, retry_attempts=retry_attempts,
                          retry_base_delay=retry_base_delay, retry_max_delay=retry_max_delay,
                          queue_depth=queue_depth, transport=transport)
    limiter = ClientLimiter(rate_per_minute, 60.0, burst=rate_burst)
    agent = _Agent(forwarder, tokens, max_body_bytes, health_cache_seconds, limiter, read_only)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await forwarder.start()
        try:
            yield
        finally:
            await forwarder.stop()

    routes = [Route("/", agent.forward, methods=["POST"]), Route("/health", agent.health, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.forwarder = forwarder  # its queue depth, for a monitor or a test
    return app


def options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`run_agent` keyword options from the agent's environment variables (see the module docstring)."""
    options: dict[str, Any] = {
        "next_token": env.get("TALLY_AGENT_TOKEN_NEXT", "").strip() or None,
        "read_only": env.get("TALLY_AGENT_READ_ONLY", "").strip().lower() in ("1", "true", "yes", "on"),
        "ssl_certfile": env.get("TALLY_AGENT_CERT", "").strip() or None,
        "ssl_keyfile": env.get("TALLY_AGENT_KEY", "").strip() or None,
    }
    for name, key in (("TALLY_AGENT_RATE_PER_MINUTE", "rate_per_minute"), ("TALLY_AGENT_MAX_BODY_BYTES",
                                                                           "max_body_bytes")):
        if env.get(name, "").strip():
            options[key] = float(env[name]) if key == "rate_per_minute" else int(env[name])
    if bool(options["ssl_certfile"]) != bool(options["ssl_keyfile"]):
        raise ValueError("set both TALLY_AGENT_CERT and TALLY_AGENT_KEY, or neither")
    return options


def run_agent(host: str, port: int, upstream_url: str, token: str, *, ssl_certfile: str | None = None,
              ssl_keyfile: str | None = None, **options: Any) -> None:
    """Serve the agent with uvicorn in one process (one process = one queue = one request at a time)."""
    import uvicorn

    app = create_agent_app(upstream_url, token, **options)
    if ssl_certfile is None and host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("agent listens on %s without TLS: the bearer token crosses the LAN in clear", host)
    queue_depth = options.get("queue_depth", AGENT_QUEUE_DEPTH)
    uvicorn.run(app, host=host, port=port, workers=1, access_log=False, log_level="info",
                limit_concurrency=queue_depth * 2 + 8, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)

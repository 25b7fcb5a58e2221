"""The LAN agent's single-worker FIFO queue that forwards requests to TallyPrime one at a time.

Reference §1: Tally has no documented concurrency model and parallel requests have corrupted
state or crashed it, so exactly one request is in flight. Retries follow §5: a request that
never reached Tally (connection refused) is always re-sent; an import that may have reached
it is never re-sent, because Tally has no idempotency and could post it twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import httpx

from connectors.tally.settings import CLIENT_CONNECT_TIMEOUT_SECONDS, RequestKind

logger = logging.getLogger("connectors.tally.agent")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Outcome:
    """What the agent answers for one job."""

    status: int
    body: bytes
    content_type: str
    attempts: int
    note: str


@dataclass(eq=False)
class Job:
    """One request waiting for, or being forwarded by, the worker."""

    body: bytes
    content_type: str
    kind: RequestKind
    retry: bool = True
    timeout: float | None = None
    started: bool = False
    abandoned: bool = False
    future: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def error_outcome(status: int, error: str, detail: str, attempts: int = 0) -> Outcome:
    """A JSON error answer from the agent itself."""
    body = json.dumps({"error": error, "detail": detail, "attempts": attempts}).encode()
    return Outcome(status, body, "application/json", attempts, error)


class Forwarder:
    """Bounded FIFO queue drained by exactly one worker task."""

    def __init__(self, upstream_url: str, *, request_timeout: float, retry_attempts: int,
                 retry_base_delay: float, retry_max_delay: float, queue_depth: int,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.upstream_url = upstream_url
        self.request_timeout = request_timeout
        self.retry_attempts = max(1, retry_attempts)
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.queue_depth = queue_depth
        self._transport = transport
        self._queue: asyncio.Queue[Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._current: Job | None = None

    @property
    def depth(self) -> int:
        """Jobs waiting (not counting the one in flight)."""
        return 0 if self._queue is None else self._queue.qsize()

    async def start(self) -> None:
        """Create the queue, the upstream client and the single worker."""
        self._queue = asyncio.Queue(maxsize=self.queue_depth)
        self._http = httpx.AsyncClient(transport=self._transport)
        self._worker = asyncio.create_task(self._run(), name="tally-agent-worker")

    async def stop(self) -> None:
        """Stop the worker; the job in flight and whatever is still queued get an answer."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        current = self._current
        if current is not None and not current.future.done():
            error = "outcome_unknown" if current.kind == "import" else "shutting_down"
            current.future.set_result(error_outcome(504 if current.kind == "import" else 503, error,
                                                    "agent stopped while forwarding"))
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_result(error_outcome(503, "shutting_down", "agent stopped before sending"))
        if self._http is not None:
            await self._http.aclose()

    def submit(self, job: Job) -> None:
        """Queue a job; raises asyncio.QueueFull when the queue is at its bound."""
        if self._queue is None:
            raise RuntimeError("forwarder not started")
        self._queue.put_nowait(job)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            if job.abandoned:  # the caller gave up before we sent anything: never send it
                continue
            job.started = True
            self._current = job
            try:
                outcome = await self._forward(job)
            except Exception as exc:  # keep the single worker alive whatever happens
                logger.error("agent worker failed: %s", type(exc).__name__)
                outcome = error_outcome(500, "agent_error", type(exc).__name__)
            self._current = None
            if not job.future.done():
                job.future.set_result(outcome)

    def _delay(self, attempt: int) -> float:
        return min(self.retry_base_delay * 2 ** (attempt - 1), self.retry_max_delay)

    async def _forward(self, job: Job) -> Outcome:
        """Send one job, retrying only where nothing can have been committed twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (job.timeout or self.request_timeout)
        attempt = 0
        while True:
            attempt += 1
            outcome, retryable = await self._attempt(job, attempt, deadline - loop.time())
            delay = self._delay(attempt)
            if not retryable or not job.retry or attempt >= self.retry_attempts:
                return outcome
            if loop.time() + delay >= deadline:
                return outcome
            logger.warning("tally upstream %s (attempt %d/%d, kind=%s); retrying in %.2fs",
                           outcome.note, attempt, self.retry_attempts, job.kind, delay)
            await asyncio.sleep(delay)

    async def _attempt(self, job: Job, attempt: int, remaining: float) -> tuple[Outcome, bool]:
        """One try; returns the answer and whether trying again is safe and useful."""
        assert self._http is not None
        remaining = max(remaining, 0.001)
        timeout = httpx.Timeout(remaining, connect=min(remaining, CLIENT_CONNECT_TIMEOUT_SECONDS))
        try:
            response = await self._http.post(self.upstream_url, content=job.body, timeout=timeout,
                                             headers={"Content-Type": job.content_type})
        except _NOT_SENT as exc:
            return error_outcome(502, "upstream_unreachable", type(exc).__name__, attempt), True
        except httpx.TransportError as exc:
            if job.kind == "import":
                detail = f"{type(exc).__name__} after the body was sent; look it up before re-sending"
                return error_outcome(504, "outcome_unknown", detail, attempt), False
            return error_outcome(504, "upstream_timeout", type(exc).__name__, attempt), True
        status = response.status_code
        if status < 500:
            content_type = response.headers.get("content-type", "text/xml")
            return Outcome(status, response.content, content_type, attempt, "forwarded"), False
        if job.kind == "import" and status != 503:
            # Only 503 says "not processed"; any other 5xx may follow a commit.
            return error_outcome(504, "outcome_unknown", f"upstream HTTP {status}", attempt), False
        return error_outcome(502, "upstream_error", f"upstream HTTP {status}", attempt), True

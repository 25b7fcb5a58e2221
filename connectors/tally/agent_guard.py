"""What the LAN agent checks before a request may queue for TallyPrime: who, how often, and what.

- `TokenSet`: the agent token and, during a change-over, the next one (`TALLY_AGENT_TOKEN_NEXT`);
  both are compared in constant time, every time, so which one matched is not leaked by timing.
- `ClientLimiter`: a token bucket per caller address; a caller over its rate is told when to come
  back (429 + Retry-After) instead of queueing, so one runaway client cannot starve the others.
- `request_kind`: what the body itself asks Tally to do, read with the hardened parser. The
  `X-ML-Request-Kind` header only tells the agent what is safe to re-send; it is the caller's word.
  A read-only agent trusts the body alone: only an `Export` envelope with no TDL function passes
  (a TDL `FUNCTION` can run actions that write, even inside an export).
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from connectors.common.ratelimit import TokenBucket
from connectors.tally.errors import TallyProtocolError
from connectors.tally.settings import RequestKind
from connectors.tally.xml_parse import parse_xml

_MAX_CLIENTS = 4096


class TokenSet:
    """Bearer tokens the agent accepts: the current one and an optional next one."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(t.strip().encode() for t in tokens if t and t.strip())
        if not self._tokens:
            raise ValueError("TALLY_AGENT_TOKEN is empty; refusing to start the Tally agent")

    def __repr__(self) -> str:
        return f"TokenSet({len(self._tokens)} token(s))"

    def __len__(self) -> int:
        return len(self._tokens)

    def matches(self, presented: str) -> bool:
        """Constant-time check against every token (no early exit)."""
        candidate = presented.strip().encode()
        hits = [hmac.compare_digest(candidate, token) for token in self._tokens]
        return any(hits)

    def shortest(self) -> int:
        return min(len(t) for t in self._tokens)


class ClientLimiter:
    """One token bucket per caller key (an address); remembers at most `max_clients`, oldest dropped."""

    def __init__(self, rate: float, per_seconds: float = 60.0, *, burst: float | None = None,
                 max_clients: int = _MAX_CLIENTS, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.per_seconds, self.burst = rate, per_seconds, burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __repr__(self) -> str:
        return f"ClientLimiter({self.rate}/{self.per_seconds}s, clients={len(self._buckets)})"

    def admit(self, key: str) -> float:
        """0 when `key` may go now (and counts it), else the seconds until it may."""
        bucket = self._buckets.pop(key, None) or TokenBucket(self.rate, self.per_seconds, capacity=self.burst,
                                                              clock=self._clock, sleep=_never_sleep)
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        wait = bucket.wait_time()
        if wait > 0:
            return wait
        bucket.before_request()
        return 0.0


def _never_sleep(seconds: float) -> None:  # pragma: no cover - admit() only takes when wait_time() is 0
    raise RuntimeError("ClientLimiter never waits")


@dataclass(frozen=True)
class BodyFacts:
    """What a request body asks of Tally: `kind` (None if it names none), or why it cannot be read."""

    kind: RequestKind | None
    has_function: bool = False
    unreadable: str | None = None

    def read_only_refusal(self) -> str | None:
        """Why a read-only agent must refuse this body, or None when it only reads."""
        if self.unreadable:
            return f"body is not safe XML: {self.unreadable}"
        if self.kind != "export":
            return "the body is not an Export request"
        if self.has_function:
            return "an export carrying a TDL FUNCTION can write"
        return None


def inspect_body(text: str) -> BodyFacts:
    """Read the envelope's TALLYREQUEST and look for TDL functions, with the hardened parser."""
    try:
        root = parse_xml(text)
    except TallyProtocolError as exc:  # HostileXmlError included: a DOCTYPE is never expanded
        return BodyFacts(None, unreadable=str(exc))
    request = root.findtext("HEADER/TALLYREQUEST")
    has_function = any(isinstance(el.tag, str) and el.tag.upper() == "FUNCTION" for el in root.iter())
    if request is None:
        return BodyFacts(None, has_function)
    # Tally's older envelopes say "Export Data"; the versioned ones "Export" with a TYPE.
    kind: RequestKind = "export" if request.strip().lower().startswith("export") else "import"
    return BodyFacts(kind, has_function)

"""Sharing an OAuth access token between processes: the ``TokenCache`` interface and an in-memory one.

Dagster's multiprocess executor runs each step in its own process; with only an in-process cache each
step buys its own token. A :class:`TokenCache` (one file per credential under the state directory in
production: ``state.token_cache.FileTokenCache``) lets every process reuse one token per expiry window.
``lock(key)`` serialises the refresh across processes: the first caller holds it while it asks for a
token, the others wait and then read the token it stored, so concurrent callers make ONE request.

Entries carry a wall-clock renewal time (epoch seconds), since a monotonic clock means nothing to
another process. Keys are digests of the token URL and the credentials, never the credentials.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import SecretStr


@dataclass(frozen=True)
class CachedToken:
    """An access token and the wall-clock time (epoch seconds) at which it is due for renewal."""

    access_token: SecretStr
    renew_at: float
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. Zoho's api_domain; never a secret

    def __repr__(self) -> str:
        return f"CachedToken(renew_at={self.renew_at:.0f})"

    def fresh(self, now: float) -> bool:
        return now < self.renew_at

    def is_token(self, token: str) -> bool:
        return self.access_token.get_secret_value() == token


@runtime_checkable
class TokenCache(Protocol):
    """Where authenticators share tokens; ``lock`` may be a no-op for a cache used by one process only."""

    def get(self, key: str) -> CachedToken | None:
        """The stored token for ``key``, or None (missing or unreadable: the caller fetches a new one)."""
        ...

    def put(self, key: str, token: CachedToken) -> None:
        """Store ``token`` under ``key``, replacing what was there."""
        ...

    def discard(self, key: str, token: str) -> None:
        """Forget ``key``'s token, but only while it is still ``token`` (so parallel 401s refresh once)."""
        ...

    def lock(self, key: str) -> AbstractContextManager[None]:
        """Held around read-check-refresh-store, across every process sharing the cache."""
        ...


def cache_key(token_url: str, fingerprint: str) -> str:
    """The cache key of one credential at one token endpoint (a digest: safe as a file name)."""
    return hashlib.sha256(f"{token_url}\n{fingerprint}".encode()).hexdigest()[:32]


class MemoryTokenCache:
    """A process-local :class:`TokenCache` (tests, and several authenticators in one process)."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        with self._guard:
            return self._entries.get(key)

    def put(self, key: str, token: CachedToken) -> None:
        with self._guard:
            self._entries[key] = token

    def discard(self, key: str, token: str) -> None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None and entry.is_token(token):
                del self._entries[key]

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

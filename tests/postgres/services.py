"""The servers the production tests need (PostgreSQL, Redis), found through the environment.

`.ci/run` installs both from Debian's packages, starts them and exports `ML_CONNECTOR_TEST_PG_URL` /
`ML_CONNECTOR_TEST_REDIS_URL` with `ML_CONNECTOR_REQUIRE_SERVICES=1`, so in CI a missing server fails
the test. Elsewhere (a laptop without them) the tests skip and say which variable to set.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

PG_ENV = "ML_CONNECTOR_TEST_PG_URL"
REDIS_ENV = "ML_CONNECTOR_TEST_REDIS_URL"
REQUIRE_ENV = "ML_CONNECTOR_REQUIRE_SERVICES"


def service_url(env_name: str, what: str) -> str:
    """The server's URL, after checking it answers; skip (or fail in CI) with the reason otherwise."""
    url = os.environ.get(env_name, "")
    problem = f"{env_name} is not set" if not url else _unreachable(url)
    if problem is None:
        return url
    message = f"{what} is needed: {problem} (`.ci/run` installs and starts it; or point {env_name} at one)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(message)
    pytest.skip(message)


def _unreachable(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=3).close()
    except OSError as exc:
        return f"nothing answers at {parts.hostname}:{parts.port} ({exc})"
    return None


def pg_url() -> str:
    return service_url(PG_ENV, "PostgreSQL")


def redis_url() -> str:
    return service_url(REDIS_ENV, "Redis")


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A schema name no other test uses, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

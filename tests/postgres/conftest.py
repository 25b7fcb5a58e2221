"""`backend`: runs a test once on the SQLite default and once on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from state.backends import DATABASE_URL_ENV, SCHEMA_ENV
from tests.postgres.services import fresh_schema, pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stores' backend for this test: with `postgresql`, every store opened (in this process or in a
    child it starts) lives in a fresh schema of the test server, chosen the way production chooses it."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = pg_url()
    with fresh_schema(url) as schema:
        monkeypatch.setenv(DATABASE_URL_ENV, url)
        monkeypatch.setenv(SCHEMA_ENV, schema)
        yield "postgresql"

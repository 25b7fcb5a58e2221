"""A PostgreSQL webhook queue made when only ShipStation's V1/V2 sources existed gains the new sources on open.

The old table is made here with the old DDL (translated as the store translates it), holding events; opening
the store swaps the source CHECK under its write lock, keeps every event and its id, and takes a Zoho event.
Skips unless ML_CONNECTOR_TEST_PG_URL points at a server (see `tests/postgres/services.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from state.backends.postgres import ddl
from state.webhook_queue import SOURCES, WebhookEvent, WebhookStore
from tests.postgres.services import fresh_schema, pg_url
from tests.unit.test_webhook_sources import OLD_DDL


@pytest.fixture
def old_queue() -> Iterator[tuple[str, str]]:
    """(url, schema) of a queue in the old shape holding three events, the second drained and the third purged."""
    url = pg_url()
    with fresh_schema(url) as schema, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in ddl(OLD_DDL):  # the SQLite DDL of old, as the store translates it
            conn.execute(statement)
        for n, source in enumerate(("v1", "v2", "v1"), start=1):
            conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body,"
                         " delivery_key) VALUES (%s, 'ORDER_NOTIFY', %s, %s, '{}', %s)",
                         (float(n), f"https://ssapi.shipstation.com/orders?n={n}", source, f"key-{n}"))
        conn.execute("UPDATE webhook_events SET drained_at = 10, run_key = 'run-2' WHERE id = 2")
        conn.execute("DELETE FROM webhook_events WHERE id = 3")
        with pytest.raises(psycopg.errors.CheckViolation):  # the old shape refuses a Zoho event
            conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body)"
                         " VALUES (4, 'ZOHO_CONTACT', 'zoho:contacts/1', 'zoho', '{}')")
        yield url, schema


def test_an_old_queue_keeps_its_events_and_takes_every_source(old_queue: tuple[str, str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url, schema = old_queue
    monkeypatch.setenv("ML_CONNECTOR_DATABASE_SCHEMA", schema)
    with WebhookStore("unused", url=url) as store:
        kept = store.after(0)
        assert [(e.id, e.source, e.run_key) for e in kept] == [(1, "v1", None), (2, "v2", "run-2")]
        new_ids = [store.add_once(WebhookEvent(5.0, "ZOHO_CONTACT", f"zoho:contacts/{s}", s, "{}",
                                               delivery_key=f"new-{s}"))[0] for s in SOURCES]
        assert new_ids == sorted(new_ids) and new_ids[0] > 3  # after the purged id 3 (and the refused insert)
        assert store.add_once(WebhookEvent(6.0, "ORDER_NOTIFY", "u", "v1", "{}", delivery_key="key-1")) == (1, False)
        with pytest.raises(Exception, match="check"):  # the constraint is still there, only wider
            store._conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body)"
                                " VALUES (7, 'X', 'u', 'nobody', '{}')")
    with WebhookStore("unused", url=url) as again:  # a second open finds nothing to migrate
        assert again.count() == 2 + len(SOURCES)

"""The webhook receiver's replay protection and rate limit, over real HTTP on loopback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ml_connector.webhooks.app import delivery_key, webhook_path
from state.webhook_queue import WebhookEvent, WebhookStore, queue_path
from tests.unit import test_webhook_receiver as receiver_tests
from tests.unit.test_webhook_receiver import ORDER_URL, SECRET, SHIP_URL, delivery, sign, start

jwks, key, store = receiver_tests.jwks, receiver_tests.key, receiver_tests.store  # the receiver tests' fixtures


def post(base: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(base + webhook_path(SECRET, None), content=body, timeout=30,
                      headers={"Content-Type": "application/json", **(headers or {})})


def test_the_same_delivery_is_stored_once_and_answered_200(store: WebhookStore, jwks) -> None:
    served, _ = start(store, None)
    with served:
        first = post(served.base_url, delivery())
        again = post(served.base_url, delivery())
        other = post(served.base_url, delivery(SHIP_URL, "SHIP_NOTIFY"))
    assert first.json() == {"stored": 1}
    assert again.status_code == 200 and again.json() == {"stored": 1, "duplicate": True}
    assert other.json() == {"stored": 2}
    assert [e.resource_url for e in store.after(0)] == [ORDER_URL, SHIP_URL]


def test_a_replayed_signed_delivery_is_stored_once(store: WebhookStore, key, jwks) -> None:
    body = delivery(kind="SHIP_NOTIFY", url=SHIP_URL)
    served, _ = start(store, jwks[1].base_url + "/jwks")
    with served:
        answers = [post(served.base_url, body, sign(key, "live-1", body)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.json()["stored"] for a in answers} == {1} and store.count() == 1


def test_concurrent_copies_of_one_delivery_are_stored_once(store: WebhookStore) -> None:
    served, _ = start(store, None)
    with served, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: post(served.base_url, delivery()), range(32)))
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["stored"] for a in answers} == {1}
    assert sum("duplicate" not in a.json() for a in answers) == 1
    assert store.count() == 1


def test_a_sender_over_its_rate_gets_429_and_nothing_is_stored(store: WebhookStore) -> None:
    served, _ = start(store, None, rate_per_minute=1, rate_burst=2)  # one token a minute: none refills mid-test
    with served:
        ok = [post(served.base_url, delivery(f"{ORDER_URL}-{i}")) for i in range(2)]
        flooded = post(served.base_url, delivery(f"{ORDER_URL}-3"))
        guessing = httpx.post(served.base_url + webhook_path("wrong-secret-0123456789", None), content=delivery())
    assert [r.status_code for r in ok] == [200, 200]
    assert flooded.status_code == 429 and flooded.json() == {"error": "rate_limited"}
    assert int(flooded.headers["Retry-After"]) >= 1
    assert guessing.status_code == 429  # counted before the secret is even looked at
    assert store.count() == 2


def test_delivery_keys_tell_every_delivered_part_apart() -> None:
    base = delivery_key("v1", "ORDER_NOTIFY", ORDER_URL, delivery())
    assert base == delivery_key("v1", "ORDER_NOTIFY", ORDER_URL, delivery())
    assert base != delivery_key("v2", "ORDER_NOTIFY", ORDER_URL, delivery())
    assert base != delivery_key("v1", "SHIP_NOTIFY", ORDER_URL, delivery())
    assert base != delivery_key("v1", "ORDER_NOTIFY", ORDER_URL + "x", delivery())
    assert delivery_key("v1", "a", "bc", b"") != delivery_key("v1", "ab", "c", b"")  # no ambiguous joins


def test_store_add_once_and_plain_add_side_by_side(tmp_path: Path) -> None:
    with WebhookStore(queue_path(tmp_path)) as store:
        keyed = WebhookEvent(1.0, "ORDER_NOTIFY", ORDER_URL, "v1", "{}", delivery_key="k1")
        assert store.add_once(keyed) == (1, True)
        assert store.add_once_many([keyed, WebhookEvent(2.0, "ORDER_NOTIFY", ORDER_URL, "v1", "{}")]) == [
            (1, False), (2, True)]
        assert store.add(WebhookEvent(3.0, "ORDER_NOTIFY", ORDER_URL, "v1", "{}")) == 3  # no key: always stored
        assert store.count() == 3


def test_a_queue_made_before_replay_protection_gains_it(tmp_path: Path) -> None:
    import sqlite3

    path = queue_path(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE webhook_events (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT"
                           " NULL, resource_type TEXT NOT NULL, resource_url TEXT NOT NULL, source TEXT NOT NULL,"
                           " body TEXT NOT NULL, remote TEXT NOT NULL DEFAULT '', drained_at REAL, run_key TEXT);"
                           "INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body)"
                           " VALUES (1, 'ORDER_NOTIFY', 'u', 'v1', '{}');")
    with WebhookStore(path) as store:
        event = WebhookEvent(2.0, "ORDER_NOTIFY", ORDER_URL, "v1", "{}", delivery_key="k")
        assert store.add_once(event) == (2, True) and store.add_once(event) == (2, False)

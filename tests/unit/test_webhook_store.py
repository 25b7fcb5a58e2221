"""The durable webhook queue: order, drain bookkeeping, durability across processes, concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.webhook_queue import MAX_BODY_CHARS, WebhookEvent, WebhookStore, queue_path

ROOT = Path(__file__).resolve().parents[2]
URL = "https://ssapi.shipstation.com/orders?storeID=77120&importBatch={}"

WRITER = """
import os, signal, sys
from state.webhook_queue import WebhookEvent, WebhookStore
store = WebhookStore(sys.argv[1])
tag, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    body = '{"resource_type": "ORDER_NOTIFY", "resource_url": "%s-%d"}' % (tag, i)
    event_id = store.add(WebhookEvent(1.0 + i, "ORDER_NOTIFY", f"{tag}-{i}", "v1", body, "10.0.0.1"))
print(event_id, flush=True)
if sys.argv[4:] == ["kill"]:
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no interpreter shutdown: only what add() committed
"""
READER = """
import json, sys
from state.webhook_queue import WebhookStore
store = WebhookStore(sys.argv[1])
print(json.dumps([[e.id, e.resource_url, e.body, e.source, e.remote] for e in store.after(0, 100000)]))
"""


def event(i: int, *, resource_type: str = "ORDER_NOTIFY", source: str = "v1") -> WebhookEvent:
    body = json.dumps({"resource_url": URL.format(i), "resource_type": resource_type})
    return WebhookEvent(1_700_000_000.0 + i, resource_type, URL.format(i), source, body, "192.0.2.7")  # type: ignore[arg-type]


def python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WebhookStore]:
    with WebhookStore(queue_path(tmp_path)) as s:
        yield s


def test_events_come_back_in_id_order_after_a_cursor(store: WebhookStore):
    ids = [store.add(event(i)) for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [e.id for e in store.after(0)] == ids
    assert [e.resource_url for e in store.after(ids[1], limit=2)] == [URL.format(2), URL.format(3)]
    assert store.after(ids[-1]) == []
    first = store.after(0, 1)[0]
    assert (first.received_at, first.resource_type, first.source, first.remote) == (
        1_700_000_000.0, "ORDER_NOTIFY", "v1", "192.0.2.7")
    assert json.loads(first.body)["resource_url"] == URL.format(0)
    assert store.count() == 5 and store.newest_id() == ids[-1]
    assert [e.id for e in store.tail(2)] == ids[-2:]


def test_an_empty_queue(store: WebhookStore):
    assert (store.count(), store.newest_id(), store.after(0), store.tail()) == (0, 0, [], [])


def test_add_many_commits_in_one_go_with_ids_in_order(store: WebhookStore):
    ids = store.add_many([event(i) for i in range(3)])
    assert [e.resource_url for e in store.after(0)] == [URL.format(i) for i in range(3)]
    assert [e.id for e in store.after(0)] == ids


def test_drained_events_are_marked_once_and_ids_are_never_reused(store: WebhookStore):
    ids = [store.add(event(i)) for i in range(4)]
    assert store.mark_drained(ids[:3], "run-a", now=5.0) == 3
    assert store.mark_drained(ids[:3], "run-b") == 0  # already taken by run-a
    assert store.count(undrained_only=True) == 1
    drained = store.after(0)[0]
    assert (drained.drained_at, drained.run_key) == (5.0, "run-a")
    assert store.purge_drained(before=2_000_000_000.0) == 3
    assert [e.id for e in store.after(0)] == [ids[3]]
    store.purge_drained(before=2_000_000_000.0)
    store.mark_drained([ids[3]], "run-c")
    store.purge_drained(before=2_000_000_000.0)
    assert store.count() == 0 and store.newest_id() == ids[3]
    assert store.add(event(9)) == ids[3] + 1  # a cursor at ids[3] still sees the next event


def test_oversized_bodies_and_unknown_sources_are_refused(store: WebhookStore):
    too_big = WebhookEvent(1.0, "ORDER_NOTIFY", URL.format(1), "v1", "x" * (MAX_BODY_CHARS + 1))
    with pytest.raises(ValueError):
        store.add(too_big)
    with pytest.raises(ValueError):
        store.add(event(1, source="v3"))
    with pytest.raises(ValueError):  # one bad event refuses the whole batch
        store.add_many([event(1), too_big])
    assert store.count() == 0


def test_a_row_added_in_one_process_is_read_by_another_even_if_the_writer_is_killed(tmp_path: Path):
    path = str(queue_path(tmp_path))
    written = python(WRITER, path, "killed", "3", "kill")
    assert written.returncode == -9, written.stderr  # SIGKILLed right after the last add() returned
    last_id = int(written.stdout.strip())
    rows = json.loads(python(READER, path).stdout)
    assert [r[0] for r in rows] == [1, 2, 3] and last_id == 3
    assert [r[1] for r in rows] == ["killed-0", "killed-1", "killed-2"]
    assert rows[0][2:] == ['{"resource_type": "ORDER_NOTIFY", "resource_url": "killed-0"}', "v1", "10.0.0.1"]


def test_concurrent_processes_lose_nothing_and_share_one_id_sequence(tmp_path: Path):
    path = str(queue_path(tmp_path))
    WebhookStore(path).close()  # schema first, so the writers race only on inserts
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, path, f"p{n}", "60"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(4)]
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    rows = json.loads(python(READER, path).stdout)
    assert sorted(r[1] for r in rows) == sorted(f"p{n}-{i}" for n in range(4) for i in range(60))
    assert [r[0] for r in rows] == list(range(1, 241))


def test_concurrent_threads_on_one_store_and_on_separate_connections(tmp_path: Path):
    path = queue_path(tmp_path)
    shared = WebhookStore(path)
    results: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        own = WebhookStore(path) if n % 2 else shared
        ids = [own.add(event(n * 1000 + i)) for i in range(40)]
        with lock:
            results.extend(ids)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 240 and len(set(results)) == 240
    fresh = WebhookStore(path)
    assert sorted(e.id for e in fresh.after(0, 1000)) == sorted(results)
    assert {e.resource_url for e in fresh.after(0, 1000)} == {URL.format(n * 1000 + i) for n in range(6)
                                                              for i in range(40)}

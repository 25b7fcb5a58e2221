"""The receiver's source registry and its Zoho Books source over real HTTP, and the queue's source migration.

Zoho signatures here are computed in the test from Zoho's documented example (Billing's "Securing
webhooks": sorted query pairs as `key + value`, then the raw JSON; hex HMAC-SHA256), not with our
own signer, so a shared misreading cannot pass.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from ml_connector.webhooks.app import create_receiver_app, receiver_app, webhook_path
from ml_connector.webhooks.settings import WebhookSettings
from ml_connector.webhooks.sources import Refused, build_sources, delivery_key
from ml_connector.webhooks.zoho import ZOHO_PATH, ZohoSource
from sandbox.runner import ServedApp, free_port
from state.webhook_queue import SOURCES, WebhookEvent, WebhookStore, queue_path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ml_connector.cli", "webhooks"]
ZOHO_SECRET = "ZohoHookSecret2026"
SS_SECRET = "shipstation-secret-0123456789"
NOW = 1_780_000_000.0
CONTACT = {"contact": {"contact_id": "460000000026049", "contact_name": "Asha Rao & Sons <Pvt>",
                       "email": "asha@example.com", "last_modified_time": "2026-12-05T08:30:00+0530"}}
BODY = json.dumps(CONTACT).encode()


def zoho_sign(message: bytes, secret: str = ZOHO_SECRET) -> dict[str, str]:
    return {"X-Zoho-Webhook-Signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json;charset=UTF-8"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WebhookStore]:
    with WebhookStore(queue_path(tmp_path)) as s:
        yield s


@pytest.fixture
def served(store: WebhookStore) -> Iterator[ServedApp]:
    app = create_receiver_app(store=store, secret=SS_SECRET, secret_header=None, jwks=None, clock=lambda: NOW,
                              shipstation_base_url="https://ssapi.shipstation.com", sources=[ZohoSource(ZOHO_SECRET)])
    with ServedApp(app) as running:
        yield running


def post(served: ServedApp, body: bytes, headers: dict[str, str], query: str = "") -> httpx.Response:
    return httpx.post(served.base_url + ZOHO_PATH + query, content=body, headers=headers, timeout=30)


# -- the Zoho source --------------------------------------------------------------------------------

def test_a_signed_contact_event_is_stored_once_as_a_zoho_contact(served: ServedApp, store: WebhookStore, caplog):
    caplog.set_level(logging.INFO, logger="ml_connector.webhooks")
    first = post(served, BODY, zoho_sign(BODY))
    again = post(served, BODY, zoho_sign(BODY))  # a redelivery, or a captured request sent again
    assert (first.status_code, first.json()) == (200, {"stored": 1})
    assert (again.status_code, again.json()) == (200, {"stored": 1, "duplicate": True})
    [event] = store.after(0)
    assert (event.source, event.resource_type, event.resource_url) == ("zoho", "ZOHO_CONTACT",
                                                                        "zoho:contacts/460000000026049")
    assert (event.body, event.received_at, event.remote) == (BODY.decode(), NOW, "127.0.0.1")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "webhook 1 stored: ZOHO_CONTACT (zoho) for contacts/460000000026049, sent by 127.0.0.1" in logged
    assert ZOHO_SECRET not in logged and "asha@example.com" not in logged and "Asha" not in logged


def test_query_parameters_are_signed_sorted_before_the_body_as_zoho_documents(served: ServedApp,
                                                                               store: WebhookStore):
    # Zoho's example: query subscription_id=90343, name=basic -> "namebasicsubscription_id90343" + raw JSON.
    signed = zoho_sign(b"namebasicsubscription_id90343" + BODY)
    ok = post(served, BODY, signed, "?subscription_id=90343&name=basic")
    other_query = post(served, BODY, signed, "?subscription_id=90344&name=basic")
    assert ok.status_code == 200 and other_query.status_code == 401
    assert store.count() == 1


def test_a_form_payload_is_signed_as_decoded_sorted_pairs(served: ServedApp, store: WebhookStore):
    body = b"contact_name=Asha+Rao+%26+Sons&contact_id=460000000026050"
    headers = zoho_sign(b"contact_id460000000026050contact_nameAsha Rao & Sons")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert post(served, body, headers).status_code == 200
    assert store.after(0)[0].resource_url == "zoho:contacts/460000000026050"


@pytest.mark.parametrize("headers", [
    {}, zoho_sign(BODY, "AnotherSecret999"), zoho_sign(BODY + b" "), {"X-Zoho-Webhook-Signature": "zz"}])
def test_a_missing_or_wrong_signature_is_401_and_nothing_is_stored(served: ServedApp, store: WebhookStore,
                                                                   headers: dict[str, str]):
    answer = post(served, BODY, headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "bad_signature"})
    assert store.count() == 0


@pytest.mark.parametrize(("body", "error"), [
    (b'{"invoice": {"invoice_id": "1"}}', "not_a_contact"),  # another module's webhook
    (b'{"contact": {"contact_id": "../../etc"}}', "not_a_contact"),
    (b'{"contact": {"contact_id": true}}', "not_a_contact"),
    (b"[1, 2]", "not_an_object"),
    (b"{not json", "invalid_json"),
    (b"[" * 20000 + b"]" * 20000, "invalid_json"),  # nesting deep enough to exhaust the parser
])
def test_signed_payloads_that_are_no_contact_event_are_400(served: ServedApp, store: WebhookStore, body: bytes,
                                                           error: str):
    answer = post(served, body, zoho_sign(body))
    assert (answer.status_code, answer.json()) == (400, {"error": error})
    assert store.count() == 0


def test_a_top_level_contact_id_from_a_custom_payload_is_taken(served: ServedApp, store: WebhookStore):
    body = b'{"contact_id": 460000000026051, "event": "contact_updated"}'
    assert post(served, body, zoho_sign(body)).status_code == 200
    assert store.after(0)[0].resource_url == "zoho:contacts/460000000026051"


def test_oversized_bodies_and_other_methods_are_refused(served: ServedApp, store: WebhookStore):
    big = json.dumps({"contact": {"contact_id": "1", "notes": "x" * 70_000}}).encode()
    assert post(served, big, zoho_sign(big)).status_code == 413
    assert httpx.get(served.base_url + ZOHO_PATH, timeout=10).status_code == 404
    assert httpx.put(served.base_url + ZOHO_PATH, content=BODY, headers=zoho_sign(BODY), timeout=10).status_code == 404
    assert store.count() == 0


def test_shipstation_still_answers_beside_zoho(served: ServedApp, store: WebhookStore):
    order = json.dumps({"resource_url": "https://ssapi.shipstation.com/orders?importBatch=1",
                        "resource_type": "ORDER_NOTIFY"}).encode()
    answer = httpx.post(served.base_url + webhook_path(SS_SECRET, None), content=order, timeout=10)
    assert answer.json() == {"stored": 1}
    assert [e.source for e in store.after(0)] == ["v1"]


def test_without_a_zoho_secret_the_route_does_not_exist(store: WebhookStore):
    app = create_receiver_app(store=store, secret=SS_SECRET, secret_header=None, jwks=None,
                              shipstation_base_url="https://ssapi.shipstation.com")
    with ServedApp(app) as running:
        answer = post(running, BODY, zoho_sign(BODY))
    assert (answer.status_code, answer.text) == (404, "Not Found")
    assert store.count() == 0
    assert build_sources(WebhookSettings()) == []  # ZOHO_WEBHOOK_SECRET unset: no Zoho source is built


def test_a_zoho_only_receiver_needs_no_shipstation_secret(store: WebhookStore):
    app = create_receiver_app(store=store, secret=None, secret_header=None, jwks=None,
                              shipstation_base_url="https://ssapi.shipstation.com", sources=[ZohoSource(ZOHO_SECRET)])
    with ServedApp(app) as running:
        assert post(running, BODY, zoho_sign(BODY)).status_code == 200
        assert httpx.post(running.base_url + "/shipstation/webhook/", content=b"{}", timeout=10).status_code == 404


def test_secrets_zoho_would_not_accept_are_refused_at_start():
    for secret in ("short", "has spaces in it!", "x" * 51, ""):
        with pytest.raises(ValueError, match="12-50"):
            ZohoSource(secret)
    settings = WebhookSettings(zoho_webhook_secret=ZOHO_SECRET)
    [source] = build_sources(settings)
    assert isinstance(source, ZohoSource) and ZOHO_SECRET not in repr(source) + repr(settings)


def test_the_rate_limit_covers_every_source_of_one_sender(store: WebhookStore):
    app = create_receiver_app(store=store, secret=SS_SECRET, secret_header=None, jwks=None,
                              shipstation_base_url="https://ssapi.shipstation.com", sources=[ZohoSource(ZOHO_SECRET)],
                              rate_per_minute=1, rate_burst=2)  # no refill mid-test, however slow
    with ServedApp(app) as running:
        answers = [post(running, BODY, zoho_sign(BODY)) for _ in range(2)]
        flooded = httpx.post(running.base_url + webhook_path(SS_SECRET, None), content=b"{}", timeout=10)
    assert [a.status_code for a in answers] == [200, 200]
    assert flooded.status_code == 429 and int(flooded.headers["Retry-After"]) >= 1
    assert store.count() == 1


# -- the registry -----------------------------------------------------------------------------------

class EchoSource:
    """A made-up source registered as one entry: a bearer token, the body's `id`."""

    name = "walmart"
    paths = ("/echo/webhook",)

    def admits(self, request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer echo-token"

    async def accept(self, request: Request, body: bytes, remote: str, now: float) -> WebhookEvent:
        record = json.loads(body)
        if "id" not in record:
            raise Refused(400, "no_id")
        url = f"echo:items/{record['id']}"
        return WebhookEvent(now, "ECHO_ITEM", url, "walmart", body.decode(), remote,
                            delivery_key("walmart", "ECHO_ITEM", url, body))


def test_a_new_source_is_one_entry(store: WebhookStore):
    with ServedApp(receiver_app(store=store, sources=[EchoSource()], clock=lambda: NOW)) as running:
        url = running.base_url + "/echo/webhook"
        stored = httpx.post(url, content=b'{"id": 7}', headers={"Authorization": "Bearer echo-token"}, timeout=10)
        unauthorised = httpx.post(url, content=b'{"id": 8}', timeout=10)
        refused = httpx.post(url, content=b"{}", headers={"Authorization": "Bearer echo-token"}, timeout=10)
        health = httpx.get(running.base_url + "/health", timeout=10)
    assert stored.json() == {"stored": 1} and unauthorised.status_code == 404 and refused.json() == {"error": "no_id"}
    assert health.json() == {"ok": True, "queued": 1}
    assert [(e.source, e.resource_url) for e in store.after(0)] == [("walmart", "echo:items/7")]


def test_a_receiver_needs_a_source_and_one_source_per_path(store: WebhookStore):
    with pytest.raises(ValueError, match="no webhook source"):
        receiver_app(store=store, sources=[])
    with pytest.raises(ValueError, match="share a path"):
        receiver_app(store=store, sources=[EchoSource(), EchoSource()])
    with pytest.raises(ValueError, match="at least"):  # neither secret: ShipStation's absence is not "open"
        create_receiver_app(store=store, secret=None, secret_header=None, jwks=None, shipstation_base_url="x")


# -- the queue's migration --------------------------------------------------------------------------

OLD_DDL = """
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    resource_type TEXT NOT NULL,
    resource_url TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('v1', 'v2')),
    body TEXT NOT NULL,
    remote TEXT NOT NULL DEFAULT '',
    drained_at REAL,
    run_key TEXT
);
CREATE INDEX webhook_events_undrained ON webhook_events (id) WHERE drained_at IS NULL;
ALTER TABLE webhook_events ADD COLUMN delivery_key TEXT;
CREATE UNIQUE INDEX webhook_events_key ON webhook_events (delivery_key) WHERE delivery_key IS NOT NULL;
"""


def old_queue(path: Path, *, with_key: bool = True) -> None:
    """A queue file as the V1/V2-only code made it: three events, the second drained, the third purged."""
    ddl = OLD_DDL if with_key else OLD_DDL.split("ALTER TABLE")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
        for n, source in enumerate(("v1", "v2", "v1"), start=1):
            conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body, remote)"
                         " VALUES (?, 'ORDER_NOTIFY', ?, ?, '{}', '192.0.2.7')", (float(n), f"u{n}", source))
            if with_key:
                conn.execute("UPDATE webhook_events SET delivery_key = ? WHERE id = ?", (f"key-{n}", n))
        conn.execute("UPDATE webhook_events SET drained_at = 9, run_key = 'run-2' WHERE id = 2")
        conn.execute("DELETE FROM webhook_events WHERE id = 3")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body)"
                         " VALUES (4, 'ZOHO_CONTACT', 'zoho:contacts/1', 'zoho', '{}')")
    conn.close()


@pytest.mark.parametrize("with_key", [True, False])
def test_an_old_queue_file_keeps_its_events_and_takes_zoho_events(tmp_path: Path, with_key: bool):
    path = queue_path(tmp_path)
    old_queue(path, with_key=with_key)
    with WebhookStore(path) as store:
        assert [(e.id, e.source, e.resource_url, e.remote, e.drained_at, e.run_key) for e in store.after(0)] == [
            (1, "v1", "u1", "192.0.2.7", None, None), (2, "v2", "u2", "192.0.2.7", 9.0, "run-2")]
        assert store.count(undrained_only=True) == 1 and store.newest_id() == 3
        zoho = WebhookEvent(5.0, "ZOHO_CONTACT", "zoho:contacts/1", "zoho", "{}", delivery_key="z-1")
        assert store.add_once(zoho) == (4, True)  # id 3 was purged: never handed out again
        assert store.add_once(zoho) == (4, False)
        if with_key:  # the old rows' keys still guard against their redelivery
            assert store.add_once(WebhookEvent(6.0, "ORDER_NOTIFY", "u1", "v1", "{}", delivery_key="key-1")) == (
                1, False)
        assert [store.add(WebhookEvent(7.0, "X", "u", s, "{}")) for s in SOURCES] == [5, 6, 7, 8]
    indexes = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"webhook_events_undrained", "webhook_events_key"} <= indexes


def test_the_new_check_still_refuses_an_unknown_source(tmp_path: Path):
    path = queue_path(tmp_path)
    old_queue(path)
    WebhookStore(path).close()
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO webhook_events (received_at, resource_type, resource_url, source, body)"
                     " VALUES (1, 'X', 'u', 'nobody', '{}')")
    with WebhookStore(path) as store, pytest.raises(ValueError, match="unknown webhook source"):
        store.add(WebhookEvent(1.0, "X", "u", "nobody", "{}"))  # type: ignore[arg-type]


def test_processes_opening_an_old_queue_together_migrate_it_once(tmp_path: Path):
    path = queue_path(tmp_path)
    old_queue(path)
    opened: list[list[int]] = []
    errors: list[BaseException] = []

    def open_and_read() -> None:
        try:
            with WebhookStore(path) as store:
                opened.append([e.id for e in store.after(0)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and opened == [[1, 2]] * 6
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert sorted(t[0] for t in tables) == ["sqlite_sequence", "webhook_events"]


# -- the command line -------------------------------------------------------------------------------

def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "SHIPSTATION_", "ZOHO_"))}
    return env | {"ML_CONNECTOR_HOME": str(tmp_path / "home")} | extra


def test_serve_with_only_a_zoho_secret_receives_zoho_and_never_prints_the_secret(tmp_path: Path):
    port = free_port()
    env = serve_env(tmp_path, ZOHO_WEBHOOK_SECRET=ZOHO_SECRET, WEBHOOK_PORT=str(port))
    proc = subprocess.Popen([*CLI, "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _answers(base + "/health"):
            assert time.monotonic() < deadline and proc.poll() is None, "receiver did not start"
            time.sleep(0.1)
        stored = httpx.post(base + ZOHO_PATH, content=BODY, headers=zoho_sign(BODY), timeout=10)
        forged = httpx.post(base + ZOHO_PATH, content=BODY, headers=zoho_sign(BODY, "Forged000000000"), timeout=10)
        shipstation = httpx.post(base + "/shipstation/webhook/anything-at-all-0123", content=b"{}", timeout=10)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert (stored.json(), forged.status_code, shipstation.status_code) == ({"stored": 1}, 401, 404)
    assert f"Receiving zoho webhooks: POST http://127.0.0.1:{port}{ZOHO_PATH}" in output
    assert "Receiving ShipStation" not in output
    assert ZOHO_SECRET not in output and "asha@example.com" not in output


def test_serve_refuses_a_zoho_secret_zoho_would_not_take(tmp_path: Path):
    out = subprocess.run([*CLI, "serve"], env=serve_env(tmp_path, ZOHO_WEBHOOK_SECRET="not valid!"), cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "12-50 letters or digits" in out.stderr and "not valid!" not in out.stderr


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False

"""The webhook receiver over real HTTP on loopback: what it stores, what it refuses, what it never does."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.webhook_load import deliver_burst, v1_payloads
from ml_connector.webhooks.app import MAX_BODY_BYTES, create_receiver_app, target_url, webhook_path
from ml_connector.webhooks.signature import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, JwksCache
from sandbox.runner import ServedApp, free_port
from state.webhook_queue import WebhookStore, queue_path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hook-secret-0123456789abcdefXYZ"
BASE = "https://ssapi.shipstation.com"
V2_BASE = "https://api.shipstation.com"
NOW = 1_780_000_000.0
ORDER_URL = f"{BASE}/orders?storeID=77120&importBatch=2b1f0c7e-4d2a-4a61-9c55-0f6e3d9a1b22"
SHIP_URL = "https://ssapi2.shipstation.com/shipments?storeID=77120&batchId=18834412&includeShipmentItems=False"


def delivery(url: str = ORDER_URL, kind: str = "ORDER_NOTIFY") -> bytes:
    return json.dumps({"resource_url": url, "resource_type": kind}).encode()


def b64url(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def sign(key: rsa.RSAPrivateKey, kid: str, body: bytes, at: float = NOW) -> dict[str, str]:
    timestamp = datetime.fromtimestamp(at, UTC).isoformat()
    signature = key.sign(timestamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return {KEY_ID_HEADER: kid, SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: timestamp}


class Jwks:
    """A JWKS endpoint on loopback, counting fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, str]] = []
        self.hits = 0
        self.app = Starlette(routes=[Route("/jwks", self.handle)])

    async def handle(self, request: Request) -> Response:
        self.hits += 1
        return JSONResponse({"keys": self.keys})

    def publish(self, key: rsa.RSAPrivateKey, kid: str) -> None:
        numbers = key.public_key().public_numbers()
        self.keys.append({"kty": "RSA", "kid": kid, "use": "sig", "n": b64url(numbers.n), "e": b64url(numbers.e)})


class Counter:
    """Any request at all, counted: stands in for a host a resource_url might point at."""

    def __init__(self) -> None:
        self.hits = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])

    async def handle(self, request: Request) -> Response:
        self.hits += 1
        return JSONResponse({"orders": []})


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(key: rsa.RSAPrivateKey) -> Iterator[tuple[Jwks, ServedApp]]:
    server = Jwks()
    server.publish(key, "live-1")
    with ServedApp(server.app) as served:
        yield server, served


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WebhookStore]:
    with WebhookStore(queue_path(tmp_path)) as s:
        yield s


class Receiver:
    def __init__(self, served: ServedApp, store: WebhookStore, path: str, jwks_clock: Clock) -> None:
        self.served, self.store, self.path, self.jwks_clock = served, store, path, jwks_clock
        self.url = served.base_url + path

    def post(self, body: bytes, headers: dict[str, str] | None = None, *, path: str | None = None) -> httpx.Response:
        url = self.url if path is None else self.served.base_url + path
        return httpx.post(url, content=body, headers={"Content-Type": "application/json", **(headers or {})},
                          timeout=30)


def start(store: WebhookStore, jwks_url: str | None, *, secret_header: str | None = None, base: str = BASE,
          **options) -> tuple[ServedApp, Clock]:
    clock = Clock(5000.0)
    cache = JwksCache(jwks_url, clock=clock) if jwks_url else None
    app = create_receiver_app(store=store, secret=SECRET, secret_header=secret_header, shipstation_base_url=base,
                              jwks=cache, clock=lambda: NOW, v2_base_urls=[V2_BASE], **options)
    return ServedApp(app), clock


@pytest.fixture
def receiver(store: WebhookStore, jwks) -> Iterator[Receiver]:
    served, clock = start(store, jwks[1].base_url + "/jwks")
    with served:
        yield Receiver(served, store, webhook_path(SECRET, None), clock)


def test_a_v1_delivery_is_on_disk_when_answered(receiver: Receiver, caplog):
    caplog.set_level(logging.INFO, logger="ml_connector.webhooks")
    body = delivery()
    response = receiver.post(body)
    assert response.status_code == 200
    event_id = response.json()["stored"]
    reader = ("import json, sys; from state.webhook_queue import WebhookStore; "
              "e = WebhookStore(sys.argv[1]).after(0)[0]; print(json.dumps([e.id, e.resource_type, e.resource_url, "
              "e.source, e.body, e.received_at]))")
    out = subprocess.run([sys.executable, "-c", reader, str(receiver.store.path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert json.loads(out.stdout) == [event_id, "ORDER_NOTIFY", ORDER_URL, "v1", body.decode(), NOW]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"webhook {event_id} stored: ORDER_NOTIFY (v1) for ssapi.shipstation.com, sent by 127.0.0.1" in logged
    assert SECRET not in logged and "importBatch" not in logged


def test_ssapi_n_hosts_are_accepted_for_the_production_base(receiver: Receiver):
    assert receiver.post(delivery(SHIP_URL, "SHIP_NOTIFY")).status_code == 200
    assert receiver.store.after(0)[0].resource_url == SHIP_URL


def test_health_counts_waiting_events(receiver: Receiver):
    receiver.post(delivery())
    receiver.post(delivery(SHIP_URL, "SHIP_NOTIFY"))
    receiver.store.mark_drained([1], "run-1")
    health = httpx.get(receiver.served.base_url + "/health", timeout=10)
    assert (health.status_code, health.json()) == (200, {"ok": True, "queued": 1})


def test_wrong_or_missing_secret_looks_like_no_such_page_and_stores_nothing(receiver: Receiver, caplog):
    caplog.set_level(logging.INFO, logger="ml_connector.webhooks")
    nowhere = receiver.post(delivery(), path="/no/such/page")
    attempts = [
        receiver.post(delivery(), path=webhook_path("wrong-secret-0123456789abcdef", None)),
        receiver.post(delivery(), path=webhook_path(SECRET[:-1], None)),
        receiver.post(delivery(), path=webhook_path(SECRET + "x", None)),
        receiver.post(delivery(), path="/shipstation/webhook"),
        receiver.post(delivery(), path="/shipstation/webhook/"),
        httpx.get(receiver.url, timeout=10),
        httpx.put(receiver.url, content=delivery(), timeout=10),
    ]
    assert nowhere.status_code == 404
    assert [(r.status_code, r.text) for r in attempts] == [(404, nowhere.text)] * len(attempts)
    assert receiver.store.count() == 0
    assert SECRET not in "\n".join(r.getMessage() for r in caplog.records)


def test_the_header_form_checks_the_header(store: WebhookStore):
    served, _ = start(store, None, secret_header="X-ML-Webhook-Secret")
    with served:
        url = served.base_url + "/shipstation/webhook"
        ok = httpx.post(url, content=delivery(), headers={"X-ML-Webhook-Secret": SECRET}, timeout=10)
        refused = [httpx.post(url, content=delivery(), headers=h, timeout=10)
                   for h in ({"X-ML-Webhook-Secret": "wrong"}, {}, {"Authorization": f"Bearer {SECRET}"})]
        in_path = httpx.post(served.base_url + webhook_path(SECRET, None), content=delivery(), timeout=10)
    assert ok.status_code == 200 and ok.json() == {"stored": 1}
    assert [r.status_code for r in refused] == [404, 404, 404] and in_path.status_code == 404
    assert store.count() == 1


@pytest.mark.parametrize("url", [
    "https://evil.example.com/orders?storeID=1",
    "https://ssapi.shipstation.com.evil.example.com/orders",
    "https://ssapi.shipstation.com:8443/orders",
    "http://ssapi.shipstation.com/orders",
    "https://user:pw@ssapi.shipstation.com/orders",
    "https://ssapi.shipstation.com@evil.example.com/orders",
    "ftp://ssapi.shipstation.com/orders",
    "/orders?storeID=1",
    "",
])
def test_resource_urls_off_our_shipstation_are_refused_and_not_stored(receiver: Receiver, url: str):
    response = receiver.post(delivery(url))
    assert (response.status_code, response.json()) == (400, {"error": "resource_url_not_allowed"})
    assert receiver.store.count() == 0


def test_the_receiver_never_follows_a_resource_url(store: WebhookStore):
    ours, elsewhere = Counter(), Counter()
    with ServedApp(ours.app) as our_api, ServedApp(elsewhere.app) as other:
        served, _ = start(store, None, base=our_api.base_url)
        with served:
            url = served.base_url + webhook_path(SECRET, None)
            other_port = httpx.post(url, content=delivery(f"{other.base_url}/orders?storeID=1"), timeout=10)
            accepted = httpx.post(url, content=delivery(f"{our_api.base_url}/orders?storeID=1"), timeout=10)
    assert other_port.status_code == 400 and accepted.status_code == 200
    assert (elsewhere.hits, ours.hits, store.count()) == (0, 0, 1)  # queued, not fetched: the sensor fetches


def test_oversized_bodies_are_refused(receiver: Receiver):
    padded = json.dumps({"resource_url": ORDER_URL, "resource_type": "ORDER_NOTIFY", "pad": "x" * MAX_BODY_BYTES})
    declared = receiver.post(padded.encode())

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bound holds while streaming
        for _ in range(100):
            yield b" " * 1024

    streamed = httpx.post(receiver.url, content=chunks(), timeout=30)
    assert declared.status_code == 413 and streamed.status_code == 413
    assert receiver.store.count() == 0


@pytest.mark.parametrize(("body", "error"), [
    (b'{"resource_url": "' + ORDER_URL.encode() + b'", "resource_type": ', "invalid_json"),
    (b"\xff\xfe{}", "invalid_json"),
    (b"[]", "not_an_object"),
    (b'"ORDER_NOTIFY"', "not_an_object"),
    (json.dumps({"resource_type": "ORDER_NOTIFY"}).encode(), "missing_resource"),
    (json.dumps({"resource_url": 5, "resource_type": "ORDER_NOTIFY"}).encode(), "missing_resource"),
    (delivery(kind="ORDER_DELETED"), "unknown_resource_type"),
    (delivery(kind="order_notify"), "unknown_resource_type"),
    (delivery(kind="TRACK_EVENT_V2"), "unknown_resource_type"),  # V2 names only with a V2 signature
])
def test_malformed_payloads_are_refused(receiver: Receiver, body: bytes, error: str):
    response = receiver.post(body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert receiver.store.count() == 0


def test_a_validly_signed_v2_delivery_is_stored(receiver: Receiver, key, jwks):
    body = json.dumps({"resource_url": f"{V2_BASE}/v2/batches/se-1013119", "resource_type": "batch_processed_v2",
                       "data": {"status": "completed"}}, separators=(",", ":")).encode()
    response = receiver.post(body, sign(key, "live-1", body))
    assert response.status_code == 200, response.text
    stored = receiver.store.after(0)[0]
    assert (stored.source, stored.resource_type, stored.body) == ("v2", "batch_processed_v2", body.decode())
    assert jwks[0].hits == 1
    v1_signed = delivery()
    assert receiver.post(v1_signed, sign(key, "live-1", v1_signed)).status_code == 200
    assert jwks[0].hits == 1  # cached


def test_a_signed_delivery_still_needs_our_secret(receiver: Receiver, key):
    body = delivery()
    response = receiver.post(body, sign(key, "live-1", body), path=webhook_path("not-our-secret-0123456789", None))
    assert response.status_code == 404 and receiver.store.count() == 0


def test_bad_v2_signatures_are_refused_and_nothing_is_stored(receiver: Receiver, key, jwks):
    body = delivery()
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    partial = sign(key, "live-1", body)
    del partial[TIMESTAMP_HEADER]
    cases = {
        "forged": (receiver.post(body, sign(forger, "live-1", body)), 401, "bad_signature"),
        "body changed": (receiver.post(delivery(SHIP_URL, "SHIP_NOTIFY"), sign(key, "live-1", body)), 401,
                         "bad_signature"),
        "stale": (receiver.post(body, sign(key, "live-1", body, at=NOW - 301)), 400, "stale_timestamp"),
        "future": (receiver.post(body, sign(key, "live-1", body, at=NOW + 301)), 400, "stale_timestamp"),
        "one header missing": (receiver.post(body, partial), 400, "missing_signature"),
        "only a key id": (receiver.post(body, {KEY_ID_HEADER: "live-1"}), 400, "missing_signature"),
    }
    assert {name: (r.status_code, r.json()["error"]) for name, (r, _, _) in cases.items()} == {
        name: (status, error) for name, (_, status, error) in cases.items()}
    assert receiver.store.count() == 0
    assert jwks[0].hits == 1  # stale and incomplete deliveries never made us fetch


def test_an_unknown_kid_is_refused_after_one_jwks_refresh(receiver: Receiver, key, jwks):
    body = delivery()
    assert receiver.post(body, sign(key, "live-1", body)).status_code == 200
    assert jwks[0].hits == 1
    receiver.jwks_clock.now += 61
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = receiver.post(body, sign(rotated, "live-2", body))
    assert (response.status_code, response.json()) == (401, {"error": "unknown_key"})
    assert jwks[0].hits == 2
    assert receiver.post(body, sign(rotated, "live-3", body)).status_code == 401
    assert jwks[0].hits == 2  # at most one refresh a minute
    jwks[0].publish(rotated, "live-2")
    receiver.jwks_clock.now += 61
    assert receiver.post(body, sign(rotated, "live-2", body)).status_code == 200
    assert jwks[0].hits == 3 and receiver.store.count() == 1  # the same body delivered again: stored once


def test_signed_deliveries_without_a_jwks_are_refused(store: WebhookStore, key):
    served, _ = start(store, None)
    with served:
        body = delivery()
        response = httpx.post(served.base_url + webhook_path(SECRET, None), content=body,
                              headers=sign(key, "live-1", body), timeout=10)
    assert (response.status_code, response.json()) == (401, {"error": "signature_unverifiable"})
    assert store.count() == 0


def test_a_failing_store_answers_503_so_shipstation_retries(store: WebhookStore):
    served, _ = start(store, None)
    with served:
        store.close()
        response = httpx.post(served.base_url + webhook_path(SECRET, None), content=delivery(), timeout=10)
    assert (response.status_code, response.json()) == (503, {"error": "store_unavailable"})


def test_a_burst_of_500_concurrent_deliveries_is_stored_exactly_once(receiver: Receiver):
    bodies = v1_payloads(500, BASE)
    results = deliver_burst(receiver.url, bodies, concurrency=500)
    assert [status for status, _ in results] == [200] * 500
    ids = [answer["stored"] for _, answer in results]
    assert len(set(ids)) == 500
    stored = receiver.store.after(0, 1000)
    assert sorted(e.id for e in stored) == sorted(ids)
    assert sorted(e.body for e in stored) == sorted(b.decode() for b in bodies)
    by_id = {e.id: e.body for e in stored}
    assert all(by_id[i] == body.decode() for i, body in zip(ids, bodies, strict=True))


def test_the_factory_refuses_weak_or_unroutable_secrets(store: WebhookStore):
    for secret in ("", "short"):
        with pytest.raises(ValueError, match="at least"):
            create_receiver_app(store=store, secret=secret, secret_header=None, shipstation_base_url=BASE, jwks=None)
    with pytest.raises(ValueError, match="URL path"):
        create_receiver_app(store=store, secret="has/slash-0123456789abcdef", secret_header=None,
                            shipstation_base_url=BASE, jwks=None)
    create_receiver_app(store=store, secret="has/slash-0123456789abcdef", secret_header="X-Secret",
                        shipstation_base_url=BASE, jwks=None)


def test_target_urls_are_built_from_the_public_url():
    assert target_url("https://hooks.example.com/", SECRET, None) == f"https://hooks.example.com/shipstation/webhook/{SECRET}"
    assert target_url("https://hooks.example.com/shipstation/webhook", SECRET, None).endswith(f"webhook/{SECRET}")
    assert target_url("https://hooks.example.com", SECRET, "X-Secret") == "https://hooks.example.com/shipstation/webhook"


# -- the command line -------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "ml_connector.cli", "webhooks"]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "SHIPSTATION_"))}
    return env | {"ML_CONNECTOR_HOME": str(tmp_path / "home"), "WEBHOOK_SECRET": SECRET} | extra


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path):
    out = subprocess.run([*CLI, "serve"], env=cli_env(tmp_path, WEBHOOK_SECRET=""), cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "WEBHOOK_SECRET is not set" in out.stderr


def test_serve_stores_deliveries_and_queue_lists_them_without_ever_printing_the_secret(tmp_path: Path):
    port = free_port()
    env = cli_env(tmp_path, WEBHOOK_PORT=str(port))
    proc = subprocess.Popen([*CLI, "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "receiver did not start"
            time.sleep(0.1)
        stored = httpx.post(base + webhook_path(SECRET, None), content=delivery(SHIP_URL, "SHIP_NOTIFY"), timeout=10)
        refused = httpx.post(base + webhook_path(SECRET[::-1], None), content=delivery(), timeout=10)
        assert (stored.status_code, stored.json(), refused.status_code) == (200, {"stored": 1}, 404)
        assert httpx.get(f"{base}/health", timeout=5).json() == {"ok": True, "queued": 1}
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"POST http://127.0.0.1:{port}/shipstation/webhook/****" in output
    assert "webhook 1 stored: SHIP_NOTIFY (v1) for ssapi2.shipstation.com" in output
    assert "wrong or missing secret" in output
    assert SECRET not in output and SECRET[::-1] not in output and "batchId" not in output
    listing = subprocess.run([*CLI, "queue"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "1 event(s), 1 not drained, newest id 1" in listing.stdout
    assert "| SHIP_NOTIFY | v1 | ssapi2.shipstation.com | waiting" in listing.stdout
    later = subprocess.run([*CLI, "queue", "--after", "1"], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert "SHIP_NOTIFY" not in later.stdout


def test_subscribe_is_idempotent_and_sandbox_deliveries_land_in_the_queue(tmp_path: Path):
    from sandbox.stack import start_sandbox

    with start_sandbox(seed=5, orders=20, rate_limit=0) as sandbox:
        ss = sandbox.shipstation.base_url
        httpx.post(f"{ss}/__sandbox/webhooks/config", json={"delay_min": 0, "delay_max": 0, "drop_rate": 0},
                   timeout=10).raise_for_status()
        env = cli_env(tmp_path) | sandbox.env()
        store = WebhookStore(queue_path(tmp_path / "home"))
        receiver = ServedApp(create_receiver_app(store=store, secret=SECRET, secret_header=None, jwks=None,
                                                 shipstation_base_url=ss))
        with receiver:
            def cli(*args: str) -> subprocess.CompletedProcess[str]:
                out = subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
                assert SECRET not in out.stdout + out.stderr
                return out

            first = cli("subscribe", "--url", receiver.base_url + "/")
            again = cli("subscribe", "--url", receiver.base_url)
            assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
            assert f"Target: {receiver.base_url}/shipstation/webhook/****" in first.stdout
            assert first.stdout.count(": subscribed (id") == 2
            assert again.stdout.count(": already subscribed (id") == 2 and "subscribed (id" not in again.stdout.replace(
                "already subscribed (id", "")
            hooks = httpx.get(f"{ss}/webhooks", auth=(env["SHIPSTATION_API_KEY"], env["SHIPSTATION_API_SECRET"]),
                              timeout=10).json()["webhooks"]
            target = receiver.base_url + webhook_path(SECRET, None)
            assert sorted((h["HookType"], h["Url"]) for h in hooks) == [("ORDER_NOTIFY", target),
                                                                        ("SHIP_NOTIFY", target)]
            listing = cli("list")
            assert "2 webhook(s)" in listing.stdout and listing.stdout.count("/shipstation/webhook/****") == 2

            order = next(o for o in sandbox.merchant.orders if o["orderStatus"] == "awaiting_shipment")
            httpx.post(f"{ss}/__sandbox/ship", json={"orderId": order["orderId"], "items": None},
                       timeout=10).raise_for_status()  # a label: fires SHIP_NOTIFY
            log = httpx.post(f"{ss}/__sandbox/webhooks/flush", timeout=60).json()
            assert [(d["resource_type"], d["outcome"], d["status"]) for d in log] == [
                ("SHIP_NOTIFY", "delivered", 200)]
            queued = store.after(0)
            assert [(e.resource_type, e.resource_url, e.source) for e in queued] == [
                ("SHIP_NOTIFY", log[0]["resource_url"], "v1")]
            assert queued[0].resource_url.startswith(ss + "/shipments?")

            order_hook = next(h["WebHookID"] for h in hooks if h["HookType"] == "ORDER_NOTIFY")
            assert cli("unsubscribe", str(order_hook)).returncode == 0
            assert "1 webhook(s)" in cli("list").stdout
        store.close()


def test_subscribe_refuses_what_would_never_authenticate(tmp_path: Path):
    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "subscribe"], env=cli_env(tmp_path, **extra), cwd=ROOT, capture_output=True,
                              text=True, timeout=60)

    assert "WEBHOOK_PUBLIC_URL" in run().stderr
    assert "WEBHOOK_SECRET is not set" in run(WEBHOOK_SECRET="", WEBHOOK_PUBLIC_URL="https://h.example").stderr
    header = run(WEBHOOK_SECRET_HEADER="X-Secret", WEBHOOK_PUBLIC_URL="https://h.example")
    assert header.returncode == 2 and "cannot carry a custom header" in header.stderr
    events = subprocess.run([*CLI, "subscribe", "--events", "ORDER_NOTIFY,NOPE"],
                            env=cli_env(tmp_path, WEBHOOK_PUBLIC_URL="https://h.example"), cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert events.returncode == 2 and "unknown event(s) NOPE" in events.stderr

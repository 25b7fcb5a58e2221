"""Sending Walmart notifications: each delivery authenticated per its subscription, retried in the background.

The rules (what is signed how, how often Walmart retries) and their sources are in `notifications.py`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.walmart.notifications import Subscription

Record = dict[str, Any]
DELIVERY_TIMEOUT = 10.0


def delivery_headers(record: Record, body: bytes, http: httpx.Client) -> dict[str, str]:
    """The headers one delivery carries: the custom ones plus the subscription's authentication."""
    headers = dict(record.get("headers") or {"content-type": "application/json"})
    auth = record.get("authDetails")
    if not auth:
        return headers
    name, method = auth["authHeaderName"], auth["authMethod"]
    if method == "BASIC_AUTH":
        headers[name] = base64.b64encode(f"{auth['userName']}:{auth['password']}".encode()).decode()
    elif method == "HMAC":
        digest = hmac.new(auth["clientSecret"].encode(), body, hashlib.sha256).digest()
        headers[name] = base64.b64encode(digest).decode()
    else:
        headers[name] = f"Bearer {oauth_token(auth, record.get('headers') or {}, http)}"
    return headers


def oauth_token(auth: Record, custom: dict[str, str], http: httpx.Client) -> str:
    basic = base64.b64encode(f"{auth['clientId']}:{auth['clientSecret']}".encode()).decode()
    headers = {**custom, auth["authHeaderName"]: f"Basic {basic}", "Accept": "application/json; charset=UTF-8",
               "Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
    answer = http.post(auth["authUrl"], content=b"grant_type=client_credentials", headers=headers)
    body = answer.json() if answer.status_code == 200 else {}
    if not isinstance(body, dict) or not body.get("access_token") or "expires_in" not in body:
        raise httpx.HTTPError(f"authUrl answered {answer.status_code} without access_token and expires_in")
    return str(body["access_token"])


def deliver(record: Record, event: Record, http: httpx.Client) -> tuple[bool, str]:
    """One attempt: (acknowledged, what happened)."""
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    try:
        answer = http.post(record["eventUrl"], content=body, headers=delivery_headers(record, body, http))
    except (httpx.HTTPError, ValueError) as error:
        return False, f"{type(error).__name__}: {error}"
    return 200 <= answer.status_code < 300, str(answer.status_code)


@dataclass
class Delivery:
    event_id: str
    event_type: str
    subscription_id: str
    attempts: int = 0
    delivered: bool = False
    outcomes: list[str] = field(default_factory=list)

    def doc(self) -> Record:
        return {"eventId": self.event_id, "eventType": self.event_type, "subscriptionId": self.subscription_id,
                "attempts": self.attempts, "delivered": self.delivered, "outcomes": list(self.outcomes)}


class Notifications:
    """Subscriptions and a background sender (one daemon thread, retries on timers)."""

    def __init__(self, retry_delays: tuple[float, ...] = (60.0, 300.0),
                 transport: httpx.BaseTransport | None = None) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.retry_delays = retry_delays
        self._transport = transport
        self._queue: queue.Queue[tuple[Delivery, Record]] = queue.Queue()
        self._pending = 0
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None

    def publish(self, kind: str, event_of: Callable[[], Record]) -> int:
        """Queue `kind` for every ACTIVE subscription to it; how many deliveries were queued."""
        with self._lock:
            targets = [s for s in self.subscriptions.values() if s.active and s.record["eventType"] == kind]
            if not targets:
                return 0
            event = event_of()
            for sub in targets:
                delivery = Delivery(event["source"]["eventId"], kind, sub.subscription_id)
                self.deliveries.append(delivery)
                self._pending += 1
                self._queue.put((delivery, event))
            self._start()
        return len(targets)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, in flight or waiting for a retry (tests)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def snapshot(self) -> list[Record]:
        with self._lock:
            return [d.doc() for d in self.deliveries]

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="walmart-notifications", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        with httpx.Client(timeout=DELIVERY_TIMEOUT, transport=self._transport) as http:
            while True:
                delivery, event = self._queue.get()
                self._attempt(delivery, event, http)

    def _attempt(self, delivery: Delivery, event: Record, http: httpx.Client) -> None:
        with self._lock:
            sub = self.subscriptions.get(delivery.subscription_id)
            record = dict(sub.record) if sub is not None and sub.active else None
        ok, outcome = deliver(record, event, http) if record is not None else (False, "subscription gone or inactive")
        with self._lock:
            delivery.attempts += 1
            delivery.outcomes.append(outcome)
            delivery.delivered = ok
            retry = not ok and record is not None and delivery.attempts <= len(self.retry_delays)
            if retry:
                timer = threading.Timer(self.retry_delays[delivery.attempts - 1], self._queue.put, ((delivery, event),))
                timer.daemon = True
                timer.start()
            else:
                self._pending -= 1
                self._lock.notify_all()

"""Outgoing webhooks, signed with HMAC (reference §13; Books' webhook API has a `secret` of 12-50
alphanumerics "for webhook signature verification", zoho.com/books/api/v3/webhooks).

How Books signs is not documented; Zoho Billing documents `X-Zoho-Webhook-Signature` = hex
HMAC-SHA256, keyed with the secret, over the query/form pairs sorted by key and concatenated, then
the raw JSON body. Our deliveries are JSON, so the pairs are those of the hook URL's query string (a
hook registered as `https://.../zoho/webhook?org=acme` signs `orgacme` before the body); without a
query the signature is the hex HMAC-SHA256 of the raw body. The body is Books' "default payload":
the record under its module key, e.g. `{"contact": {...}}`. Each delivery is one POST from a
background thread, no retries (unverified); the outcome is logged for the control plane. A hook
without a secret is unsigned.

Hooks are registered by the control plane or by the API (`POST /settings/webhooks` with `url`,
`entity`, `events`, `secret`, `webhook_name`; `GET`; `DELETE /settings/webhooks/{id}`; scope
`ZohoBooks.settings.*`). The event names (`contact.created`, `contact.updated`, default both for
`entity: contact`) and the response messages are ours: Zoho's docs name the fields, not the values.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from sandbox.zoho_books.errors import dumps

SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"
SECRET_PATTERN = re.compile(r"[A-Za-z0-9]{12,50}")
POST_TIMEOUT = 5.0


def sign(secret: str, body: bytes, url: str = "") -> str:
    """The signature header value for `body` delivered to `url`: the URL's query pairs sorted by key, each
    key then value, then the raw body."""
    pairs = sorted(parse_qsl(urlsplit(url).query, keep_blank_values=True), key=lambda kv: kv[0])
    signed = "".join(k + v for k, v in pairs).encode("utf-8") + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


@dataclass
class Hook:
    webhook_id: str
    organization_id: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...]
    name: str = ""

    def public(self) -> dict[str, Any]:
        """The hook as the API shows it (the secret never leaves)."""
        return {"webhook_id": self.webhook_id, "webhook_name": self.name, "url": self.url, "method": "POST",
                "entity": self.events[0].split(".")[0] if self.events else "", "events": list(self.events),
                "is_secured": bool(self.secret)}


class Webhooks:
    """Registered hooks and a delivery thread."""

    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self.log: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[Hook, str, bytes, dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def register(self, organization_id: str, url: str, secret: str, events: list[str], name: str = "") -> Hook:
        """A hook of `organization_id` for `events` (no secret: unsigned); ValueError on a bad URL or secret."""
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must be an absolute http(s) URL")
        if secret and not SECRET_PATTERN.fullmatch(secret):
            raise ValueError("secret must be 12-50 letters or digits")
        hook = Hook(str(next(self._ids)), organization_id, url, secret, tuple(events), name)
        self.hooks[hook.webhook_id] = hook
        return hook

    def publish(self, organization_id: str, event: str, module: str, record: dict[str, Any]) -> None:
        """Queue one signed delivery per matching hook."""
        body = dumps({module: record})
        for hook in list(self.hooks.values()):
            if hook.organization_id == organization_id and event in hook.events:
                entry = {"id": len(self.log) + 1, "webhook_id": hook.webhook_id, "event": event, "url": hook.url,
                         "outcome": "pending", "status": None, "error": None}
                with self._lock:
                    self.log.append(entry)
                self._queue.put((hook, event, body, entry))
                self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zoho-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=POST_TIMEOUT) as client:
            while (job := self._queue.get()) is not None:
                hook, _event, body, entry = job
                try:
                    headers = {"Content-Type": "application/json;charset=UTF-8"}
                    if hook.secret:
                        headers[SIGNATURE_HEADER] = sign(hook.secret, body, hook.url)
                    answer = client.post(hook.url, content=body, headers=headers)
                    entry.update(status=answer.status_code,
                                 outcome="delivered" if 200 <= answer.status_code < 300 else "failed")
                except httpx.HTTPError as exc:
                    entry.update(outcome="failed", error=f"{type(exc).__name__}: {exc}")
                finally:
                    self._queue.task_done()
            self._queue.task_done()

    def remove(self, organization_id: str, webhook_id: str) -> bool:
        """Delete a hook of `organization_id`; whether there was one."""
        hook = self.hooks.get(webhook_id)
        if hook is None or hook.organization_id != organization_id:
            return False
        del self.hooks[webhook_id]
        return True

    def flush(self) -> list[dict[str, Any]]:
        """Wait until every queued delivery is done; the log."""
        self._queue.join()
        return self.entries()

    def entries(self) -> list[dict[str, Any]]:
        """The delivery log, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self.log]

    def close(self) -> None:
        """Stop the delivery thread (queued deliveries are made first)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

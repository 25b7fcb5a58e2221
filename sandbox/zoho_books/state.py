"""Everything the Zoho simulator holds: one clock, the accounts servers, the organisations,
limits, faults, webhooks and counters, shared by every served app (accounts and Books, each DC).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from datetime import datetime
from typing import Any

from sandbox.zoho_books.accounts import Accounts
from sandbox.zoho_books.clock import Clock
from sandbox.zoho_books.datacentres import data_centre
from sandbox.zoho_books.limits import Limiter
from sandbox.zoho_books.org import Organization, Record
from sandbox.zoho_books.webhooks import Webhooks


class ZohoState:
    """The simulated Zoho: build it, add clients, users and organisations, then serve its apps."""

    def __init__(self, *, start: datetime | None = None) -> None:
        self.clock = Clock(start)
        self.lock = threading.RLock()
        self.accounts = Accounts(self.clock)
        self.orgs: dict[str, Organization] = {}
        self.members: dict[str, set[str]] = {}           # user_id -> organisation ids
        self.limiter = Limiter(self.clock)
        self.webhooks = Webhooks()
        self.api_domains: dict[str, str] = {}            # dc -> served Books base URL
        self.accounts_urls: dict[str, str] = {}          # dc -> served accounts base URL
        self.faults: deque[dict[str, Any]] = deque()
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.running = threading.Event()                 # cleared by /__sandbox/hold
        self.running.set()

    def add_organization(self, org: Organization, owner: str) -> Organization:
        """Register `org` and give user `owner` (an id) access to it."""
        if owner not in self.accounts.users or self.accounts.users[owner].dc != org.dc:
            raise ValueError(f"owner {owner!r} must be a user of data centre {org.dc!r}")
        org.now = self.clock.now
        org.listeners.append(lambda event, record, o=org: self._publish(o, event, record))
        self.orgs[org.organization_id] = org
        self.members.setdefault(owner, set()).add(org.organization_id)
        return org

    def _publish(self, org: Organization, event: str, record: Record) -> None:
        module = event.split(".", 1)[0]
        self.webhooks.publish(org.organization_id, event, module, record)

    def api_domain(self, dc: str) -> str:
        """What the token response says `api_domain` is: the served Books URL of `dc`, else Zoho's."""
        return self.api_domains.get(dc) or data_centre(dc).api_domain

    def accounts_url(self, dc: str) -> str:
        """The served accounts URL of `dc`, else Zoho's."""
        return self.accounts_urls.get(dc) or data_centre(dc).accounts_url

    def organizations_of(self, user_id: str, dc: str) -> list[Organization]:
        """The organisations a user of `dc` can reach in `dc`."""
        return [self.orgs[o] for o in sorted(self.members.get(user_id, ())) if self.orgs[o].dc == dc]

    def queue_fault(self, status: int, count: int, code: int | None = None, message: str | None = None) -> None:
        """The next `count` admitted API requests answer `status` with `{code, message}`."""
        body = {"code": 1000 if code is None else code, "message": message or "Internal error"}
        self.faults.extend([{"status": status, "body": body}] * count)

    def take_fault(self) -> dict[str, Any] | None:
        """The next queued fault, if any."""
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def record(self, template: str, status: int) -> None:
        """Count one API answer."""
        with self.lock:
            self.by_path[template] += 1
            self.by_status[status] += 1

    def stats(self) -> dict[str, Any]:
        """The stats document of the control plane."""
        with self.lock:
            return {"requests": sum(self.by_status.values()), "by_path": dict(self.by_path),
                    "by_status": {str(k): v for k, v in self.by_status.items()},
                    "requests_by_organization": dict(self.limiter.requests),
                    "throttled_by_code": dict(self.limiter.refused),
                    "limits": {o: self.limiter.settings(org) for o, org in self.orgs.items()},
                    "tokens": self.accounts.stats(), "faults_pending": len(self.faults),
                    "now": self.clock.now().isoformat()}

    def reset_stats(self) -> None:
        """Zero the request counters."""
        with self.lock:
            self.by_path.clear()
            self.by_status.clear()
            self.limiter.requests.clear()
            self.limiter.refused.clear()

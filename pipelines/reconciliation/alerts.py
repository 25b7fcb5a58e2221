"""Operations alerts: exceptions as they appear, not only at month-end.

Two sources: the sync ledger (a record that failed, waits for its order, or is stuck `pending` by a
run that is gone) and the reconciliation's unexplained exceptions. A sensor sends whatever is new
since its cursor to ALERT_WEBHOOK_URL as a Slack-style `{"text": ...}` POST (Slack, Teams
workflows, Google Chat and most chat tools accept that shape), or writes it to the Dagster log when
no URL is set; a run-failure sensor does the same for failed runs. The URL usually embeds a token,
so it is a secret: errors name only its host.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

MAX_LINES = 20


@dataclass(frozen=True)
class Alert:
    source: str  # ledger | reconciliation | run
    key: str  # stable per problem, for de-duplication
    owner: str
    text: str


class AlertDeliveryError(RuntimeError):
    """The alert endpoint did not accept the message (its URL is not repeated: it holds a token)."""


def ledger_alerts(entries: Iterable) -> list[Alert]:
    """Failed, waiting and stuck records from sync-ledger entries (already filtered to the new ones)."""
    alerts = []
    for e in entries:
        what = e.detail.get("order_number") or e.detail.get("shipment") or e.source_id
        verb = {"failed": "failed", "waiting": "is waiting", "pending": "is stuck pending"}.get(e.state, e.state)
        why = e.last_error or (stuck_reason(e) if e.state == "pending" else "no reason recorded")
        alerts.append(Alert("ledger", f"{e.flow}:{e.source_id}:{e.state}:{e.attempts}", "operations",
                            f"{e.flow} {what} {verb}: {why}"))
    return alerts


def stuck_reason(entry) -> str:
    """Why a `pending` entry is stuck: the run that claimed it is gone, or it was left for the next run."""
    if not entry.owner:
        return "left unresolved; the next run looks it up in the target before sending again"
    run = entry.owner.rpartition(":")[2]
    since = datetime.fromtimestamp(entry.claimed_at, UTC).strftime("%Y-%m-%d %H:%M UTC") if entry.claimed_at else "?"
    return f"claimed by run {run} at {since}, which is gone; the next run looks it up before sending again"


def exception_alerts(rows: Iterable[dict]) -> list[Alert]:
    """Unexplained reconciliation exceptions (rows of recon_exceptions as dicts)."""
    return [Alert("reconciliation", f"{r['day']}:{r['category']}:{r.get('source_id')}:{r.get('target_id')}",
                  str(r["owner"]), f"{r['day']} {r['category']} ({r['owner']}): {r['reason']}") for r in rows]


def message(alerts: Sequence[Alert]) -> str:
    """One chat message for a batch of alerts, grouped by owner, at most MAX_LINES lines."""
    lines = [f"ml-connector: {len(alerts)} new exception(s)"]
    for owner in sorted({a.owner for a in alerts}):
        mine = [a for a in alerts if a.owner == owner]
        lines.append(f"*{owner}* ({len(mine)}):")
        lines += [f"• {a.text}" for a in mine[:MAX_LINES]]
        if len(mine) > MAX_LINES:
            lines.append(f"• … and {len(mine) - MAX_LINES} more (see the Dagster UI or `ml-connector ledger`)")
    return "\n".join(lines)


def send(url: str, text: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 10.0) -> None:
    """POST `{"text": text}` to the alert webhook; raises AlertDeliveryError naming only the host."""
    host = urlsplit(url).hostname or "?"
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.post(url, json={"text": text})
    except httpx.HTTPError as exc:
        raise AlertDeliveryError(f"alert webhook at {host} unreachable: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise AlertDeliveryError(f"alert webhook at {host} answered {response.status_code}")

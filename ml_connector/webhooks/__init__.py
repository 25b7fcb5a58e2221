"""ShipStation webhooks: a receiver that queues deliveries durably for a Dagster sensor to drain.

`store` (the SQLite queue, light to import), `signature` (V2 RSA signatures and the JWKS cache),
`app` (the Starlette receiver), `commands` (`ml-connector webhooks ...`), `load` (a burst of
deliveries, for tests and benchmarks).
"""

from __future__ import annotations

from pathlib import Path

from ml_connector.webhooks.store import StoredEvent, WebhookEvent, WebhookStore

QUEUE_FILE = "webhooks.sqlite3"

__all__ = ["QUEUE_FILE", "StoredEvent", "WebhookEvent", "WebhookStore", "queue_path"]


def queue_path(home: Path | str) -> Path:
    """Where the queue lives in the state directory (`ML_CONNECTOR_HOME`)."""
    return Path(home) / QUEUE_FILE

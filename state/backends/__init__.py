"""Where the durable state lives: SQLite files under the state directory (the default), or PostgreSQL.

Setting `ML_CONNECTOR_DATABASE_URL=postgresql://user:password@host:5432/db` moves the sync ledger, the
audit trail and the webhook queue into that database, in the schema `ML_CONNECTOR_DATABASE_SCHEMA`
(default: the merchant's name, `ML_CONNECTOR_MERCHANT`, as an identifier; else `ml_connector`), so
several merchants share one server without sharing rows. Unset, nothing changes: every store is the
SQLite file it always was. A store may also be given the URL directly (`SyncLedger(url=...)`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

DATABASE_URL_ENV = "ML_CONNECTOR_DATABASE_URL"
SCHEMA_ENV = "ML_CONNECTOR_DATABASE_SCHEMA"
MERCHANT_ENV = "ML_CONNECTOR_MERCHANT"
DEFAULT_SCHEMA = "ml_connector"
_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(_SCHEMES)


def database_url(location: Path | str | None = None, url: str | None = None,
                 env: Mapping[str, str] | None = None) -> str | None:
    """The PostgreSQL URL a store should use: `url`, a URL given as the location, else the environment's."""
    if url:
        return url
    if is_postgres_url(location):
        return str(location)
    configured = (os.environ if env is None else env).get(DATABASE_URL_ENV, "")
    if configured and not is_postgres_url(configured):
        raise ValueError(f"{DATABASE_URL_ENV} must be a postgresql:// URL (or unset for SQLite)")
    return configured or None


def schema_name(env: Mapping[str, str] | None = None) -> str:
    """The schema for this installation's tables: explicit, else derived from the merchant's name."""
    source = os.environ if env is None else env
    return identifier(source.get(SCHEMA_ENV) or source.get(MERCHANT_ENV) or DEFAULT_SCHEMA)


def identifier(name: str) -> str:
    """`name` as a safe lower-case SQL identifier (letters, digits, underscores; never leading digit)."""
    ident = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")[:63]
    if not ident:
        raise ValueError(f"{name!r} gives no usable schema name")
    return ident if not ident[0].isdigit() else f"m_{ident}"[:63]

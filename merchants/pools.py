"""One Tally writer per Tally company, across every run and every worker: a Dagster pool per company.

TallyPrime serves one request at a time per running instance, and a merchant's company lives in one
instance; two companies (two merchants, or one agency's two clients) are two instances and may be
written in parallel. So the flows' `pool="tally"` becomes `tally:<company>` (e.g.
`tally:acme-traders-pvt-ltd`), with one slot each. Pool slots are stored in the instance's event-log
database (PostgreSQL in production), so the limit holds for steps on any machine, under any
executor (multiprocess, Celery, Kubernetes).

The flows still declare `pool="tally"`; `with_company_pool` re-points every step in that pool at the
company's pool when a merchant's definitions are built (`merchants.locations`). See the lead's note in
the issue for the one-line change that lets the assets name the company pool themselves.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence

import dagster as dg

TALLY_POOL = "tally"


def tally_pool(company: str) -> str:
    """The pool of the Tally company `company` (`tally` when no company is configured)."""
    slug = re.sub(r"[^a-z0-9]+", "-", company.strip().lower()).strip("-")
    return f"{TALLY_POOL}:{slug}" if slug else TALLY_POOL


def with_company_pool(assets: Sequence[object], pool: str, *, old: str = TALLY_POOL) -> list[object]:
    """`assets` with every op in pool `old` moved to `pool` (other assets and specs unchanged)."""
    if pool == old:
        return list(assets)
    return [_repooled(a, pool) if isinstance(a, dg.AssetsDefinition) and _op_pool(a) == old else a
            for a in assets]


def _op_pool(asset: dg.AssetsDefinition) -> str | None:
    node = asset.node_def if asset.is_executable else None
    return getattr(node, "pool", None)


def _repooled(asset: dg.AssetsDefinition, pool: str) -> dg.AssetsDefinition:
    # Dagster has no public "same op, other pool": copy the op and set the pool it validated at creation.
    op = copy.copy(asset.node_def)
    op._pool = pool  # noqa: SLF001
    return dg.AssetsDefinition.dagster_internal_init(**{**asset.get_attributes_dict(), "node_def": op})


def ensure_pool_limits(instance: dg.DagsterInstance, pools: Iterable[str], limit: int = 1) -> None:
    """Set each pool's slot count explicitly (not only via `default_limit`), as `ml-connector sync` does for `tally`."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for pool in pools:
        if storage.get_concurrency_info(pool).slot_count != limit:
            storage.set_concurrency_slots(pool, limit)

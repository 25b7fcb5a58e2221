"""Every asset key of a merchant's code location carries the merchant's name: `acme/shipstation/orders`.

Dagster keeps one materializable definition per asset key across a deployment's code locations, and
an asset's history (its materializations, checks, the "latest staging run" a posting step reads) is
kept by key in the one instance every location shares. Two merchants defining `shipstation/orders`
would therefore share one asset in the UI and read each other's staged orders. Prefixing every key
with the merchant keeps each merchant's assets, history and lineage apart, and lets the asset catalog
filter by merchant as the runs list filters by the merchant tag.

The flows keep their plain key constants; at run time they look keys up by their tail in their own
code location (`pipelines.staged.local_key`). Op names and run config are unchanged, so a merchant's
runs take the same config as the single-merchant default, which is not prefixed.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def with_key_prefix(defs: dg.Definitions, prefix: str) -> dg.Definitions:
    """`defs` with every asset and check key under `prefix`, and every asset job's selection to match."""
    from pipelines.definitions import rebuild_jobs  # not at import: that module builds the default `defs`

    assets = list(defs.assets or [])
    checks = list(defs.asset_checks or [])
    if any(not isinstance(a, dg.AssetsDefinition) for a in [*assets, *checks]):
        raise TypeError("with_key_prefix takes AssetsDefinitions only (specs and source assets have no op to run)")
    graph = AssetGraph.from_assets([*assets, *checks])
    renamed = {key: key.with_prefix(prefix) for key in graph.get_all_asset_keys()}

    def selection(job: UnresolvedAssetJobDefinition) -> dict:
        keys = job.selection.resolve(graph)
        checks_of = job.selection.resolve_checks(graph)
        chosen = dg.AssetSelection.assets(*(renamed[k] for k in keys)).without_checks() | dg.AssetSelection.checks(
            *(dg.AssetCheckKey(renamed[c.asset_key], c.name) for c in checks_of))
        return {"selection": chosen}

    jobs, schedules, sensors = rebuild_jobs(list(defs.jobs or []), list(defs.schedules or []),
                                            list(defs.sensors or []), selection)
    return dg.Definitions(
        assets=[a.with_attributes(asset_key_replacements=renamed) for a in assets],
        asset_checks=[c.with_attributes(asset_key_replacements=renamed) for c in checks],
        jobs=jobs, schedules=schedules, sensors=sensors, resources=defs.resources, executor=defs.executor,
        loggers=defs.loggers, metadata=defs.metadata)

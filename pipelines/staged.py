"""Which run's staged records a posting step reads, and asset keys as this code location spells them.

A flow stages what it reads (ShipStation orders, labels, Walmart orders, returns) in one asset and posts
it in the next. A run that selects only the posting asset (a re-post from the UI, a replay) posts the
latest staging run's records. "Latest" must mean this merchant's: on a deployment with many merchants,
each merchant's code location prefixes every asset key with the merchant's name (`merchants.keys`), so
the flows' key constants (`shipstation/orders`) are looked up by their tail in the location's own asset
graph, and the latest materialization is the merchant's own.
"""

from __future__ import annotations

import dagster as dg


def local_key(context: dg.AssetExecutionContext, key: dg.AssetKey) -> dg.AssetKey:
    """`key` as this code location names it: itself, or the one key ending with it under the location's prefix."""
    graph = context.job_def.asset_layer.asset_graph
    if graph.has(key):
        return key
    tail = len(key.path)
    found = [k for k in graph.get_all_asset_keys() if len(k.path) > tail and k.path[-tail:] == key.path]
    if len(found) != 1:
        raise LookupError(f"asset {key.to_user_string()} is {'ambiguous' if found else 'not'} defined in this code"
                          f" location{': ' + ', '.join(k.to_user_string() for k in found) if found else ''}")
    return found[0]


def staged_run(context: dg.AssetExecutionContext, key: dg.AssetKey) -> str:
    """The run whose records staged by asset `key` to post: this run's if it staged any, else the latest
    run that materialized `key` in this code location."""
    event = context.instance.get_latest_materialization_event(local_key(context, key))
    return context.run_id if event is None or event.run_id == context.run_id else event.run_id

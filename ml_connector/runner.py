"""Run a flow's job in process on the configured Dagster instance, and summarise the outcome.

`ml-connector sync` and `demo` use this, so their runs show up in the Dagster UI like any other.
Without DAGSTER_HOME the instance lives under the state directory (persistent, unlike the
temporary one `dagster dev` makes when DAGSTER_HOME is unset).
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

INSTANCE_YAML = """\
concurrency:
  pools:
    default_limit: 1
    granularity: op
  runs:
    max_concurrent_runs: 4
telemetry:
  enabled: false
"""

POOL = "tally"
HOST_TAG = "ml-connector/host"
PID_TAG = "ml-connector/pid"


def dagster_home(state_dir: Path) -> Path:
    """DAGSTER_HOME if set, else `<state dir>/dagster` with ml-connector's instance config."""
    configured = os.environ.get("DAGSTER_HOME")
    home = Path(configured) if configured else (state_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def instance_for(state_dir: Path) -> dg.DagsterInstance:
    """The persistent instance, with the `tally` pool set to one slot explicitly."""
    home = dagster_home(state_dir)
    # Two processes creating a fresh SQLite instance at once race on its schema: take turns.
    with open(home / ".ml-connector-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        ensure_tally_pool(instance)
    return instance


def ensure_tally_pool(instance: dg.DagsterInstance) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits and storage.get_concurrency_info(POOL).slot_count != 1:
        storage.set_concurrency_slots(POOL, 1)


@dataclass
class RunSummary:
    run_id: str
    success: bool
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    warnings: set[str] = field(default_factory=set)
    error: str | None = None

    def metric(self, asset: str, name: str, default: Any = 0) -> Any:
        return self.assets.get(asset, {}).get(name, default)

    @property
    def failed_records(self) -> int:
        from pipelines.registry import failed_metrics  # each flow names the metadata that counts its failures

        return sum(int(self.metric(asset, name)) for asset, name in failed_metrics())


def process_tags() -> dict[str, str]:
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail our in-process runs whose process is gone, and free the pool slots they still hold.

    The daemon's run monitoring does this for runs it launched; a killed `ml-connector sync`
    would otherwise keep its `tally` slot and every later run would wait for it forever.
    """
    reaped = []
    in_flight = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
                              tags={HOST_TAG: socket.gethostname()})
    for run in instance.get_runs(filters=in_flight):
        if _alive(run.tags.get(PID_TAG)):
            continue
        instance.report_run_failed(run, "the process running it is gone (killed or crashed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def _alive(pid_text: str | None) -> bool:
    try:
        os.kill(int(pid_text or ""), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def run_job(defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance,
            run_config: dict | None = None, tags: dict[str, str] | None = None,
            log_level: str = "WARNING", partitions: tuple[str, str] | None = None) -> RunSummary:
    """Execute `job_name` in this process on `instance`; never raises for a failed run.

    `partitions` (first, last) runs a partitioned job over that range of keys in one run.
    """
    reap_dead_runs(instance)
    job = defs.resolve_job_def(job_name)
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    ranged = {"dagster/asset_partition_range_start": partitions[0],
              "dagster/asset_partition_range_end": partitions[1]} if partitions else {}
    result = job.execute_in_process(instance=instance, run_config=config,
                                    tags={**process_tags(), **ranged, **(tags or {})}, raise_on_error=False)
    summary = RunSummary(run_id=result.run_id, success=result.success)
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        summary.assets["/".join(mat.asset_key.path)] = {k: _plain(v) for k, v in mat.metadata.items()}
    for evaluation in result.get_asset_check_evaluations():
        summary.checks[evaluation.check_name] = evaluation.passed
        if evaluation.severity == dg.AssetCheckSeverity.WARN:
            summary.warnings.add(evaluation.check_name)
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        summary.error = failure.event_specific_data.error.message.strip() if failure else "run failed"
    return summary


def _plain(value: Any) -> Any:
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return getattr(value, "value", value)

"""Run a flow's job in process on the configured Dagster instance, and summarise the outcome.

`ml-connector sync` and `demo` use this, so their runs show up in the Dagster UI like any other.
Without DAGSTER_HOME the instance lives under the state directory (persistent, unlike the
temporary one `dagster dev` makes when DAGSTER_HOME is unset).
"""

from __future__ import annotations

import fcntl
import gc
import os
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What is loaded before a run (Dagster, the definitions, the instance: ~150,000 objects) is moved out
    of the cyclic GC's reach while the run runs: its full collections otherwise re-walk all of it, about
    1.6 CPU s of a 10,000-order sync (0.8 s left with it frozen). Unfrozen after, so a later collection
    can still free whatever of it became garbage (the demo runs many jobs in one process)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class RunSummary:
    run_id: str
    success: bool
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    warnings: set[str] = field(default_factory=set)
    error: str | None = None

    def metric(self, asset: str, name: str, default: Any = 0) -> Any:
        """Metadata `name` of asset path `asset` (in a merchant's code location, `<merchant>/<asset>`)."""
        found = self.assets.get(asset)
        if found is None:
            found = next((v for k, v in self.assets.items() if k.endswith("/" + asset)), {})
        return found.get(name, default)

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
            log_level: str = "WARNING", partitions: tuple[str, str] | None = None,
            progress: bool = False) -> RunSummary:
    """Execute `job_name` in this process on `instance`; never raises for a failed run.

    `partitions` (first, last) runs a partitioned job over that range of keys in one run. With
    `progress`, a terminal shows a progress bar of the run's steps while it runs (nothing elsewhere).
    """
    reap_dead_runs(instance)
    job = defs.resolve_job_def(job_name)
    config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    ranged = {"dagster/asset_partition_range_start": partitions[0],
              "dagster/asset_partition_range_end": partitions[1]} if partitions else {}
    run_id = str(uuid.uuid4())
    with frozen_heap(), StepProgress(instance, run_id, len(job.nodes), job_name, enabled=progress):
        result = job.execute_in_process(instance=instance, run_config=config, run_id=run_id,
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


class StepProgress:
    """A rich progress bar over a run's steps, fed by polling the run's step events from the instance.

    Only where standard output is a terminal: a log file or a pipe gets the summary alone.
    """

    POLL_SECONDS = 0.5

    def __init__(self, instance: dg.DagsterInstance, run_id: str, steps: int, title: str, *, enabled: bool) -> None:
        self.instance, self.run_id, self.steps, self.title = instance, run_id, max(steps, 1), title
        self.enabled = enabled and sys.stdout.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StepProgress:
        if self.enabled:
            self._thread = threading.Thread(target=self._show, name="run-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _show(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        done_types = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                      dg.DagsterEventType.STEP_SKIPPED}
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                      TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task(self.title, total=self.steps)
            while not self._stop.wait(self.POLL_SECONDS):
                try:
                    events = self.instance.all_logs(self.run_id)
                except Exception:  # the run is not stored yet, or the storage is busy: try again
                    continue
                finished = [e for e in events if e.dagster_event and e.dagster_event.event_type in done_types]
                started = [e.step_key for e in events
                           if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_START]
                running = started[-1] if len(started) > len(finished) else None
                bar.update(task, completed=len(finished),
                           description=f"{self.title}: {running}" if running else self.title)


def _plain(value: Any) -> Any:
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return getattr(value, "value", value)

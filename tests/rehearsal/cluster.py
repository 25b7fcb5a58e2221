"""A production-shaped ml-connector deployment on one machine, for the rehearsal and `bench/scale.py`.

Separate processes, as in production: PostgreSQL (Dagster's runs, event log, schedules and pool slots,
and the sync ledger), Redis (the Celery broker and result store), `dagster-daemon` (dequeues runs:
QueuedRunCoordinator; launches each run's orchestrator through the merchant's code server) and two
`dagster-celery` workers that execute the steps. Each deployment gets its own database and Celery
queue, dropped afterwards, so runs never meet leftovers of another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import yaml

from merchants.locations import celery_config_source, workspace_yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AUTO_RETRY_TAG = "dagster/auto_retry_run_id"  # set on a failed run when the daemon launches its retry
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def with_database(url: str, name: str, *, driver: str | None = None) -> str:
    parts = urlsplit(url)
    scheme = f"postgresql+{driver}" if driver else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, path=f"/{name}"))


def instance_yaml(*, max_runs: int, per_merchant_runs: int) -> str:
    """deploy/dagster.yaml, with this rehearsal's run limits."""
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text(encoding="utf-8"))
    config["concurrency"]["runs"]["max_concurrent_runs"] = max_runs
    config["concurrency"]["runs"]["tag_concurrency_limits"][0]["limit"] = per_merchant_runs
    config["run_monitoring"]["poll_interval_seconds"] = 5
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": 1}
    return yaml.safe_dump(config)


@dataclass
class Cluster:
    """Start with `Cluster.start(...)`; `stop()` ends every process it started and drops its database."""

    workdir: Path
    env: dict[str, str]
    pg_admin_url: str
    database: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    stack: ExitStack = field(default_factory=ExitStack)
    killed: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, workdir: Path, *, pg_url: str, redis_url: str, merchants_dir: Path, merchant_names: Iterable[str],
              extra_env: Mapping[str, str] = (), workers: int = 2, max_runs: int = 8, per_merchant_runs: int = 1,
              visibility_timeout: int = 30, extra_locations: Mapping[str, str] = ()) -> Cluster:
        """`extra_locations`: more code locations, {location name: python module with `defs`}."""
        import psycopg

        database = f"rehearsal_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        db_url = with_database(pg_url, database)
        home = workdir / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(instance_yaml(max_runs=max_runs, per_merchant_runs=per_merchant_runs))
        (workdir / "workspace.yaml").write_text(workspace_yaml(merchant_names) + "".join(
            f"  - python_module: {{module_name: {module}, attribute: defs, location_name: {name}}}\n"
            for name, module in dict(extra_locations).items()))
        env = {**os.environ, **dict(extra_env), "DAGSTER_HOME": str(home),
               "DAGSTER_PG_URL": with_database(pg_url, database, driver="psycopg2"),  # see deploy/dagster.yaml
               "ML_CONNECTOR_DATABASE_URL": db_url, "ML_CONNECTOR_MERCHANTS_DIR": str(merchants_dir),
               "ML_CONNECTOR_MERCHANTS_HOME": str(workdir / "state"), "ML_CONNECTOR_EXECUTOR": "celery",
               "DAGSTER_CELERY_BROKER_URL": redis_url, "DAGSTER_CELERY_BACKEND_URL": redis_url,
               "DAGSTER_CELERY_QUEUE": f"q-{database}", "DAGSTER_CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
               "PYTHONPATH": str(ROOT), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("ML_CONNECTOR_DATABASE_SCHEMA", None)
        (workdir / "celery.yaml").write_text(yaml.safe_dump({"execution": {"config": {
            "broker": redis_url, "backend": redis_url, "config_source": celery_config_source(env)}}}))
        cluster = cls(workdir, env, pg_url, database)
        try:
            cluster._init_storage()
            for n in range(1, workers + 1):
                cluster.start_worker(f"w{n}")
            cluster._spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workdir / "workspace.yaml")])
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _init_storage(self) -> None:
        """Create Dagster's tables once, before several processes race to create them."""
        subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
                       env=self.env, cwd=ROOT, check=True, timeout=120)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115  (closed with the process)
        self.stack.callback(log.close)
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group: a kill takes its children too
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(name, [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                                  "-y", str(self.workdir / "celery.yaml"), "-q", self.env["DAGSTER_CELERY_QUEUE"],
                                  "-n", name, "-l", "WARNING", "--", "--concurrency=1", "--without-gossip",
                                  "--without-mingle"])

    def kill(self, name: str) -> None:
        """SIGKILL the process group: the machine it ran on is gone, mid-instruction."""
        proc = self.procs[name]
        self.killed.add(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def check_alive(self) -> None:
        """Raise if a process died that nobody killed (its log says why)."""
        for name, proc in self.procs.items():
            if name not in self.killed and proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}): see {self.workdir / (name + '.log')}")

    def instance(self) -> dg.DagsterInstance:
        os.environ["DAGSTER_HOME"] = self.env["DAGSTER_HOME"]
        os.environ["DAGSTER_PG_URL"] = self.env["DAGSTER_PG_URL"]
        return dg.DagsterInstance.get()

    def submit(self, runs: list[tuple[str, str, dict, dict[str, str]]]) -> list[str]:
        """Queue `(location, job, run_config, tags)` runs as the UI does (GraphQL launch -> run queue)."""
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import WorkspaceFileTarget
        from dagster_graphql.test.utils import execute_dagster_graphql

        saved = dict(os.environ)
        os.environ.update(self.env)  # the code servers this process starts see the deployment's environment
        try:
            with WorkspaceProcessContext(self.instance(), WorkspaceFileTarget([str(self.workdir / "workspace.yaml")]),
                                         ) as process_context:
                context = process_context.create_request_context()
                return [self._launch(execute_dagster_graphql, context, *run) for run in runs]
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @staticmethod
    def _launch(execute, context, location: str, job: str, run_config: dict, tags: dict[str, str]) -> str:
        params = {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                               "pipelineName": job},
                  "runConfigData": run_config,
                  "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
        result = execute(context, LAUNCH, {"executionParams": params})
        answer = result.data["launchPipelineExecution"]
        if answer["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launch of {job} in {location} failed: {answer}")
        return answer["run"]["runId"]

    def wait(self, instance: dg.DagsterInstance, run_ids: Iterable[str], *, timeout: float,
             until: int | None = None, follow_retries: bool = False) -> list[dg.DagsterRun]:
        """Poll until every run (or `until` of them) has finished; the runs as they then are. With
        `follow_retries`, a run that failed and that the daemon re-runs (deploy/dagster.yaml `run_retries`)
        stands for its last retry: it has finished when that one has."""
        ids = list(run_ids)
        deadline = time.monotonic() + timeout
        while True:
            runs = [instance.get_run_by_id(i) for i in ids]
            if follow_retries:
                runs = [latest_attempt(instance, r) for r in runs]
            finished = [r for r in runs if r and r.status in DONE
                        and not (follow_retries and r.is_complete_and_waiting_to_retry)]
            if len(finished) >= (len(ids) if until is None else until):
                return runs
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished in {timeout}s: {[(r.run_id, r.status) for r in runs if r]}")
            time.sleep(1)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.stack.close()
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def latest_attempt(instance: dg.DagsterInstance, run: dg.DagsterRun | None) -> dg.DagsterRun | None:
    """`run`, or the last of the retries the daemon launched for it, following `dagster/auto_retry_run_id`."""
    while run is not None and run.tags.get(AUTO_RETRY_TAG):
        run = instance.get_run_by_id(run.tags[AUTO_RETRY_TAG])
    return run


def celery_steps(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """(run id, step key, worker) for every step a Celery worker picked up, in the order they started."""
    placed = []
    for run_id in run_ids:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            event = record.dagster_event
            data = event.engine_event_data.metadata if event and event.engine_event_data else {}
            worker = data.get("Celery worker")
            if worker is not None:
                placed.append((record.timestamp, run_id, event.step_key, str(worker.value)))
    return [(run_id, step, worker.split("@")[0]) for _, run_id, step, worker in sorted(placed)]

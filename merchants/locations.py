"""One Dagster code location per merchant, loaded from `merchants/<name>.yaml`.

The workspace names each merchant as an attribute of this module (`workspace_yaml()` writes it):

    load_from:
      - python_module: {module_name: merchants.locations, attribute: acme, location_name: merchant-acme}

Dagster starts one code server per entry; `getattr(merchants.locations, "acme")` applies acme's
environment (`Merchant.environment`: its settings, secrets, state directory and ledger schema) to that
process and builds the ordinary ml-connector definitions from it, with:
- every run tagged `ml-connector/merchant: acme` (pipelines.definitions.merchant_tagged);
- every asset key under the merchant's name, `acme/shipstation/orders` (merchants.keys);
- every Tally step in the pool `tally:<company>` (merchants.pools);
- the merchant's schedule choices applied;
- the executor chosen by `ML_CONNECTOR_EXECUTOR` (`celery`: steps go to Celery workers over
  `DAGSTER_CELERY_BROKER_URL`; unset: Dagster's default multiprocess executor).
Run workers and Celery workers rebuild the job through the same attribute, so they run it in the
merchant's environment too (a Celery worker serving several merchants switches per task).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._record import replace as record_replace

from merchants.config import Merchant, load_merchant, merchants_dir
from merchants.keys import with_key_prefix
from merchants.pools import tally_pool, with_company_pool

EXECUTOR_ENV = "ML_CONNECTOR_EXECUTOR"
BROKER_ENV = "DAGSTER_CELERY_BROKER_URL"
BACKEND_ENV = "DAGSTER_CELERY_BACKEND_URL"
QUEUE_ENV = "DAGSTER_CELERY_QUEUE"  # default "dagster"; workers listen with `-q`
VISIBILITY_ENV = "DAGSTER_CELERY_VISIBILITY_TIMEOUT"  # seconds; see executor_from_env
K8S_CONFIG_ENV = "ML_CONNECTOR_K8S_EXECUTOR_CONFIG"  # the k8s_job_executor's YAML (deploy/k8s/executor.yaml)
LOCATION_PREFIX = "merchant-"

_base_env: dict[str, str] | None = None
_built: dict[str, tuple[dict[str, str], dg.Definitions]] = {}


def apply_environment(env: Mapping[str, str]) -> None:
    """Make `env` this process's environment on top of the one it started with (undoing another merchant's)."""
    global _base_env
    if _base_env is None:
        _base_env = dict(os.environ)
    for key in set(os.environ) - set(_base_env) - set(env):
        del os.environ[key]
    os.environ.update(_base_env | dict(env))


def merchant_definitions(merchant: Merchant) -> dg.Definitions:
    """The merchant's code location: the product's definitions, built in the merchant's environment."""
    from ml_connector.config import Settings

    env = merchant.environment(_base_env if _base_env is not None else os.environ)
    apply_environment(env)
    from pipelines.definitions import build_definitions  # after the environment: it builds `defs` on import

    settings = Settings.from_env()
    return with_key_prefix(for_merchant(build_definitions(settings), settings.tally_company, merchant.schedules),
                           merchant.name)


def for_merchant(defs: dg.Definitions, company: str, schedules: Mapping[str, str]) -> dg.Definitions:
    """`defs` with Tally steps in the company's pool, the merchant's schedules, and the configured executor."""
    known = {s.name for s in defs.schedules or []}
    if unknown := sorted(set(schedules) - known):
        raise ValueError(f"schedules {unknown} do not exist (there are: {sorted(known)})")
    return dg.Definitions(
        assets=with_company_pool(list(defs.assets or []), tally_pool(company)),
        asset_checks=defs.asset_checks, jobs=defs.jobs, sensors=defs.sensors, resources=defs.resources,
        schedules=[_scheduled(s, schedules.get(s.name)) for s in defs.schedules or []],
        executor=defs.executor or executor_from_env(), loggers=defs.loggers, metadata=defs.metadata,
    )


_SWITCH = {"on": True, "running": True, "true": True, "off": False, "stopped": False, "false": False}


def _scheduled(schedule, choice: str | None):
    """The schedule switched on/off, or (a plain schedule) on at the cron `choice`."""
    if choice is None:
        return schedule
    word = choice.strip().lower()
    status = dg.DefaultScheduleStatus.RUNNING if _SWITCH.get(word, True) else dg.DefaultScheduleStatus.STOPPED
    if not isinstance(schedule, dg.ScheduleDefinition):  # built from a partitioned job: its cadence is the partitions'
        if word not in _SWITCH:
            raise ValueError(f"schedule {schedule.name} follows its partitions: only 'on' or 'off', not {choice!r}")
        return record_replace(schedule, default_status=status)
    return dg.ScheduleDefinition.dagster_internal_init(  # as ScheduleDefinition.with_attributes copies one
        name=schedule.name, cron_schedule=schedule.cron_schedule if word in _SWITCH else choice.strip(),
        job_name=None, execution_timezone=schedule.execution_timezone,
        execution_fn=schedule._execution_fn, description=schedule.description, job=schedule.job,  # noqa: SLF001
        default_status=status, environment_vars=None,
        required_resource_keys=schedule._raw_required_resource_keys,  # noqa: SLF001
        run_config=None, run_config_fn=None, tags=schedule.tags, tags_fn=None, metadata=schedule.metadata,
        should_execute=None, target=None, owners=None)


def executor_from_env(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition | None:
    """`celery` -> the Celery executor on $DAGSTER_CELERY_BROKER_URL (results: $DAGSTER_CELERY_BACKEND_URL).

    A step's task is acknowledged only when it has finished (`task_acks_late`), so a worker killed
    mid-step leaves its task on the broker and another worker runs it again once the visibility
    timeout has passed; the sync ledger turns the dead worker's unfinished claims into look-ups, so
    nothing is posted twice. The timeout must exceed the longest step (Redis redelivers a task that
    has been running longer, to a second worker): default one hour, Redis's own default.
    """
    source = os.environ if environ is None else environ
    choice = source.get(EXECUTOR_ENV, "")
    if not choice:
        return None
    if choice == "k8s":
        return k8s_executor(source[K8S_CONFIG_ENV])
    if choice != "celery":
        raise ValueError(f"{EXECUTOR_ENV} must be 'celery', 'k8s' or unset, not {choice!r}")
    from dagster_celery import celery_executor

    return celery_executor.configured({
        "broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV},
        "config_source": celery_config_source(source),
    })


def k8s_executor(config_path: str) -> dg.ExecutorDefinition:
    """The k8s_job_executor (a Kubernetes Job per step) with the YAML config at `config_path`, checked by Dagster."""
    import yaml
    from dagster_k8s import k8s_job_executor

    with open(config_path, encoding="utf-8") as handle:
        return k8s_job_executor.configured(yaml.safe_load(handle) or {})


def celery_config_source(environ: Mapping[str, str]) -> dict:
    """The Celery settings the executor and the workers share (they must agree on the queue)."""
    return {"task_acks_late": True, "task_reject_on_worker_lost": True,
            "task_default_queue": environ.get(QUEUE_ENV) or "dagster",
            "broker_transport_options": {"visibility_timeout": int(environ.get(VISIBILITY_ENV) or 3600)}}


def workspace_yaml(names: Iterable[str], module: str = __name__) -> str:
    """A workspace.yaml with one code location per merchant name."""
    lines = ["load_from:"]
    for name in names:
        lines.append(f"  - python_module: {{module_name: {module}, attribute: {name},"
                     f" location_name: {LOCATION_PREFIX}{name}}}")
    return "\n".join(lines) + "\n"


def __getattr__(name: str) -> dg.Definitions:
    """`merchants.locations.<name>`: that merchant's definitions (built once per process, its environment
    re-applied on every access so a worker that switches merchants switches environments)."""
    if name.startswith("_"):
        raise AttributeError(name)
    if name not in _built:
        path = merchants_dir() / f"{name}.yaml"
        if not path.exists():
            raise AttributeError(f"no merchant file {path}")
        merchant = load_merchant(path)
        defs = merchant_definitions(merchant)
        _built[name] = (dict(os.environ), defs)
    env, defs = _built[name]
    apply_environment(env)
    return defs


if __name__ == "__main__":
    import sys

    from merchants.config import merchant_files

    sys.stdout.write(workspace_yaml(merchant_files(sys.argv[1] if len(sys.argv) > 1 else None)))

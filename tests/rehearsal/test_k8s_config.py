"""The Kubernetes path's configuration, checked by Dagster's own schemas (dagster-k8s 0.29.27)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher, k8s_job_executor

from merchants.locations import executor_from_env

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _helm_to_python(value: object) -> object:
    """The chart passes runLauncher.config.k8sRunLauncher through as K8sRunLauncher config, camelCase -> snake_case."""
    if isinstance(value, dict):
        return {_snake(k): v if k == "runK8sConfig" else _helm_to_python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [item["name"] if isinstance(item, dict) and set(item) == {"name"} else item for item in value]
    return value


def test_the_instance_file_passes_dagsters_instance_and_run_launcher_schemas(tmp_path: Path):
    shutil.copy(K8S / "dagster-instance.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_launcher"]["class"] == "K8sRunLauncher" and "postgres" in config["storage"]
    checked = validate_config(K8sRunLauncher.config_type(), config["run_launcher"]["config"])
    assert checked.success, checked.errors


def test_the_values_files_run_launcher_block_passes_the_run_launchers_schema():
    values = yaml.safe_load((K8S / "values.yaml").read_text(encoding="utf-8"))
    block = _helm_to_python(values["runLauncher"]["config"]["k8sRunLauncher"])
    block["run_k8s_config"] = {_snake(k): v for k, v in block["run_k8s_config"].items()}
    checked = validate_config(K8sRunLauncher.config_type(), {"instance_config_map": "x", **block})
    assert checked.success, checked.errors
    names = [d["dagsterApiGrpcArgs"][-1] for d in values["dagster-user-deployments"]["deployments"]]
    assert all((K8S.parents[1] / "merchants" / "examples" / f"{n}.yaml").exists() for n in names)


def test_the_executor_file_passes_the_k8s_job_executors_schema_and_a_typo_does_not():
    config = yaml.safe_load((K8S / "executor.yaml").read_text(encoding="utf-8"))
    assert validate_config(k8s_job_executor.config_schema.config_type, config).success
    assert not validate_config(k8s_job_executor.config_schema.config_type, {**config, "max_concurent": 2}).success
    executor = executor_from_env({"ML_CONNECTOR_EXECUTOR": "k8s",
                                  "ML_CONNECTOR_K8S_EXECUTOR_CONFIG": str(K8S / "executor.yaml")})
    assert executor.name == "k8s"
    dg.Definitions.validate_loadable(dg.Definitions(jobs=[_noop_job()], executor=executor))


def test_an_unknown_executor_is_refused_by_name():
    with pytest.raises(ValueError, match="ML_CONNECTOR_EXECUTOR"):
        executor_from_env({"ML_CONNECTOR_EXECUTOR": "docker"})


def _noop_job() -> dg.JobDefinition:
    @dg.op
    def noop() -> None:
        return None

    @dg.job
    def noop_job():
        noop()

    return noop_job

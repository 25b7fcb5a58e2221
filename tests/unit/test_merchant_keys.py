"""A merchant's code location: every asset and check key under the merchant's name, every job still whole."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.definitions.dependency import NodeHandle
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from merchants.keys import with_key_prefix
from ml_connector.config import Settings
from pipelines.definitions import build_definitions

EVERY_SYSTEM = {"TALLY_COMPANY": "Acme Traders", "WALMART_CLIENT_ID": "id", "ZOHO_ORGANIZATION_ID": "600",
                "ACUMATICA_URL": "https://erp.example.com/AcumaticaERP", "ML_CONNECTOR_MERCHANT": "acme"}


@pytest.fixture(scope="module")
def plain() -> dg.Definitions:
    return build_definitions(Settings.from_env(EVERY_SYSTEM))


@pytest.fixture(scope="module")
def acme(plain) -> dg.Definitions:
    return with_key_prefix(plain, "acme")


def test_every_key_moves_under_the_merchant_and_nothing_is_lost(plain, acme):
    before = plain.resolve_asset_graph()
    after = acme.resolve_asset_graph()
    assert {k.with_prefix("acme") for k in before.get_all_asset_keys()} == after.get_all_asset_keys()
    assert {dg.AssetCheckKey(k.asset_key.with_prefix("acme"), k.name) for k in before.asset_check_keys} == set(
        after.asset_check_keys)
    for key in before.get_all_asset_keys():  # lineage and groups kept
        assert {p.with_prefix("acme") for p in before.get(key).parent_keys} == after.get(
            key.with_prefix("acme")).parent_keys
        assert before.get(key).group_name == after.get(key.with_prefix("acme")).group_name


def test_each_job_selects_the_same_assets_and_checks_under_their_new_keys(plain, acme):
    jobs = [job.name for job in plain.jobs if isinstance(job, UnresolvedAssetJobDefinition)]
    assert "shipstation_to_tally" in jobs and "reconciliation" in jobs
    assert _checks(plain.resolve_job_def("shipstation_to_tally"))  # the comparison below has checks to compare
    for name in jobs:
        old, new = plain.resolve_job_def(name), acme.resolve_job_def(name)
        old_keys = old.asset_layer.selected_asset_keys
        assert {k.with_prefix("acme") for k in old_keys} == set(new.asset_layer.selected_asset_keys), name
        assert {dg.AssetCheckKey(k.asset_key.with_prefix("acme"), k.name) for k in _checks(old)} == _checks(new), name
        assert new.tags.get("ml-connector/merchant") == "acme"  # the merchant's tag kept
        assert {n.name for n in old.nodes} == {n.name for n in new.nodes}  # op names, hence run config, unchanged


def test_schedules_and_sensors_follow_the_renamed_jobs(acme):
    dg.Definitions.validate_loadable(acme)
    for schedule in acme.schedules:
        job = schedule.job
        selection = getattr(job, "selection", None)
        if selection is not None:
            assert all(k.path[0] == "acme" for k in selection.resolve(acme.resolve_asset_graph())), schedule.name
    for sensor in acme.sensors:
        for job in sensor.jobs if sensor.has_jobs else []:
            if isinstance(job, UnresolvedAssetJobDefinition):
                assert job is next(j for j in acme.jobs if j.name == job.name), sensor.name


def _checks(job: dg.JobDefinition) -> set[dg.AssetCheckKey]:
    """The asset checks the job's steps run."""
    return {key for node in job.nodes for key in job.asset_layer.get_selected_entity_keys_for_node(
        NodeHandle(node.name, None)) if isinstance(key, dg.AssetCheckKey)}

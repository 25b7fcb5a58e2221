"""What the Dagster UI shows a merchant: groups per system pair, owners, plain descriptions, run tags."""

from __future__ import annotations

import dagster as dg
import pytest

from ml_connector.config import Settings
from pipelines.definitions import MERCHANT_TAG, build_definitions
from pipelines.registry import FLOWS

EVERY_SYSTEM = {"TALLY_COMPANY": "Sharma & Sons", "WALMART_CLIENT_ID": "id", "ZOHO_ORGANIZATION_ID": "600",
                "ACUMATICA_URL": "https://erp.example.com/AcumaticaERP"}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env(EVERY_SYSTEM | {"ML_CONNECTOR_MERCHANT": "Sharma"}))


def test_a_pair_whose_system_is_not_configured_adds_nothing():
    only_tally = build_definitions(Settings.from_env({"TALLY_COMPANY": "Sharma & Sons"}))
    groups = {node.group_name for node in (only_tally.resolve_asset_graph().get(key) for key in
                                           only_tally.resolve_asset_graph().get_all_asset_keys())}
    assert groups == {"shipstation_tally", "reconciliation"}
    every = build_definitions(Settings.from_env(EVERY_SYSTEM))
    graph = every.resolve_asset_graph()
    assert {"walmart_tally", "shipstation_zoho", "acumatica_shipstation"} <= {
        graph.get(key).group_name for key in graph.get_all_asset_keys()}


def test_every_asset_is_in_its_pairs_group_with_an_owner_and_a_description(defs):
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
    assert {"shipstation_tally", "reconciliation"} <= {node.group_name for node in nodes}
    assert "inventory" not in {node.group_name for node in nodes}  # grouped by pair, not by function
    for node in nodes:
        assert node.owners and all(o.startswith("team:") for o in node.owners), node.key
        assert node.description and len(node.description) > 20, node.key


def test_every_check_says_in_words_what_it_checks(defs):
    graph = defs.resolve_asset_graph()
    specs = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    assert len(specs) >= 5
    for spec in specs:
        assert spec.description and len(spec.description.split()) >= 6, spec.name


def test_every_flows_runs_carry_the_flow_and_the_merchant(defs):
    for flow in FLOWS:
        tags = defs.resolve_job_def(flow.job).run_tags
        assert tags[MERCHANT_TAG] == "Sharma" and tags["ml-connector/flow"] == flow.name, flow.name
    assert defs.resolve_job_def("reconciliation").run_tags[MERCHANT_TAG] == "Sharma"


def test_sensors_and_schedules_launch_the_tagged_jobs(defs):
    for sensor in defs.sensors:
        for job in (sensor.jobs if sensor.has_jobs else []):
            assert job.run_tags[MERCHANT_TAG] == "Sharma", sensor.name
    for schedule in defs.schedules:
        if getattr(schedule, "has_job", False):
            assert schedule.job.run_tags[MERCHANT_TAG] == "Sharma", schedule.name


def test_without_a_merchant_name_the_tally_company_names_the_runs():
    defs = build_definitions(Settings.from_env({"TALLY_COMPANY": "Sharma & Sons"}))
    assert defs.resolve_job_def("shipstation_to_tally").run_tags[MERCHANT_TAG] == "Sharma & Sons"


def test_every_totals_row_of_every_pack_compares_like_with_like():
    from pipelines.definitions import pairs

    packs = [pack for part in pairs(Settings.from_env(EVERY_SYSTEM)) for pack in part.rule_packs]
    assert len(packs) == 4
    for pack in packs:
        money = {m.key for m in pack.measures if m.money}
        keys = {m.key for m in pack.measures}
        for row in pack.total_rows:
            assert {row.left, row.right} <= keys, (pack.pair, row.label)
            assert (row.left in money) == (row.right in money) == row.money, (pack.pair, row.label)

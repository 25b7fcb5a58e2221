"""Two merchants on one deployment: each from its own file, each its own code location, runs tagged by
merchant, Tally writes in each company's own pool, and one merchant's failure leaves the other's alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from merchants.config import MerchantConfigError, load_merchant
from merchants.locations import workspace_yaml
from merchants.pools import tally_pool
from tests.rehearsal.world import ROOT, RUN_ONE, SQLITE_INSTANCE, dagster_home, parse_last_json, start_world

MERCHANT_TAG = "ml-connector/merchant"  # pipelines.definitions.MERCHANT_TAG
JOB = "shipstation_to_tally"


@pytest.fixture
def worlds():
    acme = start_world("acme", seed=7, orders=40)
    globex = start_world("globex", seed=11, orders=40)
    yield acme, globex
    acme.sandbox.stop()
    globex.sandbox.stop()


def test_two_merchants_run_side_by_side_and_one_failing_leaves_the_other_alone(worlds, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    acme, globex = worlds
    folder = tmp_path / "merchants"
    acme.merchant_file(folder)
    globex.merchant_file(folder, shipstation_url="http://127.0.0.1:9")  # globex's ShipStation is unreachable
    home = dagster_home(tmp_path / "dagster", SQLITE_INSTANCE)
    env = {**os.environ, **acme.secrets(), **globex.secrets(), "DAGSTER_HOME": str(home),
           "ML_CONNECTOR_MERCHANTS_DIR": str(folder), "ML_CONNECTOR_MERCHANTS_HOME": str(tmp_path / "state")}
    env.pop("ML_CONNECTOR_DATABASE_URL", None)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dg.DagsterInstance.get().dispose()  # its schema made once, before two processes open it
    procs = {name: subprocess.Popen([sys.executable, "-c", RUN_ONE, name, JOB], cwd=ROOT, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("acme", "globex")}
    outcome = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        outcome[name] = parse_last_json(out)

    assert outcome["acme"]["success"], outcome["acme"]["error"]
    assert outcome["acme"]["created"] == len(acme.expected())
    per_order = acme.vouchers_per_order()
    assert set(per_order) == acme.expected() and set(per_order.values()) == {1}
    assert not outcome["globex"]["success"] and globex.vouchers_per_order() == {}

    with dg.DagsterInstance.get() as instance:
        for name in ("acme", "globex"):
            [run] = instance.get_runs(filters=dg.RunsFilter(tags={MERCHANT_TAG: name}))
            assert run.run_id == outcome[name]["run_id"]
        pools = instance.event_log_storage.get_concurrency_keys()
        assert tally_pool("Acme Traders") in pools and "tally" not in pools
    assert (tmp_path / "state" / "acme" / "ledger.sqlite3").exists()  # each merchant's own state
    assert not (tmp_path / "state" / "globex" / "ledger.sqlite3").exists()


def test_company_pools_are_distinct_per_company_and_stable():
    assert tally_pool("Acme Traders Pvt Ltd") == "tally:acme-traders-pvt-ltd"
    assert tally_pool("  Acme  Traders pvt. ltd ") == "tally:acme-traders-pvt-ltd"
    assert tally_pool("Globex Exports LLP") != tally_pool("Acme Traders Pvt Ltd")
    assert tally_pool("") == "tally"


def test_a_merchant_file_mistake_names_the_file_and_the_key(tmp_path: Path):
    bad = tmp_path / "acme.yaml"
    bad.write_text("systems:\n  tally:\n    compnay: Acme\n", encoding="utf-8")
    with pytest.raises(MerchantConfigError, match=r"acme\.yaml: systems\.tally\.compnay: TALLY_COMPNAY is not"):
        load_merchant(bad).environment({})
    missing = tmp_path / "globex.yaml"
    missing.write_text("credentials:\n  SHIPSTATION_API_KEY: {env: GLOBEX_KEY}\n", encoding="utf-8")
    with pytest.raises(MerchantConfigError, match=r"credentials\.SHIPSTATION_API_KEY: GLOBEX_KEY is not set"):
        load_merchant(missing).environment({})
    (tmp_path / "Bad Name.yaml").write_text("{}", encoding="utf-8")
    with pytest.raises(MerchantConfigError, match="name"):
        load_merchant(tmp_path / "Bad Name.yaml")


def test_the_example_merchants_load_with_their_mappings_and_schedules(tmp_path: Path):
    examples = ROOT / "merchants" / "examples"
    env = {"ACME_SHIPSTATION_API_KEY": "k", "ACME_SHIPSTATION_API_SECRET": "s",
           "ML_CONNECTOR_MERCHANTS_HOME": str(tmp_path)}
    acme = load_merchant(examples / "acme.yaml")
    with pytest.raises(MerchantConfigError, match="ACME_TALLY_AGENT_TOKEN is not set"):
        acme.environment(env)  # a credential-store reference with nothing stored
    acme_env = acme.environment(env | {"ACME_TALLY_AGENT_TOKEN": "t0ken"})
    assert (acme_env["TALLY_SALES_LEDGER"], acme_env["TALLY_CUSTOMER_GROUP"]) == ("Sales - Online", "Online Customers")
    assert Path(acme_env["TALLY_SKU_MAP"]).read_text(encoding="utf-8").splitlines()[1] == "SS-BLUE-1,Widget Blue"
    globex = load_merchant(examples / "globex.yaml").settings_model(
        {"GLOBEX_SHIPSTATION_API_KEY": "k", "GLOBEX_SHIPSTATION_API_SECRET": "s",
         "ML_CONNECTOR_MERCHANTS_HOME": str(tmp_path)})
    assert (globex.tally_company, globex.merchant, globex.ml_connector_home) == (
        "Globex Exports LLP", "globex", tmp_path / "globex")
    assert globex.shipstation_api_key.get_secret_value() == "k"
    text = workspace_yaml(["acme", "globex"])
    assert "attribute: acme, location_name: merchant-acme" in text and "merchant-globex" in text


def test_a_post_only_run_posts_its_own_merchants_latest_staged_orders(worlds, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    acme, globex = worlds
    folder = tmp_path / "merchants"
    acme.merchant_file(folder)
    globex.merchant_file(folder)
    home = dagster_home(tmp_path / "dagster", SQLITE_INSTANCE)
    env = {**os.environ, **acme.secrets(), **globex.secrets(), "DAGSTER_HOME": str(home),
           "ML_CONNECTOR_MERCHANTS_DIR": str(folder), "ML_CONNECTOR_MERCHANTS_HOME": str(tmp_path / "state")}
    env.pop("ML_CONNECTOR_DATABASE_URL", None)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def run(name: str, selection: str) -> dict:
        done = subprocess.run([sys.executable, "-c", RUN_SELECTION, name, selection], cwd=ROOT, env=env, text=True,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return parse_last_json(done.stdout)

    assert run("acme", "shipstation/orders")["success"]  # acme stages
    assert run("globex", "*")["success"]  # then globex stages and posts
    posted = run("acme", "tally/stock_items,tally/ledgers,tally/customer_ledgers,tally/order_vouchers")
    assert posted["created"] == len(acme.expected())
    assert set(acme.vouchers_per_order()) == acme.expected() and set(acme.vouchers_per_order().values()) == {1}
    assert set(globex.vouchers_per_order().values()) == {1}
    with dg.DagsterInstance.get() as instance:  # each merchant's history under its own keys
        for name in ("acme", "globex"):
            assert instance.get_latest_materialization_event(dg.AssetKey([name, "shipstation", "orders"]))
        assert instance.get_latest_materialization_event(dg.AssetKey(["shipstation", "orders"])) is None


RUN_SELECTION = """
import json, sys
import dagster as dg
from merchants import locations
defs = getattr(locations, sys.argv[1])
job = defs.resolve_job_def("shipstation_to_tally")
keys = None if sys.argv[2] == "*" else [dg.AssetKey([sys.argv[1], *k.split("/")]) for k in sys.argv[2].split(",")]
result = job.execute_in_process(instance=dg.DagsterInstance.get(), asset_selection=keys, raise_on_error=False)
created = [m.metadata.get("created") for m in (e.event_specific_data.materialization
                                               for e in result.get_asset_materialization_events())
           if m.asset_key.path[1:] == ["tally", "order_vouchers"]]
print(json.dumps({"success": result.success, "created": created[0].value if created else None}))
"""

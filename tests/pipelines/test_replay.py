"""Replay: picking failed records by id, kind and time, the dry run's plan, the CLI and the Dagster job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from ml_connector import cli
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
from pipelines.flow import FlowSpec, PreviewSources, Replay
from pipelines.registry import flow
from pipelines.replay import build_replay_job, describe, failed_filter, parse_when, plan_replay
from pipelines.shipstation_tally.posting import FLOW, TARGET
from resources import StateResource
from state.ledger import Candidate, SyncLedger

ORDER = {"orderId": 501, "orderNumber": "WC-501", "items": [{"sku": "NOPE", "quantity": 2}]}


def spec(preview=None) -> FlowSpec:
    return FlowSpec("orders", "some_job", "test", replay=Replay(
        FLOW, "order(s)", lambda entries: {"ids": sorted(e.source_id for e in entries)}, preview=preview,
        target="tally"))


def seeded(home: Path) -> SyncLedger:
    """Three failures, one of each kind, at known times; and one posted record that must never be picked."""
    ledger = SyncLedger(home / "ledger.sqlite3")
    ledger.record_failed_unclaimed(FLOW, TARGET,
                                   Candidate("501", "ss-order-501", "", detail={"order_number": "WC-501"}),
                                   "items[0].sku: SKU 'NOPE' has no stock item", json.dumps(ORDER))
    for sid, transient in (("502", False), ("503", True), ("504", None)):
        cand = Candidate(sid, f"ss-order-{sid}", f"h{sid}", detail={"order_number": f"WC-{sid}"})
        ledger.claim(FLOW, TARGET, [cand], "me")
        if transient is None:
            ledger.record_posted(FLOW, TARGET, [(sid, f"T{sid}", f"h{sid}", False)])
        else:
            ledger.record_failed(FLOW, TARGET, [(sid, "LINEERROR: bad ledger" if sid == "502" else "Tally down",
                                                 json.dumps({"orderId": int(sid)}))], transient=transient)
    ledger._conn.execute("UPDATE sync_entries SET updated_at = ? WHERE source_id = '501'",
                         (parse_when("2026-03-01"),))
    ledger._conn.execute("UPDATE sync_entries SET updated_at = ? WHERE source_id = '502'",
                         (parse_when("2026-03-10T12:00:00+05:30"),))
    return ledger


def picked(ledger: SyncLedger, **where) -> list[str]:
    return [e.source_id for e in plan_replay(spec(), ledger, failed_filter(**where)).entries]


def test_failed_records_are_picked_by_id_number_kind_and_time(tmp_path: Path) -> None:
    ledger = seeded(tmp_path)
    assert picked(ledger) == ["501", "502", "503"]
    assert picked(ledger, record_ids=["WC-502", "503"]) == ["502", "503"]
    assert picked(ledger, record_ids=["504"]) == []  # posted: nothing to replay
    assert picked(ledger, kinds=["mapping"]) == ["501"]
    assert picked(ledger, kinds=["refused", "transient"]) == ["502", "503"]
    assert picked(ledger, since="2026-03-05", until="2026-03-11") == ["502"]
    assert picked(ledger, until="2026-03-10T06:30:00Z") == ["501"]  # 12:00 +05:30 is 06:30 UTC
    assert picked(ledger, until="2026-03-10T06:30:01Z") == ["501", "502"]


def test_bad_filters_are_refused_with_what_was_expected() -> None:
    with pytest.raises(ValueError, match="mapping, refused, transient"):
        failed_filter(kinds=["oops"])
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        failed_filter(since="last tuesday")


def test_the_plan_shows_each_record_what_happens_to_it_and_what_is_sent(tmp_path: Path) -> None:
    ledger = seeded(tmp_path)
    ledger._conn.execute("UPDATE sync_entries SET target_id = 'T502' WHERE source_id = '502'")
    plan = plan_replay(spec(), ledger, failed_filter(record_ids=["501", "502"]))
    text = "\n".join(describe(plan))
    assert "Replay orders: 2 failed order(s)" in text and "job some_job" in text
    assert "- 501 (WC-501): mapping, 1 attempt(s), last failed 2026-03-01 00:00:00 UTC: items[0].sku" in text
    assert "will look key ss-order-501 up in tally and create it only if it is not there" in text
    assert '"sku": "NOPE"' in text  # the stored source record, in full
    assert "- 502 (WC-502): refused" in text and "will alter tally record T502 (key ss-order-502)" in text
    assert 'Run config: {"ids": ["501", "502"]}' in text
    previewed = "\n".join(describe(plan_replay(spec(lambda e, sources: f"<VOUCHER>{e.source_id}</VOUCHER>"), ledger,
                                               failed_filter(record_ids=["501"])), PreviewSources(None, None)))
    assert "will send:\n    <VOUCHER>501</VOUCHER>" in previewed
    assert describe(plan_replay(spec(), ledger, failed_filter(record_ids=["nope"]))) == [
        "Nothing to replay: no failed records match."]


def test_cli_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    home = tmp_path / "state"
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    seeded(home)
    code = cli.main(["replay", "shipstation-to-tally", "--kind", "mapping", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 failed order(s)" in out and "- 501 (WC-501): mapping" in out and '"orderNumber": "WC-501"' in out
    assert 'Run config: {"ops": {"shipstation__orders": {"config": {"order_ids": [501]}}}}' in out
    assert not (home / "dagster").exists()  # no run was even prepared
    assert cli.main(["replay", "shipstation-to-tally", "--since", "someday"]) == 2


def test_the_dagster_job_shows_the_plan_first_and_runs_the_flow_only_when_asked(tmp_path: Path) -> None:
    seeded(tmp_path)
    calls: list[tuple[str, dict]] = []

    def run_flow(spec: FlowSpec, config: dict, instance: dg.DagsterInstance) -> tuple[str, bool]:
        calls.append((spec.name, config))
        return "child-run", spec.name == "good"

    flows = [FlowSpec("good", "j", "", replay=Replay(FLOW, "order(s)", lambda es: {"n": len(es)})),
             FlowSpec("bad", "j", "", replay=Replay(FLOW, "order(s)", lambda es: {"n": len(es)}))]
    job = build_replay_job(flows, run_flow)
    resources = {"state": StateResource(home=str(tmp_path))}

    def launch(flow_name: str, **config) -> dg.ExecuteInProcessResult:
        with dg.instance_for_test() as instance:
            return job.execute_in_process(run_config={"ops": {"replay_failed_records": {"config": {
                "flow": flow_name, **config}}}}, resources=resources, instance=instance, raise_on_error=False)

    dry = launch("good", kinds=["transient"])
    assert dry.success and calls == [] and dry.output_for_node("replay_failed_records") == 1
    output = next(e for e in dry.all_events if e.is_successful_output)
    metadata = output.event_specific_data.metadata
    assert metadata["dry_run"].value is True and metadata["records"].value == 1
    assert "- 503 (WC-503): transient" in metadata["plan"].value and "Tally down" in metadata["plan"].value
    real = launch("good", record_ids=["501", "502"], dry_run=False)
    assert real.success and calls == [("good", {"n": 2})]
    assert not launch("bad", dry_run=False).success  # the replay run failed: so does this one
    assert not launch("nope").success
    assert not launch("good", kinds=["sometimes"]).success


def test_the_dagster_job_re_drives_a_real_failed_order(env, tmp_path: Path) -> None:
    """Against the sandbox: an unknown SKU fails an order; mapped, the replay job posts it once."""
    assert env.run().failed_records >= 1
    sku_map = tmp_path / "skus.csv"
    first_item = env.sandbox.merchant.tally["stock_items"][0]["name"]
    sku_map.write_text(f"{env.sandbox.merchant.unknown_sku},{first_item}\n", encoding="utf-8")
    settings = env.settings().model_copy(update={"tally_sku_map": str(sku_map)})
    defs = build_definitions(settings)

    def run_flow(spec: FlowSpec, config: dict, instance: dg.DagsterInstance) -> tuple[str, bool]:
        summary = run_job(defs, spec.job, instance, config)
        return summary.run_id, summary.success and summary.failed_records == 0

    job = build_replay_job([flow("shipstation-to-tally")], run_flow)
    before = len(env.order_vouchers())
    instance = instance_for(env.home)
    config = {"ops": {"replay_failed_records": {"config": {"flow": "shipstation-to-tally", "dry_run": False,
                                                             "kinds": ["mapping"]}}}}
    result = job.execute_in_process(run_config=config, instance=instance,
                                    resources={"state": StateResource(home=str(env.home))})
    assert result.success and result.output_for_node("replay_failed_records") >= 1
    assert len(env.order_vouchers()) == before + 1
    assert all(n == 1 for n in env.vouchers_per_order().values())
    again = job.execute_in_process(run_config=config, instance=instance,
                                   resources={"state": StateResource(home=str(env.home))})
    assert again.output_for_node("replay_failed_records") == 0 and len(env.order_vouchers()) == before + 1


def test_the_tally_order_flow_previews_the_exact_voucher_import_it_would_send(tmp_path: Path) -> None:
    from ml_connector.config import Settings
    from state.staging import StagingStore
    from tests.fuzz.strategies import valid_order

    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    good, bad = valid_order(701, sku="SKU-1"), {**valid_order(702, sku="SKU-GONE"), "orderNumber": "WC-702"}
    for raw, error in ((good, "Tally was closed"), (bad, "items[0].sku: no stock item")):
        sid = str(raw["orderId"])
        cand = Candidate(sid, f"ss-order-{sid}", "h", detail={"order_number": raw["orderNumber"]})
        ledger.claim(FLOW, TARGET, [cand], "run-1")
        ledger.record_failed(FLOW, TARGET, [(sid, error, json.dumps(raw, default=str))])
    staging = StagingStore(tmp_path / "staging.duckdb")
    staging.replace_tally_stock_items(datetime.now(UTC), [{"name": "Widget Blue", "aliases": ["SKU-1"],
                                                             "base_unit": "Nos"}])
    sources = PreviewSources(Settings.from_env({"TALLY_COMPANY": "Acme Traders", "ML_CONNECTOR_HOME": str(tmp_path)}),
                             staging)
    text = "\n".join(describe(plan_replay(flow("shipstation-to-tally"), ledger, failed_filter()), sources))
    sent = text[text.index("- 701"):text.index("- 702")]
    assert "will send:" in sent and "<SVCURRENTCOMPANY>Acme Traders</SVCURRENTCOMPANY>" in sent
    assert 'ACTION="Create"' in sent and "Widget Blue" in sent and "WC-701" in sent  # the SKU resolved as the run does
    held = text[text.index("- 702"):]
    assert "would fail again as stored:" in held and "SKU-GONE" in held  # and the stored order is shown
    ledger.close()

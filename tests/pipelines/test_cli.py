"""The `ml-connector` command line against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from ml_connector.checkup import run_checks
from ml_connector.config import Settings
from pipelines.shipstation_tally.posting import FLOW, TARGET
from state.ledger import Candidate, SyncLedger

CLI = [sys.executable, "-m", "ml_connector.cli"]


def test_check_says_what_works_and_what_does_not(env):
    lines: list[str] = []
    assert run_checks(Settings.from_env(env.vars | env.sandbox.env()), out=lines.append) == 0  # every system
    assert [line.split(":")[0] for line in lines] == ["ok   ShipStation", "ok   ShipStation V2", "ok   TallyPrime",
                                                      "ok   Walmart", "ok   Zoho Books",
                                                      "ok   Acumatica", "ok   State"]
    assert env.sandbox.company in lines[2]

    wrong = Settings.from_env(env.vars | {"SHIPSTATION_API_SECRET": "wrong-secret", "TALLY_COMPANY": "Other Co",
                                          "SHIPSTATION_V2_API_KEY": "wrong-v2-key"})
    lines.clear()
    assert run_checks(wrong, out=lines.append) == 1
    text = "\n".join(lines)
    assert "FAIL ShipStation:" in text and "wrong-secret" not in text
    assert "FAIL ShipStation V2" in text and "SHIPSTATION_V2_API_KEY" in text and "wrong-v2-key" not in text
    assert "FAIL TallyPrime" in text and "'Other Co' is not open" in text


def test_check_explains_a_tally_with_no_company_loaded(env):
    httpx.post(f"{env.sandbox.tally.base_url}/__sandbox/company", json={"loaded": False}, timeout=10)
    lines: list[str] = []
    assert run_checks(env.settings(), out=lines.append) == 1
    assert any("no company is open" in line for line in lines)


def _tally_line(settings: Settings) -> str:
    lines: list[str] = []
    run_checks(settings, out=lines.append)
    return next(line for line in lines if "TallyPrime" in line.split(":")[0])


def test_check_tells_apart_not_running_not_open_needs_login_and_ready(env):
    control = f"{env.sandbox.tally.base_url}/__sandbox"
    password = "check-test-password-5521"
    assert _tally_line(env.settings()).startswith("ok   TallyPrime: ready")

    down = Settings.from_env(env.vars | {"TALLY_URL": "http://127.0.0.1:9"})  # nothing listens on port 9
    assert "TallyPrime is not running or cannot be reached" in _tally_line(down)

    httpx.post(f"{control}/security", json={"username": "clerk", "password": password}, timeout=10).raise_for_status()
    needs = _tally_line(env.settings())
    assert needs.startswith("FAIL") and "needs a login: set TALLY_USERNAME and TALLY_PASSWORD" in needs
    wrong = _tally_line(Settings.from_env(env.vars | {"TALLY_USERNAME": "clerk", "TALLY_PASSWORD": "wrong-pw"}))
    assert "refused the login" in wrong and "wrong-pw" not in wrong
    right = Settings.from_env(env.vars | {"TALLY_USERNAME": "clerk", "TALLY_PASSWORD": password})
    line = _tally_line(right)
    assert line.startswith("ok   TallyPrime: ready") and "with our login" in line and password not in line

    httpx.post(f"{control}/company", json={"loaded": False}, timeout=10).raise_for_status()
    assert "no company is open" in _tally_line(right)


def test_sync_exits_non_zero_while_a_record_fails_and_prints_why(env):
    out = subprocess.run([*CLI, "sync", "shipstation-to-tally"], env=env.vars, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1  # the sandbox merchant has one order with a SKU Tally lacks
    assert "succeeded" in out.stdout
    assert env.sandbox.merchant.special["unknown_sku"] in out.stdout and "has no stock item" in out.stdout


def test_ledger_lists_failures_with_their_reason(env):
    subprocess.run([*CLI, "sync", "shipstation-to-tally"], env=env.vars, capture_output=True, timeout=300)
    out = subprocess.run([*CLI, "ledger", "--state", "failed", "--csv"], env=env.vars, capture_output=True,
                         text=True, timeout=60)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "flow,source_id,order_number,state,target_id,attempts,last_error"
    assert len(lines) == 2 and env.sandbox.merchant.special["unknown_sku"] in lines[1]
    assert "has no stock item" in lines[1]


def test_sync_exits_zero_when_every_record_lands(env, tmp_path):
    unknown = env.sandbox.merchant.unknown_sku
    sku_map = tmp_path / "skus.csv"
    first_item = env.sandbox.merchant.tally["stock_items"][0]["name"]
    sku_map.write_text(f"sku,stock_item\n{unknown},{first_item}\n", encoding="utf-8")
    vars_ = env.vars | {"TALLY_SKU_MAP": str(sku_map)}
    out = subprocess.run([*CLI, "sync", "shipstation-to-tally"], env=vars_, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "failed 0" in out.stdout


def test_sandbox_serves_and_writes_its_ports(tmp_path):
    ports = tmp_path / "ports.json"
    proc = subprocess.Popen([*CLI, "sandbox", "--orders", "20", "--ports-file", str(ports)],
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ports.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        data = json.loads(ports.read_text())
        env = data["env"]
        response = httpx.get(f"{data['shipstation']}/orders", auth=(env["SHIPSTATION_API_KEY"],
                                                                    env["SHIPSTATION_API_SECRET"]), timeout=10)
        assert response.status_code == 200 and response.json()["total"] == 20
        assert "TallyPrime Server is Running" in httpx.get(data["tally"], timeout=10).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_agent_refuses_to_start_without_a_strong_token():
    out = subprocess.run([*CLI, "agent", "--port", "0"], env={"PATH": "", "TALLY_AGENT_TOKEN": "short"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "TALLY_AGENT_TOKEN" in out.stderr


def test_replay_re_drives_a_failed_order_once_its_sku_is_mapped(env, tmp_path):
    assert subprocess.run([*CLI, "sync", "shipstation-to-tally"], env=env.vars, capture_output=True,
                          timeout=300).returncode == 1
    before = len(env.order_vouchers())
    sku_map = tmp_path / "skus.csv"
    first_item = env.sandbox.merchant.tally["stock_items"][0]["name"]
    sku_map.write_text(f"{env.sandbox.merchant.unknown_sku},{first_item}\n", encoding="utf-8")
    out = subprocess.run([*CLI, "replay", "shipstation-to-tally"], env=env.vars | {"TALLY_SKU_MAP": str(sku_map)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Replaying 1 failed order(s)" in out.stdout and "created 1" in out.stdout
    assert len(env.order_vouchers()) == before + 1
    again = subprocess.run([*CLI, "replay", "shipstation-to-tally"], env=env.vars, capture_output=True, text=True,
                           timeout=300)
    assert "Nothing to replay" in again.stdout


def test_replay_of_an_order_shipstation_no_longer_has_records_why(env):
    # A merged-away order answers 404 by id (ShipStation reference §6.7): its failure cannot be replayed.
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    gone = Candidate("987654321", "ss-order-987654321", "", detail={"order_number": "WC-MERGED"})
    ledger.record_failed_unclaimed(FLOW, TARGET, gone, "unknown SKU", '{"orderId": 987654321}')
    out = subprocess.run([*CLI, "replay", "shipstation-to-tally"], env=env.vars, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    entry = ledger.get(FLOW, "987654321", TARGET)
    assert (entry.state, entry.last_error) == ("skipped", "no longer in ShipStation (deleted or merged)")


def test_replay_re_drives_a_flagged_over_shipment_once_the_first_label_is_voided(env):
    out = subprocess.run([*CLI, "sync", "shipments-to-tally"], env=env.vars, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1 and "over-shipment" in out.stdout  # flagged: the sync says so and fails
    first, reprint = env.sandbox.merchant.shipments_of(env.sandbox.merchant.special["over_shipment"])[:2]
    env.sandbox.void(first["shipmentId"])  # the merchant decides the reprint is the label that shipped
    out = subprocess.run([*CLI, "replay", "shipments-to-tally"], env=env.vars, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Replaying 1 failed shipment(s)" in out.stdout
    assert "created 1, cancelled (voided labels) 1" in out.stdout, out.stdout
    notes = {v["number"]: v for v in env.sandbox.vouchers() if v["type"] == "Delivery Note"}
    assert notes[f"SS-{first['shipmentId']}"]["cancelled"] and not notes[f"SS-{reprint['shipmentId']}"]["cancelled"]
    again = subprocess.run([*CLI, "replay", "shipments-to-tally"], env=env.vars, capture_output=True, text=True,
                           timeout=300)
    assert "Nothing to replay" in again.stdout

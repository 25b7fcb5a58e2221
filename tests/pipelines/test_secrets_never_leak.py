"""No secret ever leaves: a sync with every secret set is grepped everywhere it could have leaked.

Stdout/stderr, Python logs, the audit trail (decompressed bodies), the Dagster event log (every
event of the run) and every file of the state directory except the encrypted store are searched for
each secret value, in UTF-8 and UTF-16LE. Two secrets live only in the credential store, so the
run-time store lookup is exercised too. The grep is shown to bite on a value planted in a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
from state.credentials import KEY_ENV, STORE_FILE, CredentialStore, new_key
from state.ledger import SyncLedger

TALLY_USER, TALLY_PASSWORD = "leaktest-tally-user-4471", "leaktest-tally-password-8830"
PLANTED = "leaktest-planted-value-1029"


def _settings_env(env, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secrets = {"TALLY_AGENT_TOKEN": "leaktest-agent-token-5521-abcdefghijkl",
               "WEBHOOK_SECRET": "leaktest-webhook-secret-7712",
               "ALERT_WEBHOOK_URL": "https://hooks.invalid/services/leaktest-alert-path-3391"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(KEY_ENV, new_key())
    store = CredentialStore.open()
    store.set("TALLY_USERNAME", TALLY_USER)
    store.set("TALLY_PASSWORD", TALLY_PASSWORD)
    store.set("SHIPSTATION_API_SECRET", env.vars["SHIPSTATION_API_SECRET"])
    monkeypatch.delenv("SHIPSTATION_API_SECRET")  # only in the store: read at run time
    httpx.post(f"{env.sandbox.tally.base_url}/__sandbox/security",
               json={"username": TALLY_USER, "password": TALLY_PASSWORD}, timeout=10).raise_for_status()
    import os
    return dict(os.environ)


def _leaks(haystacks: dict[str, bytes], values: list[str]) -> list[str]:
    found = []
    for where, data in haystacks.items():
        for value in values:
            if value.encode("utf-8") in data or value.encode("utf-16-le") in data:
                found.append(f"{value[:12]}... in {where}")
    return found


def _state_files(home: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in home.rglob("*") if p.is_file() and p.name != STORE_FILE}


def _event_log(instance, run_id: str) -> bytes:
    return "\n".join(repr(record) for record in instance.all_logs(run_id)).encode("utf-8")


def test_no_secret_is_printed_logged_audited_or_kept(env, monkeypatch, capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    variables = _settings_env(env, monkeypatch)
    settings = Settings.from_env(variables)
    secret_fields = [v for v in settings.__dict__.values() if hasattr(v, "get_secret_value")]
    values = [v.get_secret_value() for v in secret_fields if v.get_secret_value()]
    assert len(values) >= 8 and TALLY_PASSWORD in values and "sandbox-api-secret" in values

    instance = instance_for(env.home)
    summary = run_job(build_definitions(settings), "shipstation_to_tally", instance, log_level="DEBUG")
    assert summary.success, summary.error
    assert env.order_vouchers(), "the sync posted through the protected company"

    ledger = SyncLedger(env.home / "ledger.sqlite3")
    audit = ledger.audit.records(limit=100_000)
    ledger.close()
    marker = "<SVPASSWORD>[redacted]</SVPASSWORD>"
    assert any(marker.encode("utf-16-le") in r.request or marker.encode() in r.request for r in audit)
    out, err = capfd.readouterr()
    haystacks = {"stdout": out.encode(), "stderr": err.encode(), "python logs": caplog.text.encode(),
                 "audit": b"\n".join(r.request + b"\n" + r.response + repr(r).encode() for r in audit),
                 "dagster event log": _event_log(instance, summary.run_id), **_state_files(env.home)}
    assert not _leaks(haystacks, values)


def test_the_grep_finds_a_planted_value(tmp_path: Path) -> None:
    (tmp_path / "planted.txt").write_bytes(f"x{PLANTED}y".encode("utf-16-le"))
    (tmp_path / STORE_FILE).write_text(PLANTED)  # the encrypted store itself is not searched
    assert _leaks(_state_files(tmp_path), [PLANTED]) == [f"{PLANTED[:12]}... in {tmp_path / 'planted.txt'}"]

"""The encrypted credential store: round trip, at-rest encryption, wrong keys, concurrency, env-first lookup."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from ml_connector.config import Settings
from state.credentials import (
    KEY_ENV,
    CredentialError,
    CredentialStore,
    configured_store,
    new_key,
    secret,
    stored_secrets,
)

VALUE = "pa$$-w0rd-ÄÖ-&<>-unique-91827"


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def store(tmp_path: Path, key: str) -> CredentialStore:
    return CredentialStore(tmp_path / "credentials.enc", key)


def test_round_trip_and_names_never_values(store: CredentialStore) -> None:
    store.set("TALLY_PASSWORD", VALUE)
    store.set("SHIPSTATION_API_KEY", "k-123")
    assert store.get("TALLY_PASSWORD") == VALUE
    assert store.names() == ["SHIPSTATION_API_KEY", "TALLY_PASSWORD"]
    assert store.remove("SHIPSTATION_API_KEY") and not store.remove("SHIPSTATION_API_KEY")
    assert store.get("SHIPSTATION_API_KEY") is None and store.names() == ["TALLY_PASSWORD"]
    assert VALUE not in repr(store)


def test_encrypted_at_rest_owner_only_and_no_temp_files_left(store: CredentialStore) -> None:
    store.set("TALLY_PASSWORD", VALUE)
    raw = store.path.read_bytes()
    assert VALUE.encode() not in raw and b"TALLY_PASSWORD" not in raw
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert not list(store.path.parent.glob(".credentials-*"))


def test_a_wrong_key_is_a_clear_error_without_content(store: CredentialStore) -> None:
    store.set("TALLY_PASSWORD", VALUE)
    other = CredentialStore(store.path, new_key())
    with pytest.raises(CredentialError) as caught:
        other.get("TALLY_PASSWORD")
    assert "key" in str(caught.value) and VALUE not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_malformed_key_or_no_key_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match=KEY_ENV):
        CredentialStore(tmp_path / "c.enc", "not-a-key")
    with pytest.raises(CredentialError, match="credentials key"):
        CredentialStore.open({"ML_CONNECTOR_HOME": str(tmp_path)})


def test_names_are_variable_names(store: CredentialStore) -> None:
    with pytest.raises(CredentialError):
        store.set("../etc/passwd", "x")
    with pytest.raises(CredentialError):
        store.set("TALLY_PASSWORD", "")


def test_secret_reads_the_environment_first_then_the_store(tmp_path: Path, key: str) -> None:
    env = {"ML_CONNECTOR_HOME": str(tmp_path), KEY_ENV: key}
    assert configured_store(env) is None and secret("TALLY_PASSWORD", env) == ""
    CredentialStore.open(env).set("TALLY_PASSWORD", VALUE)
    assert secret("TALLY_PASSWORD", env) == VALUE
    assert secret("TALLY_PASSWORD", env | {"TALLY_PASSWORD": "from-env"}) == "from-env"
    assert stored_secrets(["TALLY_PASSWORD", "WEBHOOK_SECRET"], env) == {"TALLY_PASSWORD": VALUE}


def test_settings_fall_back_to_the_store_for_unset_secrets_only(tmp_path: Path, key: str) -> None:
    env = {"ML_CONNECTOR_HOME": str(tmp_path), KEY_ENV: key}
    store = CredentialStore.open(env)
    store.set("TALLY_PASSWORD", VALUE)
    store.set("SHIPSTATION_API_KEY", "stored-key")
    store.set("TALLY_COMPANY", "not a secret: ignored")
    settings = Settings.from_env(env | {"SHIPSTATION_API_KEY": "env-key"})
    assert settings.tally_password.get_secret_value() == VALUE
    assert settings.shipstation_api_key.get_secret_value() == "env-key"
    assert settings.tally_company == ""
    assert VALUE not in repr(settings) and VALUE not in str(settings.redacted())


def test_a_store_file_without_its_key_stops_settings_with_a_clear_error(tmp_path: Path, key: str) -> None:
    CredentialStore(tmp_path / "credentials.enc", key).set("TALLY_PASSWORD", VALUE)
    with pytest.raises(CredentialError, match=KEY_ENV):
        Settings.from_env({"ML_CONNECTOR_HOME": str(tmp_path)})


def _writer(path: str, key: str, worker: int) -> None:
    store = CredentialStore(path, key)
    for i in range(8):
        store.set(f"W{worker}_N{i}", f"value-{worker}-{i}")


def test_concurrent_writers_lose_nothing(tmp_path: Path, key: str) -> None:
    path = str(tmp_path / "credentials.enc")
    ctx = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    procs = [ctx.Process(target=_writer, args=(path, key, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(CredentialStore(path, key).names()) == 32


def test_cli_sets_from_stdin_lists_masked_and_removes(tmp_path: Path, key: str) -> None:
    import subprocess
    import sys

    env = os.environ | {"ML_CONNECTOR_HOME": str(tmp_path), KEY_ENV: key}
    cli = [sys.executable, "-m", "ml_connector.cli", "credentials"]
    done = subprocess.run([*cli, "set", "TALLY_PASSWORD"], input=VALUE + "\n", env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "TALLY_PASSWORD" in listed.stdout and VALUE not in listed.stdout + listed.stderr + done.stdout
    assert CredentialStore(tmp_path / "credentials.enc", key).get("TALLY_PASSWORD") == VALUE
    assert subprocess.run([*cli, "remove", "TALLY_PASSWORD"], env=env, timeout=60).returncode == 0
    printed = subprocess.run([*cli, "key"], env=env, capture_output=True, text=True, timeout=60).stdout.strip()
    CredentialStore(tmp_path / "other.enc", printed)  # a usable key

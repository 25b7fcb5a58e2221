"""TALLY_TIMEOUT_SECONDS reaches the Tally resource's client; a timeout of zero or less is refused by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.tally.settings import TallySettings
from ml_connector.config import Settings
from pipelines.definitions import build_resources


def test_the_configured_timeout_is_the_one_the_tally_resource_uses(monkeypatch, tmp_path):
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    monkeypatch.setenv("TALLY_TIMEOUT_SECONDS", "420")
    settings = Settings.from_env()
    assert settings.tally_timeout_seconds == 420
    assert build_resources(settings)["tally"].timeout_seconds == 420


def test_the_default_outlasts_the_agents_own_bound():
    from connectors.tally.settings import AGENT_REQUEST_TIMEOUT_SECONDS

    assert TallySettings().tally_timeout_seconds > AGENT_REQUEST_TIMEOUT_SECONDS


@pytest.mark.parametrize("value", [0, -5])
def test_a_timeout_that_is_not_positive_is_refused_by_name(value):
    with pytest.raises(ValidationError, match="TALLY_TIMEOUT_SECONDS must be above 0"):
        TallySettings(tally_timeout_seconds=value)

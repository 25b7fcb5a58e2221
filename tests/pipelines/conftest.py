"""Fixtures: a fresh sandbox per test, and ml-connector configured to use it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_connector.config import Settings
from ml_connector.runner import RunSummary, instance_for, run_job
from pipelines.definitions import build_definitions
from pipelines.sides.tally.markers import MARKER_RE
from sandbox.stack import Sandbox, start_sandbox

JOB = "shipstation_to_tally"
N_ORDERS = 60


@dataclass
class Env:
    sandbox: Sandbox
    vars: dict[str, str]
    home: Path

    def settings(self) -> Settings:
        return Settings.from_env(self.vars)

    def run(self, run_config: dict | None = None) -> RunSummary:
        defs = build_definitions(self.settings())
        return run_job(defs, JOB, instance_for(self.home), run_config)

    def order_vouchers(self) -> list[dict]:
        return [v for v in self.sandbox.vouchers() if v["type"] == "Sales Order"]

    def vouchers_per_order(self) -> Counter[str]:
        """How many active order vouchers carry each order's marker."""
        return Counter(key for v in self.order_vouchers() if not v["cancelled"]
                       for key in MARKER_RE.findall(v.get("narration") or ""))


OTHER_SYSTEMS = ("WALMART_", "ZOHO_", "ACUMATICA_")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed=11, orders=N_ORDERS, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    home = tmp_path / "state"
    # The ShipStation <-> TallyPrime pair alone: the other pairs' systems stay unconfigured, so they add nothing.
    values = {k: v for k, v in sandbox.env().items() if not k.startswith(OTHER_SYSTEMS)} | {
        "ML_CONNECTOR_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TALLY_AGENT_TOKEN", raising=False)
    return Env(sandbox, dict(os.environ), home)


def expected_orders(sandbox: Sandbox) -> dict[str, dict]:
    """Orders that should end up with an active voucher: not cancelled, every SKU known to Tally."""
    unknown = sandbox.merchant.special["unknown_sku"]
    return {f"ss-order-{o['orderId']}": o for o in sandbox.merchant.orders
            if o["orderStatus"] != "cancelled" and o["orderNumber"] != unknown}

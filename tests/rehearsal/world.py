"""Several merchants, each with its own sandbox (ShipStation account + Tally company), as merchant files.

Shared by the multi-merchant test, the distributed rehearsal and `bench/scale.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.sides.tally.markers import MARKER_RE
from sandbox.merchant import generate_merchant
from sandbox.stack import Sandbox, start_sandbox

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class MerchantWorld:
    name: str
    sandbox: Sandbox

    @property
    def company(self) -> str:
        return self.sandbox.company

    def merchant_file(self, folder: Path, *, tally_url: str | None = None, shipstation_url: str | None = None) -> Path:
        """`<folder>/<name>.yaml` pointing at this merchant's sandbox; its API key pair by env reference."""
        env = self.sandbox.env()
        prefix = self.name.upper()
        doc = {
            "systems": {"shipstation": {"base_url": shipstation_url or env["SHIPSTATION_BASE_URL"],
                                        "sync_start": env["SHIPSTATION_SYNC_START"]},
                        "tally": {"url": tally_url or env["TALLY_URL"], "company": env["TALLY_COMPANY"]}},
            "credentials": {"SHIPSTATION_API_KEY": {"env": f"{prefix}_SHIPSTATION_API_KEY"},
                            "SHIPSTATION_API_SECRET": {"env": f"{prefix}_SHIPSTATION_API_SECRET"}},
        }
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return path

    def secrets(self) -> dict[str, str]:
        env = self.sandbox.env()
        return {f"{self.name.upper()}_SHIPSTATION_API_KEY": env["SHIPSTATION_API_KEY"],
                f"{self.name.upper()}_SHIPSTATION_API_SECRET": env["SHIPSTATION_API_SECRET"]}

    def expected(self) -> set[str]:
        """Order markers that must end as exactly one active Tally voucher each."""
        unknown = self.sandbox.merchant.special["unknown_sku"]
        return {f"ss-order-{o['orderId']}" for o in self.sandbox.merchant.orders
                if o["orderStatus"] != "cancelled" and o["orderNumber"] != unknown}

    def vouchers_per_order(self) -> Counter[str]:
        vouchers = [v for v in self.sandbox.vouchers() if v["type"] == "Sales Order" and not v["cancelled"]]
        return Counter(key for v in vouchers for key in MARKER_RE.findall(v.get("narration") or ""))


def start_world(name: str, *, seed: int, orders: int, company: str | None = None,
                rate_limit: int = 0) -> MerchantWorld:
    """A sandboxed merchant whose Tally company is `company` (default: the name, title-cased)."""
    merchant = generate_merchant(seed=seed, n_orders=orders)
    merchant.tally["company"] = company or f"{name.title()} Traders"
    return MerchantWorld(name, start_sandbox(seed=seed, merchant=merchant, rate_limit=rate_limit,
                                             webhook_drop_rate=0.0))


def dagster_home(path: Path, yaml_text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text(yaml_text, encoding="utf-8")
    return path


SQLITE_INSTANCE = """\
concurrency:
  pools: {default_limit: 1, granularity: op}
telemetry: {enabled: false}
"""

RUN_ONE = """
import json, sys
import dagster as dg
from merchants import locations
from merchants.pools import ensure_pool_limits, tally_pool
import os
defs = getattr(locations, sys.argv[1])
instance = dg.DagsterInstance.get()
ensure_pool_limits(instance, [tally_pool(os.environ["TALLY_COMPANY"])])
from ml_connector.runner import run_job
summary = run_job(defs, sys.argv[2], instance)
print(json.dumps({"success": summary.success, "run_id": summary.run_id, "error": summary.error,
                  "created": summary.metric("tally/order_vouchers", "created")}))
"""


def parse_last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])

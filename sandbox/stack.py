"""The embedded sandbox: a ShipStation V1 and a TallyPrime simulator seeded from one merchant.

Used by `ml-connector demo` / `ml-connector sandbox` and by the tests. Imports nothing from our own
connectors or flows; it talks to the simulators only through their HTTP APIs and control planes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app as shipstation_app
from sandbox.shipstation.state import ShipStationState
from sandbox.tally.app import create_app as tally_app
from sandbox.tally.state import TallyState

API_KEY = "sandbox-api-key"
API_SECRET = "sandbox-api-secret"


@dataclass
class Sandbox:
    merchant: Merchant
    shipstation: ServedApp
    tally: ServedApp
    shipstation_state: ShipStationState
    tally_state: TallyState

    @property
    def company(self) -> str:
        return self.merchant.tally["company"]

    def env(self) -> dict[str, str]:
        """Environment variables that point ml-connector at this sandbox."""
        earliest = min(order["modifyDate"] for order in self.merchant.orders)
        return {
            "SHIPSTATION_BASE_URL": self.shipstation.base_url,
            "SHIPSTATION_API_KEY": API_KEY,
            "SHIPSTATION_API_SECRET": API_SECRET,
            "SHIPSTATION_SYNC_START": (earliest - timedelta(days=1)).isoformat(),
            "TALLY_URL": self.tally.base_url,
            "TALLY_COMPANY": self.company,
        }

    def advance(self) -> dict[str, Any]:
        """Apply the merchant's next batch of edits and cancellations in ShipStation."""
        body = httpx.post(f"{self.shipstation.base_url}/__sandbox/advance", timeout=30).json()
        applied = body.get("applied", [])
        cancelled = sum(1 for change in applied if change.get("kind") == "cancel")
        return {"edited": len(applied) - cancelled, "cancelled": cancelled, "applied": applied}

    def vouchers(self) -> list[dict[str, Any]]:
        """Every voucher the TallyPrime simulator holds (cancelled ones included)."""
        return httpx.get(f"{self.tally.base_url}/__sandbox/vouchers", timeout=60).json()

    def stop(self) -> None:
        self.shipstation.stop()
        self.tally.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(*, seed: int = 7, orders: int = 200, rate_limit: int = 40, window_seconds: float = 60.0,
                  import_delay: float = 0.0, merchant: Merchant | None = None) -> Sandbox:
    """Generate a merchant and serve both simulators on free loopback ports."""
    merchant = merchant or generate_merchant(seed=seed, n_orders=orders)
    ss_state = ShipStationState.from_merchant(merchant)
    tally_state = TallyState.from_masters(merchant.tally)
    shipstation = serve(shipstation_app(ss_state, credentials={API_KEY: API_SECRET}, rate_limit=rate_limit,
                                        window_seconds=window_seconds))
    tally = serve(tally_app(tally_state, import_delay=import_delay))
    return Sandbox(merchant, shipstation, tally, ss_state, tally_state)

"""The embedded sandbox: ShipStation V1 and V2, TallyPrime, Walmart Marketplace, Zoho Books and Acumatica
simulators, seeded from one merchant.

ShipStation V2 serves the V1 account's orders and labels as its shipments, labels and tracking
(`link_account`), and its inventory; Walmart lists the merchant's catalogue (sandbox/merchant_walmart.py).

ShipStation holds the merchant's orders and labels; `ship`, `void`, `import_orders` and `advance`
change them as a merchant would, and fire the V1 webhooks a subscriber asked for.

Used by `ml-connector demo` / `ml-connector sandbox` and by the tests. Imports nothing from our own
connectors or flows; it talks to the simulators only through their HTTP APIs and control planes.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from sandbox.acumatica import AcumaticaState, Licence
from sandbox.merchant import WALMART_PRICE_LEVEL, Merchant, generate_merchant
from sandbox.merchant_acumatica import acumatica_env, start_acumatica
from sandbox.merchant_walmart import start_walmart, walmart_env
from sandbox.merchant_zoho import CLIENT_ID as ZOHO_CLIENT_ID
from sandbox.merchant_zoho import CLIENT_SECRET as ZOHO_CLIENT_SECRET
from sandbox.merchant_zoho import ORGANIZATION_ID as ZOHO_ORGANIZATION_ID
from sandbox.merchant_zoho import REFRESH_TOKEN as ZOHO_REFRESH_TOKEN
from sandbox.merchant_zoho import start_zoho
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app as shipstation_app
from sandbox.shipstation.state import ShipStationState
from sandbox.shipstation_v2.app import create_app as shipstation_v2_app
from sandbox.shipstation_v2.state import ShipStationV2State
from sandbox.tally.app import create_app as tally_app
from sandbox.tally.cost import CostModel
from sandbox.tally.state import TallyState
from sandbox.walmart import WalmartState
from sandbox.zoho_books import ZohoState

API_KEY = "sandbox-api-key"
API_SECRET = "sandbox-api-secret"
V2_API_KEY = "sandbox-v2-api-key"
# What TallyPrime's exports and imports cost (sandbox/tally/cost.py), e.g.
# SANDBOX_TALLY_COST='per_voucher_walked_ms=0.05,walk=company,per_object_imported_ms=0.2' (or the same as JSON).
TALLY_COST_ENV = "SANDBOX_TALLY_COST"


@dataclass
class Sandbox:
    merchant: Merchant
    shipstation: ServedApp
    tally: ServedApp
    shipstation_state: ShipStationState
    tally_state: TallyState
    shipstation_v2: ServedApp | None = None
    shipstation_v2_state: ShipStationV2State | None = field(default=None, repr=False)
    walmart: ServedApp | None = None
    walmart_state: WalmartState | None = field(default=None, repr=False)
    zoho_accounts: ServedApp | None = None  # the organisation's data centre's accounts server (US)
    zoho_books: ServedApp | None = None
    zoho_state: ZohoState | None = field(default=None, repr=False)
    acumatica: ServedApp | None = None
    acumatica_state: AcumaticaState | None = field(default=None, repr=False)

    @property
    def company(self) -> str:
        return self.merchant.tally["company"]

    def env(self) -> dict[str, str]:
        """Environment variables that point ml-connector at this sandbox."""
        earliest = min(order["modifyDate"] for order in self.merchant.orders)
        # The seeded accounts' own settings: Walmart's orders fall in the 16 days before the merchant's
        # start and its prices live in Tally's "Walmart US" price level; Acumatica keeps INR books.
        pairs = {"WALMART_SYNC_START": (self.merchant.start - timedelta(days=17)).isoformat(),
                 "TALLY_WALMART_PRICE_LEVEL": WALMART_PRICE_LEVEL, "ZOHO_TIMEZONE": "Asia/Kolkata",
                 "ACUMATICA_SYNC_START": (earliest - timedelta(days=1)).isoformat(),
                 "ACUMATICA_BASE_CURRENCY": "INR", "SHIPSTATION_POSTAGE_CURRENCY": "INR"}
        return pairs | {
            "SHIPSTATION_BASE_URL": self.shipstation.base_url,
            "SHIPSTATION_API_KEY": API_KEY,
            "SHIPSTATION_API_SECRET": API_SECRET,
            "SHIPSTATION_SYNC_START": (earliest - timedelta(days=1)).isoformat(),
            "TALLY_URL": self.tally.base_url,
            "TALLY_COMPANY": self.company,
        } | ({"SHIPSTATION_V2_BASE_URL": self.shipstation_v2.base_url, "SHIPSTATION_V2_API_KEY": V2_API_KEY,
              "WEBHOOK_JWKS_URL": f"{self.shipstation_v2.base_url}/jwks"} if self.shipstation_v2 else {}) | (
            walmart_env(self.walmart) if self.walmart else {}) | (
            {"ZOHO_DATA_CENTRE": "us", "ZOHO_ACCOUNTS_URL": self.zoho_accounts.base_url,
             "ZOHO_CLIENT_ID": ZOHO_CLIENT_ID, "ZOHO_CLIENT_SECRET": ZOHO_CLIENT_SECRET,
             "ZOHO_REFRESH_TOKEN": ZOHO_REFRESH_TOKEN, "ZOHO_ORGANIZATION_ID": ZOHO_ORGANIZATION_ID}
            if self.zoho_accounts else {}) | (acumatica_env(self.acumatica) if self.acumatica else {})

    def advance(self) -> dict[str, Any]:
        """Apply the merchant's next batch of later changes in ShipStation; counts per kind and the changes.

        Batch 1 holds only edits and cancellations; later batches also buy (`shipped`) and void labels.
        """
        body = self._control("POST", "/advance")
        applied = body.get("applied", [])
        kinds = Counter(change.get("kind") for change in applied)
        return {"edited": kinds["edit_line"], "cancelled": kinds["cancel"], "shipped": kinds["ship"],
                "voided": kinds["void"], "applied": applied}

    def ship(self, order_id: int, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Buy a label for `items` (`[{"lineItemKey", "quantity"}]`; None = the whole order): the Shipment JSON."""
        return self._control("POST", "/ship", {"orderId": order_id, "items": items})

    def void(self, shipment_id: int) -> dict[str, Any]:
        """Void a label through the real `POST /shipments/voidlabel`: `{"approved", "message"}`."""
        answer = httpx.post(f"{self.shipstation.base_url}/shipments/voidlabel", json={"shipmentId": shipment_id},
                            auth=(API_KEY, API_SECRET), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def import_orders(self, count: int) -> dict[str, Any]:
        """A store import of `count` new orders (fires ORDER_NOTIFY): `{"orderIds", "orderNumbers"}`."""
        return self._control("POST", "/import-orders", {"count": count})

    def shipments(self) -> list[dict[str, Any]]:
        """Every label ShipStation holds (voided ones and items included), oldest first."""
        return self._control("GET", "/shipments")

    def webhook_log(self) -> list[dict[str, Any]]:
        """Every webhook delivery scheduled so far, with its outcome."""
        return self._control("GET", "/webhooks/log")

    def flush_webhooks(self) -> list[dict[str, Any]]:
        """Deliver every pending webhook now (drops still drop); the log afterwards."""
        return self._control("POST", "/webhooks/flush")

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.shipstation.base_url}/__sandbox{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def vouchers(self) -> list[dict[str, Any]]:
        """Every voucher the TallyPrime simulator holds (cancelled ones included)."""
        return httpx.get(f"{self.tally.base_url}/__sandbox/vouchers", timeout=60).json()

    def scan(self, label_id: str | None = None, *, tracking_number: str | None = None,
             status_code: str | None = None) -> Any:
        """The carrier scans a label (V2 tracking moves on, e.g. to AC accepted), firing the tracking webhook."""
        body = {k: v for k, v in {"label_id": label_id, "tracking_number": tracking_number,
                                  "status_code": status_code}.items() if v is not None}
        return self._v2_control("POST", "/tracking/advance", body)

    def flush_v2_webhooks(self) -> Any:
        return self._v2_control("POST", "/webhooks/flush")

    def _v2_control(self, method: str, path: str, body: Any = None) -> Any:
        assert self.shipstation_v2 is not None
        answer = httpx.request(method, f"{self.shipstation_v2.base_url}/__sandbox{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        for app in (self.shipstation, self.tally, self.shipstation_v2, self.walmart, self.zoho_accounts,
                    self.zoho_books, self.acumatica):
            if app is not None:
                app.stop()
        if self.zoho_state is not None:
            self.zoho_state.webhooks.close()

    def zoho(self, method: str, path: str, body: Any = None) -> Any:
        """The Zoho Books simulator's control plane, e.g. ("POST", "/invoices/<id>/paid")."""
        assert self.zoho_books is not None
        answer = httpx.request(method, f"{self.zoho_books.base_url}/__sandbox{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(*, seed: int = 7, orders: int = 200, rate_limit: int = 40, window_seconds: float = 60.0,
                  import_delay: float = 0.0, merchant: Merchant | None = None,
                  webhook_delay: tuple[float, float] = (1.0, 4.0), webhook_drop_rate: float = 0.1,
                  webhook_seed: int | None = None, tally_cost: CostModel | None = None,
                  zoho_per_minute: int = 100, acumatica_licence: Licence | None = None) -> Sandbox:
    """Generate a merchant and serve both simulators on free loopback ports.

    `tally_cost` prices Tally's exports and imports; without it, ``$SANDBOX_TALLY_COST`` (off if unset).
    `zoho_per_minute` is Zoho Books' per-organisation limit (its real 100; 0 = off, for benches and the demo);
    `acumatica_licence` the Acumatica licence's limits (default: 3 API users, 100 requests a minute).

    ShipStation webhooks arrive `webhook_delay` seconds late and are lost with `webhook_drop_rate`
    (their RNG seeded with `webhook_seed`, default `seed`).
    """
    merchant = merchant or generate_merchant(seed=seed, n_orders=orders)
    ss_state = ShipStationState.from_merchant(merchant)
    tally_state = TallyState.from_masters(merchant.tally)
    ss_app = shipstation_app(ss_state, credentials={API_KEY: API_SECRET}, rate_limit=rate_limit,
                             window_seconds=window_seconds, webhook_delay=webhook_delay,
                             webhook_drop_rate=webhook_drop_rate,
                             webhook_seed=seed if webhook_seed is None else webhook_seed)
    shipstation = serve(ss_app)
    ss_app.state.webhooks.base_url = shipstation.base_url
    if tally_cost is None:
        tally_cost = CostModel.parse(os.environ.get(TALLY_COST_ENV, ""))
    tally = serve(tally_app(tally_state, import_delay=import_delay, cost=tally_cost))
    v2_state = ShipStationV2State.seeded(v2_inventory(merchant, seed))
    v2_state.link_account(ss_state)  # V2 serves V1's orders and labels as shipments, labels and tracking
    v2_app = shipstation_v2_app(v2_state, api_keys={V2_API_KEY}, rate_limit=200 if rate_limit else 0,
                                webhook_delay=webhook_delay, webhook_drop_rate=webhook_drop_rate,
                                webhook_seed=seed if webhook_seed is None else webhook_seed)
    v2 = serve(v2_app)
    v2_app.state.webhooks.base_url = v2.base_url
    walmart, walmart_state = start_walmart(merchant, seed, rate_limits=bool(rate_limit))
    zoho_accounts, zoho_books, zoho_state = start_zoho(merchant, "us", seed=seed, per_minute=zoho_per_minute)
    acumatica, acumatica_state = start_acumatica(merchant, seed=seed, licence=acumatica_licence)
    return Sandbox(merchant, shipstation, tally, ss_state, tally_state, v2, v2_state, walmart, walmart_state,
                   zoho_accounts["us"], zoho_books, zoho_state, acumatica, acumatica_state)


def v2_inventory(merchant: Merchant, seed: int) -> dict[str, int]:
    """ShipStation's counts when the merchant turns inventory on: mostly Tally's opening stock, some
    counted differently, some SKUs never entered."""
    rng = random.Random(seed * 31 + 5)
    opening = {sku: int(item["opening_qty"]) for item in merchant.tally["stock_items"]
               for sku in [item["name"], *item["aliases"]]}
    stock = {}
    for product in merchant.products:
        sku, roll = product["sku"], rng.random()
        if sku not in opening or roll < 0.1:
            continue
        stock[sku] = opening[sku] if roll < 0.75 else max(0, opening[sku] + rng.randint(-15, 15))
    return stock

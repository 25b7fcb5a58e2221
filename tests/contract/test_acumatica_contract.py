"""Contract: a client written by someone else against the real Acumatica API works against the simulator.

`ThirdPartyClient` is not ours: it makes the calls the way Acumatica's documentation and its public
clients make them — Acumatica's C# client (`AuthApi.LoginAsync`, `InvokeActionAsync` reading
`Location`, `WaitActionCompletionAsync` polling until 204, the "API Login Limit" check,
`ReceiveAccessTokenAsync` with a form body) and Easy-Acumatica (endpoint discovery on `GET /entity`,
`swagger.json?company=<tenant>`, value objects built from plain fields, retry on 429). It imports
nothing of ours; the simulator is served over real HTTP from the seeded merchant's tenant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from sandbox.acumatica import AcumaticaState, Licence, create_app
from sandbox.merchant import generate_merchant
from sandbox.merchant_acumatica import (
    ACUMATICA_BRANCH,
    ACUMATICA_CLIENT_ID,
    ACUMATICA_CLIENT_SECRET,
    ACUMATICA_PASSWORD,
    ACUMATICA_TENANT,
    ACUMATICA_USERNAME,
    acumatica_env,
    acumatica_state,
    start_acumatica,
)
from sandbox.runner import ServedApp


class AcumaticaApiError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text}")
        self.status, self.text = status, text


class ThirdPartyClient:
    """A plain httpx client for the contract-based REST API, as the public clients write it."""

    def __init__(self, instance_url: str, version: str | None = None, endpoint: str = "Default",
                 retries: int = 3, backoff: float = 0.3) -> None:
        self.http = httpx.Client(base_url=instance_url.rstrip("/"), timeout=30,
                                 headers={"Accept": "application/json"})
        self.endpoint, self.version = endpoint, version
        self.retries, self.backoff = retries, backoff

    # -- transport (Easy-Acumatica retries 429/5xx with backoff) --
    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            response = self.http.request(method, path, **kwargs)
            if response.status_code not in (429, 502, 503, 504) or attempt == self.retries:
                break
            time.sleep(self.backoff * (2 ** attempt))
        if response.status_code >= 400:
            raise AcumaticaApiError(response.status_code, response.text)
        return response

    # -- AuthApi --
    def login(self, name: str, password: str, tenant: str, branch: str | None = None, form: bool = False) -> None:
        credentials = {"name": name, "password": password, "tenant": tenant} | ({"branch": branch} if branch else {})
        response = self.http.post("/entity/auth/login", **({"data": credentials} if form else {"json": credentials}))
        if response.status_code != 204:
            if "API Login Limit" in response.text:
                raise AcumaticaApiError(429, "API login limit exceeded. Please try again later.")
            raise AcumaticaApiError(response.status_code, response.text)

    def receive_access_token(self, client_id: str, secret: str, name: str, password: str) -> None:
        token = self.call("POST", "/identity/connect/token", data={
            "grant_type": "password", "client_id": client_id, "client_secret": secret, "username": name,
            "password": password, "scope": "api offline_access"}).json()
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"

    def logout(self) -> None:
        self.call("POST", "/entity/auth/logout")

    # -- RootApi / discovery --
    def endpoints(self) -> list[dict[str, str]]:
        return self.call("GET", "/entity").json()["endpoints"]

    def use_version(self) -> str:
        offered = [e["version"] for e in self.endpoints() if e["name"] == self.endpoint]
        if self.version is None:
            self.version = max(offered)
        elif self.version not in offered:
            raise LookupError(f"endpoint {self.endpoint}/{self.version} not offered; the instance has {offered}")
        return self.version

    @property
    def base(self) -> str:
        return f"/entity/{self.endpoint}/{self.version}"

    def schema(self, tenant: str) -> dict[str, Any]:
        return self.call("GET", f"{self.base}/swagger.json", params={"company": tenant}).json()

    # -- entities --
    @staticmethod
    def wrap(fields: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if isinstance(value, list):
                out[name] = [ThirdPartyClient.wrap(row) for row in value]
            elif isinstance(value, dict):
                out[name] = ThirdPartyClient.wrap(value)
            else:
                out[name] = {"value": value}
        return out

    def get_list(self, entity: str, **odata: Any) -> list[dict[str, Any]]:
        params = {f"${k}": v for k, v in odata.items() if v is not None}
        return self.call("GET", f"{self.base}/{entity}", params=params).json()

    def get_by_keys(self, entity: str, *keys: str, expand: str | None = None) -> dict[str, Any]:
        params = {"$expand": expand} if expand else {}
        return self.call("GET", f"{self.base}/{entity}/{'/'.join(keys)}", params=params).json()

    def put(self, entity: str, fields: dict[str, Any], expand: str | None = None) -> dict[str, Any]:
        params = {"$expand": expand} if expand else {}
        return self.call("PUT", f"{self.base}/{entity}", json=self.wrap(fields), params=params).json()

    def invoke_action(self, entity: str, action: str, keys: dict[str, Any],
                      parameters: dict[str, Any] | None = None) -> str:
        body = {"entity": self.wrap(keys), "parameters": self.wrap(parameters or {})}
        return self.call("POST", f"{self.base}/{entity}/{action}", json=body).headers["Location"]

    def wait_action_completion(self, location: str, interval: float = 0.05) -> None:
        site = self.http.base_url.path.rstrip("/")
        path = location[len(site):] if site and location.startswith(site) else location
        while True:
            status = self.call("GET", path).status_code
            if status == 204:
                return
            if status != 202:
                raise RuntimeError(f"unexpected status {status}")
            time.sleep(interval)


def value(record: dict[str, Any], name: str) -> Any:
    return record[name].get("value")


MERCHANT = generate_merchant(seed=5, n_orders=60)


@pytest.fixture
def served() -> Iterator[tuple[ServedApp, AcumaticaState]]:
    served, state = start_acumatica(MERCHANT, n_orders=40, licence=Licence(action_polls=2))
    yield served, state
    served.stop()


def client_for(served: ServedApp, version: str | None = "23.200.001") -> ThirdPartyClient:
    return ThirdPartyClient(acumatica_env(served)["ACUMATICA_URL"], version=version)


def test_a_sync_run_reads_orders_ships_one_with_tracking_and_logs_out(
        served: tuple[ServedApp, AcumaticaState]) -> None:
    app, state = served
    client = client_for(app)
    client.login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT, ACUMATICA_BRANCH)
    try:
        assert client.use_version() == "23.200.001"
        schema = client.schema(ACUMATICA_TENANT)
        assert {"/SalesOrder", "/Shipment", "/Shipment/ConfirmShipment"} <= set(schema["paths"])
        since = datetime(2026, 3, 1).astimezone().isoformat()
        orders = client.get_list("SalesOrder", filter=f"Status eq 'Open' and LastModified gt datetimeoffset'{since}'",
                                 expand="Details,Payments,ShipToAddress", top=100)
        ready = [o for o in orders if o["Payments"] and value(o["Payments"][0], "Status") == "Open"]
        assert ready and all(value(o, "Status") == "Open" for o in orders)
        order = ready[0]
        shipment = client.put("Shipment", {
            "CustomerID": value(order, "CustomerID"), "WarehouseID": "MAIN",
            "Details": [{"OrderType": "SO", "OrderNbr": value(order, "OrderNbr"),
                         "OrderLineNbr": value(line, "LineNbr")} for line in order["Details"]]})
        number = value(shipment, "ShipmentNbr")
        client.put("Shipment", {"ShipmentNbr": number, "Packages": [
            {"BoxID": "LARGE", "TrackingNbr": "1Z999AA10123456784", "Weight": 1.25}]})
        client.wait_action_completion(client.invoke_action("Shipment", "ConfirmShipment", {"ShipmentNbr": number}))
        confirmed = client.get_by_keys("Shipment", number, expand="Packages,Orders")
        assert value(confirmed, "Status") == "Confirmed"
        assert value(confirmed["Packages"][0], "TrackingNbr") == "1Z999AA10123456784"
        assert [value(o, "OrderNbr") for o in confirmed["Orders"]] == [value(order, "OrderNbr")]
        assert value(client.get_by_keys("SalesOrder", "SO", value(order, "OrderNbr")), "Status") == "Completed"
    finally:
        client.logout()
    assert state.sessions.counters.logouts == 1 and not state.sessions.sessions


def test_a_version_the_instance_lacks_is_a_404_and_discovery_names_the_versions(
        served: tuple[ServedApp, AcumaticaState]) -> None:
    app, _ = served
    client = client_for(app, version="25.200.001")
    client.login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT, form=True)
    try:
        with pytest.raises(AcumaticaApiError) as missing:
            client.get_list("SalesOrder", top=1)
        assert missing.value.status == 404
        with pytest.raises(LookupError, match=r"\['22.200.001', '23.200.001', '24.200.001'\]"):
            client.use_version()
    finally:
        client.logout()


def test_leaked_sessions_lock_the_integration_out() -> None:
    state, _ = acumatica_state(MERCHANT, n_orders=5, licence=Licence(max_api_users=2))
    with ServedApp(create_app(state)) as app:
        leaked = [client_for(app) for _ in range(2)]
        for client in leaked:
            client.login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT)
        with pytest.raises(AcumaticaApiError, match="API login limit exceeded"):
            client_for(app).login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT)
        leaked[0].logout()
        client_for(app).login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT)


def test_a_client_that_backs_off_on_429_gets_through() -> None:
    licence = Licence(requests_per_minute=4, window_seconds=1.0, queue_limit=0)
    state, _ = acumatica_state(MERCHANT, n_orders=5, licence=licence)
    with ServedApp(create_app(state)) as app:
        client = client_for(app)
        client.login(ACUMATICA_USERNAME, ACUMATICA_PASSWORD, ACUMATICA_TENANT)
        items = [client.get_list("StockItem", top=1, select="InventoryID") for _ in range(2)]
        assert all(len(page) == 1 for page in items)
        client.logout()
    assert client.backoff and state.stats.by_status[429] >= 1  # it was refused and retried


def test_an_oauth_client_reads_with_a_bearer_token(served: tuple[ServedApp, AcumaticaState]) -> None:
    app, state = served
    client = client_for(app, version=None)
    client.receive_access_token(ACUMATICA_CLIENT_ID, ACUMATICA_CLIENT_SECRET, ACUMATICA_USERNAME, ACUMATICA_PASSWORD)
    assert client.use_version() == "24.200.001"
    customers = client.get_list("Customer", top=3, expand="MainContact")
    assert len(customers) == 3 and all(value(c, "CustomerID").startswith("C") for c in customers)
    assert customers[0]["MainContact"]["Email"]["value"]
    assert state.sessions.counters.logins == 1  # the grant opened one API session

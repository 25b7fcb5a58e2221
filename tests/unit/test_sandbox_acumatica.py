"""The Acumatica simulator over real HTTP on loopback (no client code of ours)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from sandbox.acumatica import AcumaticaState, Licence, create_app
from sandbox.acumatica.sessions import ConnectedApp
from sandbox.runner import ServedApp

SITE = "/Acu"
V23 = "/entity/Default/23.200.001"
START = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
CREDENTIALS = {"name": "api-user", "password": "s3cret", "tenant": "Retail", "branch": "HQ"}
CLIENT_ID = "0A1B2C3D-0000-0000-0000-000000000001@Retail"


def tenant(**licence: Any) -> AcumaticaState:
    """Two customers, three items (one weighing nothing), one open order SO000001 with two lines."""
    state = AcumaticaState(tenant="Retail", branches=("HQ", "WEST"), users={"api-user": "s3cret", "other": "pw"},
                           base_currency="INR", timezone="Asia/Kolkata", licence=Licence(**licence), start=START,
                           site=SITE)
    state.sessions.apps[CLIENT_ID] = ConnectedApp(CLIENT_ID, "app-secret")
    state.seed("Customer", [{"CustomerID": "C000001", "CustomerName": "Ram & Shyam Traders"},
                            {"CustomerID": "C000002", "CustomerName": "José Muñoz"}])
    state.seed("StockItem", [
        {"InventoryID": "TEA-GRN-250", "Description": "Green Tea 250g", "DefaultPrice": Decimal("149.00"),
         "DimensionWeight": Decimal("0.25"), "SalesUOM": "EA", "DefaultWarehouseID": "MAIN"},
        {"InventoryID": "MUG-01", "Description": "Mug", "DefaultPrice": Decimal("299.50"),
         "DimensionWeight": Decimal("0.4"), "SalesUOM": "EA", "DefaultWarehouseID": "MAIN"},
        {"InventoryID": "GIFT-CARD", "Description": "Gift card", "DefaultPrice": Decimal("500"),
         "DimensionWeight": Decimal("0"), "SalesUOM": "EA", "DefaultWarehouseID": "MAIN"}])
    state.seed("SalesOrder", [{
        "OrderType": "SO", "OrderNbr": "SO000001", "CustomerID": "C000001", "Status": "Open",
        "LastModified": datetime(2026, 4, 1, 8, 0, tzinfo=UTC),
        "Details": [{"InventoryID": "TEA-GRN-250", "OrderQty": Decimal(2)},
                    {"InventoryID": "MUG-01", "OrderQty": Decimal(1)}]}])
    return state


@contextmanager
def running(state: AcumaticaState | None = None, **licence: Any) -> Iterator[tuple[httpx.Client, AcumaticaState]]:
    state = state or tenant(**licence)
    with ServedApp(create_app(state)) as served, httpx.Client(base_url=served.base_url + SITE, timeout=20) as client:
        yield client, state


def login(client: httpx.Client, **overrides: Any) -> httpx.Response:
    return client.post("/entity/auth/login", json=CREDENTIALS | overrides)


def fresh(client: httpx.Client) -> httpx.Client:
    """Another client on the same instance with an empty cookie jar (another integration)."""
    return httpx.Client(base_url=str(client.base_url), timeout=20)


def control(client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = client.post(f"/__sandbox/{path}", json=body) if body is not None else client.get(f"/__sandbox/{path}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def exception_message(answer: httpx.Response) -> str:
    body = answer.json()
    assert body["message"] == "An error has occurred.", body
    return body["exceptionMessage"]


def put(client: httpx.Client, entity: str, body: dict[str, Any], **params: str) -> httpx.Response:
    return client.put(f"{V23}/{entity}", json=body, params=params)


# -- discovery and versions ---------------------------------------------------------------------------

def test_entity_lists_the_versions_and_a_wrong_version_is_404() -> None:
    with running() as (client, _):
        listing = client.get("/entity").json()
        assert [(e["name"], e["version"], e["href"]) for e in listing["endpoints"]] == [
            ("Default", v, f"{SITE}/entity/Default/{v}/") for v in ("22.200.001", "23.200.001", "24.200.001")]
        assert listing["version"]["acumaticaBuildVersion"]
        assert login(client).status_code == 204
        wrong = client.get("/entity/Default/23.100.001/SalesOrder")
        assert wrong.status_code == 404
        assert "No HTTP resource was found" in wrong.json()["message"]
        assert "/entity/Default/23.100.001/SalesOrder" in wrong.json()["message"]
        assert client.get("/entity/Default/24.200.001/SalesOrder").status_code == 200
        assert client.get(f"{V23}/NoSuchEntity").status_code == 404


def test_swagger_is_served_per_version_in_its_format() -> None:
    with running() as (client, _):
        v23 = client.get(f"{V23}/swagger.json", params={"company": "Retail"}).json()
        assert v23["swagger"] == "2.0" and v23["info"] == {"title": "Default/23.200.001", "version": "4"}
        assert v23["basePath"] == f"{SITE}/entity/Default/23.200.001"
        order = v23["definitions"]["SalesOrder"]["allOf"][1]["properties"]
        assert order["LastModified"] == {"$ref": "#/definitions/DateTimeValue"}
        assert order["Details"]["items"] == {"$ref": "#/definitions/SalesOrderDetail"}
        assert "/Shipment/ConfirmShipment" in v23["paths"]
        v24 = client.get("/entity/Default/24.200.001/swagger.json").json()
        assert v24["openapi"] == "3.0.1"
        assert "LastModifiedDateTime" in v24["components"]["schemas"]["Shipment"]["allOf"][1]["properties"]
        assert client.get("/entity/Default/21.200.001/swagger.json").status_code == 404


# -- sessions -----------------------------------------------------------------------------------------

def test_login_sets_the_session_cookies_and_logout_ends_the_session() -> None:
    with running() as (client, _):
        assert client.get(f"{V23}/SalesOrder").status_code == 401
        answer = login(client)
        assert answer.status_code == 204
        assert {".ASPXAUTH", "ASP.NET_SessionId", "UserBranch", "CompanyID"} <= set(answer.cookies)
        assert client.get(f"{V23}/SalesOrder").status_code == 200
        assert client.post("/entity/auth/logout").status_code == 204
        assert client.get(f"{V23}/SalesOrder").status_code == 401
        stats = control(client, "stats")
        assert (stats["sessions_open"], stats["logins"], stats["logouts"], stats["opened_total"]) == (0, 1, 1, 1)


def test_a_leaked_session_blocks_the_next_login_until_it_times_out() -> None:
    with running(max_api_users=2, idle_timeout_seconds=600) as (client, _):
        assert login(client).status_code == 204  # leaked: never logged out
        second = fresh(client)
        assert login(second).status_code == 204
        third = fresh(client)
        refused = login(third)
        assert refused.status_code == 500 and exception_message(refused) == "API Login Limit"
        assert second.post("/entity/auth/logout").status_code == 204
        assert login(third).status_code == 204
        control(client, "clock", {"advance_seconds": 601})  # both idle past the timeout
        assert client.get(f"{V23}/SalesOrder").status_code == 401
        assert login(fresh(client)).status_code == 204
        stats = control(client, "stats")
        assert (stats["limit_refusals"], stats["expired"], stats["sessions_open"]) == (1, 2, 1)


def test_the_per_user_session_limit_counts_only_that_users_sessions() -> None:
    with running(max_api_users=5, max_sessions_per_user=1) as (client, _):
        assert login(client).status_code == 204
        assert exception_message(login(fresh(client))) == "API Login Limit"
        assert login(fresh(client), name="other", password="pw").status_code == 204


def test_wrong_credentials_and_unknown_tenant_answer_the_real_exceptions() -> None:
    with running() as (client, _):
        assert exception_message(login(client, password="nope")) == "Error: Invalid credentials. Please try again."
        unknown = login(client, tenant="Nowhere")
        assert unknown.json()["exceptionType"] == "PX.Data.PXUndefinedCompanyException"
        assert login(client, tenant=None, company="Retail").status_code == 204  # older clients send "company"
        assert control(client, "stats")["login_failures"] == 2


def test_a_dropped_session_answers_401_mid_run() -> None:
    with running() as (client, _):
        login(client)
        assert client.get(f"{V23}/Customer/C000001").status_code == 200
        assert control(client, "sessions/drop", {"user": "api-user"}) == {"dropped": 1}
        assert client.get(f"{V23}/Customer/C000001").status_code == 401


def test_oauth_password_grant_gives_a_bearer_session_that_counts_against_the_licence() -> None:
    with running(max_api_users=1) as (client, _):
        form = {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": "app-secret",
                "username": "api-user", "password": "s3cret", "scope": "api offline_access"}
        token = client.post("/identity/connect/token", data=form).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["refresh_token"]
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert client.get(f"{V23}/StockItem/MUG-01", headers=bearer).status_code == 200
        assert exception_message(login(client)) == "API Login Limit"  # the grant holds the only slot
        bad = client.post("/identity/connect/token", data=form | {"client_secret": "wrong"})
        assert (bad.status_code, bad.json()) == (400, {"error": "invalid_client"})
        refreshed = client.post("/identity/connect/token", data={
            "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": "app-secret",
            "refresh_token": token["refresh_token"]}).json()
        assert client.get(f"{V23}/StockItem/MUG-01",
                          headers={"Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 200
        assert control(client, "stats")["sessions_open"] == 1  # one session per grant


# -- records ------------------------------------------------------------------------------------------

def test_value_objects_in_and_out() -> None:
    with running() as (client, _):
        login(client)
        saved = put(client, "Customer", {"CustomerID": {"value": "C000003"}, "CustomerName": {"value": "राम कुमार"},
                                         "CreditLimit": {"value": 2500.5}, "NotAField": {"value": 1}})
        assert saved.status_code == 200
        body = saved.json()
        assert body["CustomerName"] == {"value": "राम कुमार"} and body["CreditLimit"] == {"value": 2500.5}
        assert body["Email"] == {} and "NotAField" not in body
        assert body["id"] and body["rowNumber"] == 1 and body["note"] == {"value": ""} and body["custom"] == {}
        assert body["_links"]["self"] == f"{SITE}{V23}/Customer/{body['id']}"
        assert client.get(f"{V23}/Customer/{body['id']}").json()["CustomerID"] == {"value": "C000003"}
        stamp = datetime.fromisoformat(body["LastModifiedDateTime"]["value"])
        assert stamp.utcoffset().total_seconds() == 5.5 * 3600  # the tenant's time zone
        assert put(client, "Customer", {"CustomerID": {"value": "C9"}, "CreditLimit": {"value": "lots"}}).status_code \
            == 400
        assert put(client, "Customer", {"CustomerID": "C9"}).status_code == 400


def test_put_upserts_by_key_fields_and_honours_insert_and_update_headers() -> None:
    with running() as (client, state):
        login(client)
        first = put(client, "SalesOrder", {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"},
                                           "Description": {"value": "edited"}}).json()
        assert first["Description"] == {"value": "edited"} and len(list(state.all("SalesOrder"))) == 1
        created = put(client, "SalesOrder", {"CustomerID": {"value": "C000002"},
                                             "Details": [{"InventoryID": {"value": "MUG-01"},
                                                          "OrderQty": {"value": 3}}]}, **{"$expand": "Details"})
        order = created.json()
        assert order["OrderNbr"] == {"value": "SO000002"} and order["Status"] == {"value": "Open"}
        assert order["OrderTotal"] == {"value": 898.5} and order["Details"][0]["UnitPrice"] == {"value": 299.5}
        again = put(client, "SalesOrder", {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000002"},
                                           "Details": [{"id": order["Details"][0]["id"], "OrderQty": {"value": 1}}]},
                    **{"$expand": "Details"}).json()
        assert again["id"] == order["id"] and len(again["Details"]) == 1 and again["OrderTotal"] == {"value": 299.5}
        keys = {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000002"}}
        assert client.put(f"{V23}/SalesOrder", json=keys, headers={"If-None-Match": "*"}).status_code == 412
        missing = {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO999999"}}
        assert client.put(f"{V23}/SalesOrder", json=missing, headers={"If-Match": "*"}).status_code == 412
        assert len(list(state.all("SalesOrder"))) == 2


def test_validation_errors_come_back_on_the_fields_with_422() -> None:
    with running() as (client, state):
        login(client)
        answer = put(client, "SalesOrder", {"CustomerID": {"value": "C000404"},
                                            "Details": [{"InventoryID": {"value": "NOPE"}}]}, **{"$expand": "Details"})
        assert answer.status_code == 422
        body = answer.json()
        assert "raised at least one error" in body["error"]
        assert body["CustomerID"]["error"] == "Customer 'C000404' cannot be found in the system."
        assert body["Details"][0]["InventoryID"] == {"value": "NOPE",
                                                     "error": "Inventory ID 'NOPE' cannot be found in the system."}
        assert len(list(state.all("SalesOrder"))) == 1


def test_a_record_that_is_not_there_is_the_no_entity_exception() -> None:
    with running() as (client, _):
        login(client)
        missing = client.get(f"{V23}/SalesOrder/SO/SO404404")
        assert missing.status_code == 500
        assert missing.json()["exceptionType"] == "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"


def test_filter_on_last_modified_returns_only_newer_records() -> None:
    with running() as (client, _):
        login(client)
        put(client, "SalesOrder", {"CustomerID": {"value": "C000002"},
                                   "Details": [{"InventoryID": {"value": "MUG-01"}}]})
        since = "datetimeoffset'2026-04-02T00:00:00Z'"
        newer = client.get(f"{V23}/SalesOrder", params={"$filter": f"LastModified gt {since}"}).json()
        assert [o["OrderNbr"]["value"] for o in newer] == ["SO000002"]
        both = client.get(f"{V23}/SalesOrder", params={
            "$filter": "LastModified gt datetimeoffset'2026-03-31T00:00:00+05:30' and Status eq 'open'"}).json()
        assert len(both) == 2
        unknown = client.get(f"{V23}/SalesOrder", params={"$filter": f"LastModifiedDateTime gt {since}"})
        assert unknown.status_code == 500  # SalesOrder's stamp is LastModified in this contract
        assert client.get(f"{V23}/Shipment", params={"$filter": f"LastModifiedDateTime gt {since}"}).json() == []


def test_expand_select_top_and_skip() -> None:
    with running() as (client, _):
        login(client)
        plain = client.get(f"{V23}/SalesOrder/SO/SO000001").json()
        assert "Details" not in plain and "Totals" not in plain and plain["Status"] == {"value": "Open"}
        expanded = client.get(f"{V23}/SalesOrder/SO/SO000001", params={"$expand": "Details,Totals"}).json()
        assert [d["InventoryID"]["value"] for d in expanded["Details"]] == ["TEA-GRN-250", "MUG-01"]
        assert expanded["Totals"]["LineTotalAmount"] == {"value": 597.5}
        narrow = client.get(f"{V23}/SalesOrder", params={"$select": "OrderNbr,Status"}).json()[0]
        assert {k for k in narrow if k[0].isupper()} == {"OrderNbr", "Status"}
        names = [c["CustomerID"]["value"] for c in client.get(f"{V23}/Customer", params={"$skip": 1, "$top": 1}).json()]
        assert names == ["C000002"]


def test_a_canceled_order_keeps_its_values_on_put() -> None:
    with running() as (client, state):
        login(client)
        control(client, "orders/SO/SO000001", {"status": "Canceled"})
        answer = put(client, "SalesOrder", {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"},
                                            "Description": {"value": "late change"}})
        assert answer.status_code == 200 and answer.json()["Description"] == {}
        assert answer.json()["Status"] == {"value": "Canceled"}


# -- actions ------------------------------------------------------------------------------------------

def poll(client: httpx.Client, location: str) -> httpx.Response:
    for _ in range(10):
        answer = client.get(location.removeprefix(SITE))
        if answer.status_code != 202:
            return answer
    raise AssertionError("the operation never finished")


def test_actions_answer_202_with_a_location_polled_until_204() -> None:
    with running(action_polls=2) as (client, _):
        login(client)
        started = client.post(f"{V23}/SalesOrder/SalesOrderCreateShipment", json={
            "entity": {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"}},
            "parameters": {"ShipmentDate": {"value": "2026-04-03"}, "WarehouseID": {"value": "MAIN"}}})
        assert started.status_code == 202
        location = started.headers["Location"]
        assert location.startswith(f"{SITE}{V23}/SalesOrder/SalesOrderCreateShipment/status/")
        assert client.get(location.removeprefix(SITE)).status_code == 202
        done = poll(client, location)
        assert done.status_code == 204
        order = client.get(f"{V23}/SalesOrder/SO/SO000001", params={"$expand": "Shipments"}).json()
        assert order["Status"] == {"value": "Shipping"}
        number = order["Shipments"][0]["ShipmentNbr"]["value"]
        packed = put(client, "Shipment", {"ShipmentNbr": {"value": number}, "Packages": [
            {"BoxID": {"value": "LARGE"}, "TrackingNbr": {"value": "1Z999AA10123456784"}, "Weight": {"value": 0.9}}]},
            **{"$expand": "Packages"}).json()
        assert packed["PackageCount"] == {"value": 1} and packed["ShippedWeight"] == {"value": 0.9}
        confirm = client.post(f"{V23}/Shipment/ConfirmShipment", json={"entity": {"ShipmentNbr": {"value": number}}})
        assert poll(client, confirm.headers["Location"]).status_code == 204
        assert client.get(f"{V23}/Shipment/{number}").json()["Status"] == {"value": "Confirmed"}
        assert client.get(f"{V23}/SalesOrder/SO/SO000001").json()["Status"] == {"value": "Completed"}
        again = client.post(f"{V23}/Shipment/ConfirmShipment", json={"entity": {"ShipmentNbr": {"value": number}}})
        failed = poll(client, again.headers["Location"])
        assert failed.status_code == 500 and "cannot be confirmed" in exception_message(failed)


def test_an_action_on_a_record_that_is_not_there_fails_at_once() -> None:
    with running() as (client, _):
        login(client)
        answer = client.post(f"{V23}/Shipment/ConfirmShipment", json={"entity": {"ShipmentNbr": {"value": "999999"}}})
        assert answer.status_code == 500 and exception_message(answer) == "No entity satisfies the condition."


def test_a_partial_shipment_leaves_the_order_on_back_order() -> None:
    with running(action_polls=0) as (client, _):
        login(client)
        shipment = put(client, "Shipment", {
            "CustomerID": {"value": "C000001"}, "WarehouseID": {"value": "MAIN"},
            "Details": [{"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"},
                         "OrderLineNbr": {"value": 1}, "ShippedQty": {"value": 1}}]}).json()
        confirmed = client.post(f"{V23}/Shipment/ConfirmShipment", json={"entity": {"id": shipment["id"]}})
        assert confirmed.status_code == 204 and confirmed.headers["Location"].endswith(shipment["id"])
        order = client.get(f"{V23}/SalesOrder/SO/SO000001", params={"$expand": "Details"}).json()
        assert order["Status"] == {"value": "Back Order"}
        assert [d["OpenQty"]["value"] for d in order["Details"]] == [1, 1]


# -- licence limits and faults ------------------------------------------------------------------------

def test_requests_beyond_the_licence_queue_are_declined_with_429() -> None:
    # past half of 4 requests a minute a request must wait; with no room in the queue it is declined
    with running(requests_per_minute=4, queue_limit=0) as (client, _):
        assert login(client).status_code == 204
        assert client.get(f"{V23}/StockItem/MUG-01").status_code == 200
        declined = client.get(f"{V23}/StockItem/MUG-01")
        assert declined.status_code == 429
        assert declined.text == "The custom error module does not recognize this error."
        assert client.post("/entity/auth/logout").status_code == 204  # sign-out is never queued
        assert control(client, "stats")["throttle"]["declined"] == 1


def test_past_half_the_limit_requests_are_delayed_not_refused() -> None:
    with running(requests_per_minute=4, window_seconds=1.0) as (client, _):
        login(client)
        answers = [client.get(f"{V23}/StockItem/MUG-01").status_code for _ in range(5)]
        assert answers == [200] * 5
        throttle = control(client, "stats")["throttle"]
        assert throttle["delayed"] >= 3 and throttle["declined"] == 0


def test_a_queued_fault_answers_the_next_request() -> None:
    with running() as (client, _):
        login(client)
        control(client, "faults", {"status": 503, "count": 1})
        assert client.get(f"{V23}/StockItem/MUG-01").status_code == 503
        assert client.get(f"{V23}/StockItem/MUG-01").status_code == 200


# -- control plane ------------------------------------------------------------------------------------

def test_control_plane_edits_status_payment_and_lines_and_stamps_the_order() -> None:
    with running() as (client, _):
        login(client)
        before = client.get(f"{V23}/SalesOrder/SO/SO000001").json()["LastModified"]["value"]
        control(client, "clock", {"advance_seconds": 3600})
        assert login(client).status_code == 204  # the first session timed out meanwhile
        paid = control(client, "orders/SO/SO000001", {"payments": [
            {"DocType": "Prepayment", "ReferenceNbr": "PP1", "PaymentAmount": 597.5, "AppliedToOrder": 597.5,
             "Status": "Open"}]})["record"]
        assert paid["Totals"]["UnpaidBalance"] == 0
        edited = control(client, "orders/SO/SO000001", {"lines": [{"LineNbr": 2, "OrderQty": 4}]})["record"]
        assert [d["OrderQty"] for d in edited["Details"]] == [2, 4]
        after = client.get(f"{V23}/SalesOrder/SO/SO000001").json()
        assert after["LastModified"]["value"] > before and after["OrderTotal"] == {"value": 1496}
        held = control(client, "orders/SO/SO000001", {"status": "On Hold"})["record"]
        assert held["Status"] == "On Hold" and held["Hold"] is True
        seeded = control(client, "seed", {"customers": [{"CustomerID": "C000009", "CustomerName": "Seeded"}]})
        assert seeded["seeded"]["Customer"] == 1
        assert client.get(f"{V23}/Customer/C000009").status_code == 200


def test_a_running_action_blocks_writes_to_that_entity_in_the_same_session_only() -> None:
    with running(action_polls=3, action_seconds=60) as (client, _):
        login(client)
        started = client.post(f"{V23}/SalesOrder/CancelSalesOrder", json={
            "entity": {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"}}})
        assert started.status_code == 202
        blocked = put(client, "SalesOrder", {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"}})
        assert blocked.status_code == 500 and "previous operation" in exception_message(blocked)
        other = fresh(client)
        login(other)
        assert put(other, "SalesOrder", {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"}}
                   ).status_code == 200
        control(client, "clock", {"advance_seconds": 61})  # left unpolled, it finishes on its own
        login(client)
        assert client.get(f"{V23}/SalesOrder/SO/SO000001").json()["Status"] == {"value": "Canceled"}


def test_detail_rows_are_updated_by_id_deleted_with_delete_and_added_without_id() -> None:
    with running() as (client, _):
        login(client)
        order = client.get(f"{V23}/SalesOrder/SO/SO000001", params={"$expand": "Details"}).json()
        tea, mug = order["Details"]
        changed = put(client, "SalesOrder", {"id": order["id"], "Details": [
            {"id": tea["id"], "delete": True}, {"id": mug["id"], "OrderQty": {"value": 2}},
            {"InventoryID": {"value": "GIFT-CARD"}}]}, **{"$expand": "Details"}).json()
        assert [(d["InventoryID"]["value"], d["OrderQty"]["value"], d["LineNbr"]["value"])
                for d in changed["Details"]] == [("MUG-01", 2, 2), ("GIFT-CARD", 1, 3)]
        assert changed["OrderTotal"] == {"value": 1099}


def test_each_version_answers_its_own_contract() -> None:
    with running() as (client, _):
        login(client)
        in_22 = client.get("/entity/Default/22.200.001/Customer/C000001").json()
        in_23 = client.get(f"{V23}/Customer/C000001").json()
        assert "Email" not in in_22 and in_23["Email"] == {}  # 22.200.001's Customer has no Email
        ignored = client.put("/entity/Default/22.200.001/Customer", json={
            "CustomerID": {"value": "C000001"}, "Email": {"value": "new@example.in"}})
        assert ignored.status_code == 200 and client.get(f"{V23}/Customer/C000001").json()["Email"] == {}
        item = client.get("/entity/Default/24.200.001/StockItem/MUG-01").json()
        assert item["LastModifiedDateTime"] == item["LastModified"] != {}
        assert "LastModifiedDateTime" not in client.get(f"{V23}/StockItem/MUG-01").json()


def test_a_body_that_is_not_json_is_refused() -> None:
    with running() as (client, _):
        login(client)
        answer = client.put(f"{V23}/Customer", content=b'{"CustomerID": {"value": "C7"}}',
                            headers={"Content-Type": "text/plain"})
        assert answer.status_code == 415 and "text/plain" in answer.json()["message"]
        assert login(client, password=CREDENTIALS["password"]).status_code == 204
        form = client.post("/entity/auth/login", data=CREDENTIALS)
        assert form.status_code == 204


def test_keys_in_the_url_are_unescaped_one_segment_at_a_time() -> None:
    with running() as (client, _):
        login(client)
        assert put(client, "StockItem", {"InventoryID": {"value": "BOX/SMALL & CO"}}).status_code == 200
        found = client.get(f"{V23}/StockItem/BOX%2FSMALL%20%26%20CO")
        assert found.status_code == 200 and found.json()["InventoryID"] == {"value": "BOX/SMALL & CO"}
        assert client.get(f"{V23}/StockItem/box%2Fsmall%20%26%20co").status_code == 200  # keys ignore case


def test_limits_set_through_the_control_plane_take_effect() -> None:
    with running() as (client, _):
        licence = control(client, "licence", {"max_api_users": 1, "window_seconds": 0.5, "requests_per_minute": 40})
        assert (licence["max_api_users"], licence["window_seconds"]) == (1, 0.5)
        assert login(client).status_code == 204
        assert exception_message(login(fresh(client))) == "API Login Limit"
        assert client.get(f"{V23}/StockItem/MUG-01").status_code == 200
        assert client.post("/__sandbox/licence", json={"no_such_limit": 1}).status_code == 400


def test_an_order_with_an_open_shipment_gets_no_second_one_until_it_is_confirmed() -> None:
    with running(action_polls=0) as (client, _):
        login(client)
        line = {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000001"}, "ShippedQty": {"value": 1}}
        header = {"CustomerID": {"value": "C000001"}, "WarehouseID": {"value": "MAIN"}}
        first = put(client, "Shipment", header | {"Details": [line | {"OrderLineNbr": {"value": 1}}]}).json()
        second = put(client, "Shipment", header | {"Details": [line | {"OrderLineNbr": {"value": 2}}]},
                     **{"$expand": "Details"})
        assert second.status_code == 422
        assert second.json()["Details"][0]["OrderNbr"]["error"] == (
            "New shipment cannot be created for the sales order. The SO SO000001 sales order already has the "
            f"{first['ShipmentNbr']['value']} open shipment.")
        unchanged = put(client, "Shipment", {"ShipmentNbr": first["ShipmentNbr"]}).json()
        assert unchanged["LastModifiedDateTime"] == first["LastModifiedDateTime"]  # nothing changed, no new stamp
        client.post(f"{V23}/Shipment/ConfirmShipment", json={"entity": {"id": first["id"]}})
        assert put(client, "Shipment", header | {"Details": [line | {"OrderLineNbr": {"value": 2}}]}).status_code \
            == 200

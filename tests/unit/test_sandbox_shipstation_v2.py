"""The ShipStation V2 inventory simulator, over real HTTP on loopback (no client code of ours)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.runner import ServedApp
from sandbox.shipstation_v2 import ShipStationV2State, Signer, create_app

KEY = "v2-test-key"
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()  # one 2048-bit key for the module: generating one per test is slow


def seeded(**options: Any) -> ShipStationV2State:
    """TEA 10 @ 4.50 (2 allocated), MUG 3, CUP 0 at one location of one warehouse."""
    return ShipStationV2State.seeded({"TEA": 10, "MUG": 3, "CUP": 0}, costs={"TEA": Decimal("4.50")},
                                     allocated={"TEA": 2}, now=lambda: AT, **options)


@contextmanager
def running(state: ShipStationV2State, signer: Signer, **options: Any) -> Iterator[httpx.Client]:
    options.setdefault("rate_limit", 0)
    app = create_app(state, api_keys={KEY}, signer=signer, **options)
    with ServedApp(app) as served:
        with httpx.Client(base_url=served.base_url, headers={"API-Key": KEY}, timeout=10) as client:
            yield client


def location_of(state: ShipStationV2State) -> str:
    return next(iter(state.locations))


def post(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v2/inventory", json=body)


def level(client: httpx.Client, sku: str) -> dict[str, Any]:
    rows = client.get("/v2/inventory", params={"sku": sku}).json()["inventory"]
    assert len(rows) == 1, rows
    return rows[0]


def assert_v2_error(response: httpx.Response, status: int, error_type: str, error_code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"request_id", "errors"} and len(body["request_id"]) == 36
    (error,) = body["errors"]
    assert set(error) == {"error_source", "error_type", "error_code", "message"}
    assert (error["error_type"], error["error_code"]) == (error_type, error_code)
    return error["message"]


# -- auth and rate limit ------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"API-Key": "wrong"}, {"Authorization": f"Bearer {KEY}"}])
def test_missing_or_wrong_key_is_401_in_the_v2_shape(signer: Signer, headers: dict[str, str]) -> None:
    with running(seeded(), signer) as client:
        response = httpx.get(f"{client.base_url}/v2/inventory", headers=headers)
    assert assert_v2_error(response, 401, "security", "unauthorized")


def test_header_name_is_case_insensitive(signer: Signer) -> None:
    with running(seeded(), signer) as client:
        response = httpx.get(f"{client.base_url}/v2/inventory", headers={"api-key": KEY})
    assert response.status_code == 200


def test_429_with_retry_after_past_the_limit_then_a_fresh_window(signer: Signer) -> None:
    with running(seeded(), signer, rate_limit=3, window_seconds=1.0) as client:
        assert [client.get("/v2/inventory").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/v2/inventory")
        time.sleep(1.05)
        again = client.get("/v2/inventory")
        stats = client.get("/__sandbox/stats").json()
    assert_v2_error(refused, 429, "system", "rate_limit_exceeded")
    assert refused.headers["Retry-After"] == "1"
    assert again.status_code == 200
    assert stats["throttled"] == 1 and stats["by_status"] == {"200": 4, "429": 1}


def test_control_plane_and_jwks_need_no_key_and_are_not_limited(signer: Signer) -> None:
    with running(seeded(), signer, rate_limit=1) as client:
        bare = httpx.Client(base_url=client.base_url)
        codes = [bare.get(path).status_code for path in ("/jwks", "/__sandbox/inventory", "/__sandbox/stats") * 3]
    assert set(codes) == {200}


# -- listing --------------------------------------------------------------------------------------------


def test_levels_have_the_documented_fields(signer: Signer) -> None:
    state = seeded()
    with running(state, signer) as client:
        tea = level(client, "TEA")
    assert tea == {"sku": "TEA", "on_hand": 10, "allocated": 2, "available": 8,
                   "average_cost": {"amount": 4.5, "currency": "inr"},
                   "inventory_warehouse_id": next(iter(state.warehouses)), "inventory_location_id": location_of(state)}
    assert tea["inventory_location_id"].startswith("se-")


def test_pages_links_and_page_past_the_end(signer: Signer) -> None:
    stock = {f"SKU-{n:02d}": n for n in range(7)}
    with running(ShipStationV2State.seeded(stock), signer) as client:
        first = client.get("/v2/inventory", params={"limit": 3}).json()
        last = httpx.get(first["links"]["last"]["href"], headers={"API-Key": KEY}).json()
        beyond = client.get("/v2/inventory", params={"limit": 3, "page": 9}).json()
    assert (first["total"], first["page"], first["pages"]) == (7, 1, 3)
    assert [r["sku"] for r in first["inventory"]] == ["SKU-00", "SKU-01", "SKU-02"]
    assert first["links"]["prev"] == {} and first["links"]["next"]["href"].endswith("limit=3&page=2")
    assert [r["sku"] for r in last["inventory"]] == ["SKU-06"] and last["links"]["next"] == {}
    assert last["links"]["prev"]["href"].endswith("page=2")
    assert beyond["inventory"] == [] and beyond["total"] == 7


def test_filters_and_group_by(signer: Signer) -> None:
    state = seeded()
    warehouse = next(iter(state.warehouses))
    other = state.add_location(warehouse, "B-02")["inventory_location_id"]
    state.put_level("TEA", other, 5, cost=(Decimal("6.00"), "inr"))
    with running(state, signer) as client:
        by_location = client.get("/v2/inventory", params={"sku": "TEA"}).json()["inventory"]
        at_other = client.get("/v2/inventory", params={"inventory_location_id": other}).json()["inventory"]
        by_warehouse = client.get("/v2/inventory", params={"sku": "TEA,MUG", "group_by": "warehouse"}).json()
        bad = client.get("/v2/inventory", params={"group_by": "planet"})
    assert [(r["inventory_location_id"], r["on_hand"]) for r in by_location] == [(location_of(state), 10), (other, 5)]
    assert [r["sku"] for r in at_other] == ["TEA"]
    tea, mug = sorted(by_warehouse["inventory"], key=lambda r: r["sku"], reverse=True)
    assert tea == {"sku": "TEA", "on_hand": 15, "allocated": 2, "available": 13,
                   "average_cost": {"amount": 5, "currency": "inr"},  # (10 × 4.50 + 5 × 6.00) / 15
                   "inventory_warehouse_id": warehouse, "inventory_location_id": None}
    assert mug["on_hand"] == 3
    assert_v2_error(bad, 400, "validation", "invalid_field_value")


# -- transactions ---------------------------------------------------------------------------------------


def test_increment_adds_and_moves_the_average_cost(signer: Signer) -> None:
    state = seeded()
    with running(state, signer) as client:
        response = post(client, transaction_type="increment", sku="TEA", quantity=5,
                        inventory_location_id=location_of(state), cost={"amount": 6, "currency": "INR"})
        tea = level(client, "TEA")
    assert response.status_code == 204 and response.content == b""
    assert (tea["on_hand"], tea["available"], tea["average_cost"]["amount"]) == (15, 13, 5)


def test_decrement_removes_all_or_nothing(signer: Signer) -> None:
    state = seeded()
    with running(state, signer) as client:
        ok = post(client, transaction_type="decrement", sku="MUG", quantity=2, inventory_location_id=location_of(state))
        too_many = post(client, transaction_type="decrement", sku="MUG", quantity=2,
                        inventory_location_id=location_of(state))
        mug = level(client, "MUG")
    assert ok.status_code == 204
    assert "cannot remove 2" in assert_v2_error(too_many, 400, "business_rules", "invalid_field_value")
    assert mug["on_hand"] == 1


def test_adjust_sets_the_absolute_on_hand_both_ways(signer: Signer) -> None:
    state = seeded()
    loc = location_of(state)
    with running(state, signer) as client:
        codes = [post(client, transaction_type="adjust", sku=sku, quantity=qty, inventory_location_id=loc).status_code
                 for sku, qty in (("TEA", 4), ("MUG", 9), ("CUP", 0), ("NEW-SKU", 7), ("TEA", 4))]
        rows = {r["sku"]: r for r in client.get("/v2/inventory").json()["inventory"]}
    assert codes == [204] * 5
    assert {sku: r["on_hand"] for sku, r in rows.items()} == {"TEA": 4, "MUG": 9, "CUP": 0, "NEW-SKU": 7}
    assert rows["TEA"]["average_cost"] == {"amount": 4.5, "currency": "inr"}  # removing stock keeps the cost
    assert rows["TEA"]["available"] == 2


def test_adjust_adds_or_removes_in_the_given_condition(signer: Signer) -> None:
    state = seeded()
    loc = location_of(state)
    with running(state, signer) as client:
        post(client, transaction_type="increment", sku="MUG", quantity=2, inventory_location_id=loc,
             condition="damaged")
        down = post(client, transaction_type="adjust", sku="MUG", quantity=1, inventory_location_id=loc,
                    condition="damaged")
        up = post(client, transaction_type="adjust", sku="MUG", quantity=6, inventory_location_id=loc)
        batches = client.get("/__sandbox/inventory").json()["batches"]
    assert down.status_code == 400  # total 5 → 1 needs 4 damaged units; there are 2
    assert up.status_code == 204
    assert {(b["condition"], b["on_hand"]) for b in batches if b["sku"] == "MUG"} == {("sellable", 4), ("damaged", 2)}


def test_modify_moves_units_and_changes_attributes_not_the_count(signer: Signer) -> None:
    state = seeded()
    loc = location_of(state)
    other = state.add_location(next(iter(state.warehouses)), "B-02")["inventory_location_id"]
    with running(state, signer) as client:
        moved = post(client, transaction_type="modify", sku="TEA", quantity=4, inventory_location_id=loc,
                     new_inventory_location_id=other)
        damaged = post(client, transaction_type="modify", sku="TEA", quantity=1, inventory_location_id=other,
                       new_condition="damaged", new_cost={"amount": "0", "currency": "inr"})
        rows = client.get("/v2/inventory", params={"sku": "TEA"}).json()["inventory"]
        batches = client.get("/__sandbox/inventory").json()["batches"]
    assert moved.status_code == damaged.status_code == 204
    assert [(r["inventory_location_id"], r["on_hand"]) for r in rows] == [(loc, 6), (other, 4)]
    assert sum(r["on_hand"] for r in rows) == 10
    assert {(b["inventory_location_id"], b["condition"], b["on_hand"], b["cost"]["amount"])
            for b in batches if b["sku"] == "TEA"} == {(loc, "sellable", 6, 4.5), (other, "sellable", 3, 4.5),
                                                        (other, "damaged", 1, 0)}


@pytest.mark.parametrize(("body", "code", "needle"), [
    ({"transaction_type": "teleport"}, "invalid_field_value", "transaction_type"),
    ({"sku": None}, "field_value_required", "sku"),
    ({"quantity": None}, "field_value_required", "quantity"),
    ({"inventory_location_id": ""}, "field_value_required", "inventory_location_id"),
    ({"quantity": -1}, "invalid_field_value", "negative"),
    ({"quantity": 1.5}, "invalid_field_value", "integer"),
    ({"inventory_location_id": "se-999"}, "invalid_identifier", "se-999"),
    ({"condition": "soggy"}, "invalid_field_value", "condition"),
    ({"new_condition": "damaged"}, "invalid_field_value", "modify"),
    ({"transaction_type": "modify"}, "invalid_field_value", "modify"),
    ({"transaction_type": "increment", "quantity": 0}, "invalid_field_value", "at least 1"),
    ({"cost": {"amount": 3}}, "invalid_field_value", "currency"),
])
def test_invalid_transactions_are_400_and_change_nothing(signer: Signer, body: dict[str, Any], code: str,
                                                         needle: str) -> None:
    state = seeded()
    before = state.levels()
    full = {"transaction_type": "adjust", "sku": "TEA", "quantity": 1, "inventory_location_id": location_of(state)}
    with running(state, signer) as client:
        response = post(client, **(full | body))
        log = client.get("/__sandbox/transactions").json()["transactions"]
    message = assert_v2_error(response, 400, "validation", code)
    assert needle in message and message.startswith("[sandbox] ")
    assert state.levels() == before
    assert [(t["status"], t["error_code"]) for t in log] == [(400, code)]


def test_known_skus_limit_transactions(signer: Signer) -> None:
    state = seeded(known_skus={"TEA", "MUG", "CUP"})
    with running(state, signer) as client:
        response = post(client, transaction_type="adjust", sku="GHOST", quantity=1,
                        inventory_location_id=location_of(state))
    assert "GHOST" in assert_v2_error(response, 400, "validation", "invalid_field_value")


def test_not_json_is_400(signer: Signer) -> None:
    with running(seeded(), signer) as client:
        response = client.post("/v2/inventory", content=b"{nope", headers={"Content-Type": "application/json"})
        empty = client.post("/v2/inventory", content=b"")
    assert_v2_error(response, 400, "validation", "invalid_field_value")
    assert_v2_error(empty, 400, "validation", "request_body_required")


def test_transaction_log_keeps_every_body_in_order(signer: Signer) -> None:
    state = seeded()
    loc = location_of(state)
    with running(state, signer) as client:
        post(client, transaction_type="adjust", sku="TEA", quantity=3, inventory_location_id=loc, reason="count")
        post(client, transaction_type="decrement", sku="CUP", quantity=1, inventory_location_id=loc)
        log = client.get("/__sandbox/transactions").json()["transactions"]
    assert [(t["seq"], t["body"]["sku"], t["status"]) for t in log] == [(1, "TEA", 204), (2, "CUP", 400)]
    assert log[0]["body"]["reason"] == "count" and log[0]["received_at"] == "2026-03-01T10:00:00.000Z"


# -- warehouses, locations, allocations, faults ----------------------------------------------------------


def test_warehouses_and_locations_create_and_list(signer: Signer) -> None:
    state = seeded()
    with running(state, signer) as client:
        made = client.post("/v2/inventory_warehouses", json={"name": "Overflow"})
        warehouse = made.json()["inventory_warehouse_id"]
        location = client.post("/v2/inventory_locations", json={"name": "Z-9", "inventory_warehouse_id": warehouse})
        orphan = client.post("/v2/inventory_locations", json={"name": "Z-9", "inventory_warehouse_id": "se-1"})
        nameless = client.post("/v2/inventory_warehouses", json={})
        warehouses = client.get("/v2/inventory_warehouses").json()
        locations = client.get("/v2/inventory_locations", params={"limit": 1, "page": 2}).json()
        one = client.get(f"/v2/inventory_locations/{location.json()['inventory_location_id']}")
        missing = client.get("/v2/inventory_warehouses/se-404")
    assert made.status_code == 200 and made.json() == {"inventory_warehouse_id": warehouse, "name": "Overflow",
                                                       "created_at": "2026-03-01T10:00:00.000Z",
                                                       "updated_at": "2026-03-01T10:00:00.000Z"}
    assert location.json()["inventory_warehouse_id"] == warehouse and one.json() == location.json()
    assert_v2_error(orphan, 400, "validation", "invalid_identifier")
    assert_v2_error(nameless, 400, "validation", "field_value_required")
    assert [w["name"] for w in warehouses["inventory_warehouses"]] == ["Sandbox Warehouse", "Overflow"]
    assert locations["inventory_locations"] == [location.json()] and locations["total"] == 2
    assert_v2_error(missing, 404, "validation", "invalid_identifier")


def test_allocations_change_available_only(signer: Signer) -> None:
    state = seeded()
    with running(state, signer) as client:
        control = httpx.post(f"{client.base_url}/__sandbox/allocations",
                             json={"sku": "MUG", "inventory_location_id": location_of(state), "allocated": 5})
        mug = level(client, "MUG")
    assert control.status_code == 200
    assert (mug["on_hand"], mug["allocated"], mug["available"]) == (3, 5, -2)


def test_faults_before_and_after_apply(signer: Signer) -> None:
    state = seeded()
    body = {"transaction_type": "increment", "sku": "MUG", "quantity": 1, "inventory_location_id": location_of(state)}
    with running(state, signer) as client:
        httpx.post(f"{client.base_url}/__sandbox/faults", json={"status": 503, "count": 1})
        lost_before = post(client, **body)
        httpx.post(f"{client.base_url}/__sandbox/faults", json={"status": 500, "count": 1, "after_apply": True})
        lost_after = post(client, **body)
        mug = level(client, "MUG")
    assert_v2_error(lost_before, 503, "system", "unspecified")
    assert_v2_error(lost_after, 500, "system", "unspecified")
    assert mug["on_hand"] == 4  # only the second one was carried out


# -- webhook signing ------------------------------------------------------------------------------------


def public_key_from_jwks(jwks: dict[str, Any], kid: str) -> rsa.RSAPublicKey:
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == kid]
    assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")

    def number(text: str) -> int:
        assert "=" not in text
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    return rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()


def test_signed_headers_verify_against_the_served_jwks(signer: Signer) -> None:
    raw = '{"resource_url":"https://api.shipstation.com/v2/labels/se-1","resource_type":"LABEL_CREATED_V2"}'
    with running(seeded(), signer) as client:
        jwks = httpx.get(f"{client.base_url}/jwks").json()
        headers = httpx.post(f"{client.base_url}/__sandbox/sign",
                             json={"body": raw, "timestamp": "2026-03-01T10:00:00.000Z"}).json()
        fresh = httpx.post(f"{client.base_url}/__sandbox/sign", json={"body": raw}).json()
    assert set(headers) == {"x-shipengine-rsa-sha256-key-id", "x-shipengine-rsa-sha256-signature",
                            "x-shipengine-timestamp"}
    key = public_key_from_jwks(jwks, headers["x-shipengine-rsa-sha256-key-id"])
    assert key.key_size == 2048
    signature = base64.b64decode(headers["x-shipengine-rsa-sha256-signature"], validate=True)
    key.verify(signature, f"2026-03-01T10:00:00.000Z.{raw}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.verify(signature, f"2026-03-01T10:00:00.000Z.{raw} ".encode(), padding.PKCS1v15(), hashes.SHA256())
    stamp = datetime.fromisoformat(fresh["x-shipengine-timestamp"])
    assert abs((stamp - datetime.now(UTC)).total_seconds()) < 60
    key.verify(base64.b64decode(fresh["x-shipengine-rsa-sha256-signature"]),
               f"{fresh['x-shipengine-timestamp']}.{raw}".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_signer_signs_raw_bytes_exactly(signer: Signer) -> None:
    raw = '{"a": "ü",  "b": 1}\n'.encode()
    headers = signer.sign(raw, "2026-03-01T10:00:00Z")
    key = public_key_from_jwks(signer.jwks(), signer.kid)
    key.verify(base64.b64decode(headers["x-shipengine-rsa-sha256-signature"]),
               b"2026-03-01T10:00:00Z." + raw, padding.PKCS1v15(), hashes.SHA256())
    assert headers["x-shipengine-timestamp"] == "2026-03-01T10:00:00Z"
    assert signer.sign(raw.decode(), "2026-03-01T10:00:00Z") == headers  # str bodies are signed as UTF-8

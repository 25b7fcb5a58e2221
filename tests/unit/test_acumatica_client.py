"""The Acumatica client against the reference's behaviour (test double: test_acumatica_fake.FakeAcumatica)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.acumatica import AcumaticaClient, EndpointVersionNotFound, codec
from connectors.acumatica.errors import describe
from connectors.acumatica.models import SalesOrder
from connectors.common.errors import NotFound, RateLimited
from tests.unit.test_acumatica_fake import VERSION, FakeAcumatica, transport

URL = "https://erp.test"


def client(fake: FakeAcumatica, *, version: str = VERSION, sleeps: list | None = None, **kw) -> AcumaticaClient:
    return AcumaticaClient(url=URL, endpoint_version=version, tenant="Acme", branch="MAIN", username="admin",
                           password="secret", transport=transport(fake),
                           sleep=(sleeps.append if sleeps is not None else lambda s: None), rng=lambda: 0.5, **kw)


def order(nbr: str, **extra) -> dict:
    return {"OrderType": "SO", "OrderNbr": nbr, "Status": "Open", "OrderTotal": "10.00",
            "Details": [{"LineNbr": 1, "InventoryID": "TEA", "OrderQty": 1, "UnitPrice": "10.00"}], **extra}


def test_a_wrong_endpoint_version_is_reported_naming_the_versions_offered():
    fake = FakeAcumatica()
    with client(fake, version="23.100.001") as acu, pytest.raises(EndpointVersionNotFound) as caught:
        acu.get("SalesOrder", "SO", "SO000001")
    message = str(caught.value)
    assert "Default/23.100.001 does not exist" in message
    assert "Default/20.200.001, Default/23.200.001, Default/24.200.001" in message
    assert caught.value.offered == ("Default/20.200.001", "Default/23.200.001", "Default/24.200.001")


def test_a_missing_record_on_a_right_version_is_just_not_found():
    with client(FakeAcumatica()) as acu, pytest.raises(NotFound) as caught:
        acu.get("SalesOrder", "SO", "NOPE")
    assert not isinstance(caught.value, EndpointVersionNotFound)
    assert "No entity satisfies the condition" in str(caught.value) and caught.value.status == 500


def test_a_thousand_calls_use_one_session_and_leave_none_open():
    fake = FakeAcumatica()
    fake.add("SalesOrder", order("SO000001"))
    with client(fake) as acu:
        for _ in range(1000):
            acu.get("SalesOrder", "SO", "SO000001")
        assert acu.sessions_opened == 1 and len(fake.sessions) == 1
    assert fake.logins == fake.logouts == 1 and fake.sessions == {}


def test_a_failure_mid_run_still_logs_out():
    fake = FakeAcumatica(max_sessions=1)
    with pytest.raises(RuntimeError), client(fake) as acu:
        acu.get("SalesOrder", "SO", "SO000001") if fake.add("SalesOrder", order("SO000001")) else None
        raise RuntimeError("the run died here")
    assert fake.sessions == {} and fake.logouts == 1
    with client(fake) as again:  # the licence slot is free again: a session limit of one lets the next run in
        assert again.get("SalesOrder", "SO", "SO000001")["OrderNbr"] == "SO000001"
    assert fake.sessions == {}


def test_a_session_expired_mid_run_logs_in_again_once():
    fake = FakeAcumatica()
    fake.add("SalesOrder", order("SO000001"))
    with client(fake) as acu:
        acu.get("SalesOrder", "SO", "SO000001")
        fake.sessions.clear()  # timed out on the server
        assert acu.get("SalesOrder", "SO", "SO000001")["OrderNbr"] == "SO000001"
        assert acu.sessions_opened == 2
    assert fake.sessions == {}


def test_429_waits_with_backoff_and_jitter_then_succeeds():
    fake, sleeps = FakeAcumatica(fail_429=2), []
    fake.add("SalesOrder", order("SO000001"))
    with client(fake, sleeps=sleeps) as acu:
        assert acu.get("SalesOrder", "SO", "SO000001")["OrderNbr"] == "SO000001"
    assert len(sleeps) == 2 and all(s >= 60 for s in sleeps)  # no Retry-After documented: a licence minute


def test_429_past_the_budget_raises_rate_limited_and_logs_out():
    fake = FakeAcumatica(fail_429=10)
    with pytest.raises(RateLimited), client(fake, max_retries=2) as acu:
        acu.get("SalesOrder", "SO", "SO000001")
    assert fake.sessions == {}


def test_put_upserts_with_value_objects_and_exact_decimals():
    fake, seen = FakeAcumatica(), []
    tap = httpx.MockTransport(lambda r: (seen.append(r), fake(r))[1])
    with AcumaticaClient(url=URL, username="admin", password="secret", transport=tap) as acu:
        acu.put("Customer", {"CustomerID": "C1", "CustomerName": "Ravi & Sons", "CreditLimit": Decimal("1234.5600")})
        acu.put("Customer", {"CustomerID": "C1", "CustomerName": "Ravi & Sons Ltd"})
    puts = [r.content.decode() for r in seen if r.method == "PUT"]
    assert '"CustomerName": {"value": "Ravi & Sons Ltd"}' in puts[1]
    assert '"CreditLimit": {"value": 1234.5600}' in puts[0]
    assert len(fake.records["Customer"]) == 1
    assert fake.records["Customer"][("C1",)]["CustomerName"] == "Ravi & Sons Ltd"


def test_insert_only_put_refuses_an_existing_record_with_412():
    fake = FakeAcumatica()
    fake.add("Customer", {"CustomerID": "C1", "CustomerName": "A"})
    with client(fake) as acu, pytest.raises(Exception) as caught:
        acu.put("Customer", {"CustomerID": "C1"}, insert_only=True)
    assert caught.value.status == 412


def test_filter_on_last_modified_and_expand_details():
    fake = FakeAcumatica()
    first = fake.add("SalesOrder", order("SO000001"))
    fake.add("SalesOrder", order("SO000002"))
    since = datetime.fromisoformat(first["LastModified"]).astimezone(UTC)
    with client(fake, page_size=1) as acu:
        pages = list(acu.iter_modified("SalesOrder", since, expand=["Details"]))
        bare = acu.get("SalesOrder", "SO", "SO000002")
    assert [p[0]["OrderNbr"] for p in pages] == ["SO000001", "SO000002"]
    parsed = SalesOrder.from_raw(pages[1][0])
    assert parsed.lines[0].inventory_id == "TEA" and parsed.order_total == Decimal("10.00")
    assert "Details" not in bare  # not expanded: not returned
    with client(fake) as acu:
        later = [r["OrderNbr"] for page in acu.iter_modified("SalesOrder", since + timedelta(seconds=1)) for r in page]
    assert later == ["SO000002"]


def test_an_action_answering_202_is_polled_at_its_location_until_done():
    fake, sleeps = FakeAcumatica(), []
    fake.add("SalesOrder", order("SO000001"))
    with client(fake, sleeps=sleeps, poll_seconds=0.25) as acu:
        shipment = acu.put("Shipment", {"CustomerID": "C1", "Details": [
            {"OrderType": "SO", "OrderNbr": "SO000001", "OrderLineNbr": 1, "ShippedQty": 1}]}, idempotent=False)
        acu.invoke("Shipment", "ConfirmShipment", {"ShipmentNbr": shipment["ShipmentNbr"]})
    assert sleeps == [0.25]
    assert fake.records["Shipment"][(shipment["ShipmentNbr"],)]["Status"] == "Confirmed"
    assert fake.records["SalesOrder"][("SO", "SO000001")]["Status"] == "Completed"


def test_ping_names_the_endpoint_versions_and_says_when_ours_is_missing():
    fake = FakeAcumatica()
    with client(fake) as acu:
        good = acu.ping()
    with client(fake, version="22.200.001") as acu:
        bad = acu.ping()
    assert good["ok"] and good["versions"] == ["Default/20.200.001", "Default/23.200.001", "Default/24.200.001"]
    assert not bad["ok"] and "22.200.001 is not offered" in bad["message"]
    assert fake.sessions == {}


def test_errors_name_the_innermost_exception_and_every_field_error():
    body = {"message": "An error has occurred.", "exceptionMessage": "outer",
            "innerException": {"exceptionMessage": "Inventory ID 'X' not found"}}
    assert describe(body) == "Inventory ID 'X' not found"
    echo = {"Details": [{"OrderQty": {"value": -1, "error": "must be positive"}}], "error": "Inserting failed"}
    assert describe(echo) == "Inserting failed; Details[0].OrderQty: must be positive"


def test_codec_round_trips_value_objects_and_v5_dropdowns():
    plain = {"OrderNbr": "SO1", "Total": Decimal("0.10"), "ShipToAddress": {"City": "Pune"},
             "Details": [{"LineNbr": 1}], "id": "abc", "Missing": None}
    wrapped = codec.wrap(plain)
    assert wrapped == {"OrderNbr": {"value": "SO1"}, "Total": {"value": Decimal("0.10")},
                       "ShipToAddress": {"City": {"value": "Pune"}}, "Details": [{"LineNbr": {"value": 1}}],
                       "id": "abc"}
    assert codec.unwrap(wrapped) == {k: v for k, v in plain.items() if v is not None}
    assert json.loads(codec.dumps(wrapped))["Total"]["value"] == 0.1 and b"0.10" in codec.dumps(wrapped)
    assert codec.label({"id": "CL", "description": "Completed"}) == "Completed"


def test_no_secret_in_repr_or_error():
    fake = FakeAcumatica(users={"admin": "other"})
    acu = client(fake)
    with pytest.raises(Exception) as caught:
        acu.get("SalesOrder", "SO", "X")
    assert "secret" not in repr(acu) and "secret" not in str(caught.value)
    acu.close()

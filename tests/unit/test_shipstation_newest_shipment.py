"""ShipStationClient.newest_shipment_date: the sensors' cheap probe for new labels and voids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from tests.unit.fakes import FakeClock


def client_for(pages: list[dict[str, Any]], seen: list[httpx.Request]) -> ShipStationClient:
    replies = iter(pages)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(replies))

    clock = FakeClock()
    return ShipStationClient(api_key="k", api_secret="s", base_url="https://ss.test", sleep=clock.sleep, clock=clock,
                             transport=httpx.MockTransport(handle), rate_limiter=RateLimiter(clock=clock,
                                                                                             sleep=clock.sleep))


def page(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"shipments": rows, "total": len(rows), "page": 1, "pages": 1}


def test_newest_create_date_is_one_request_sorted_newest_first() -> None:
    seen: list[httpx.Request] = []
    client = client_for([page([{"shipmentId": 9, "createDate": "2024-07-01T10:00:00.0000000"}])], seen)
    newest = client.newest_shipment_date(datetime(2024, 7, 1, 12, tzinfo=UTC), "create")
    assert newest == datetime(2024, 7, 1, 17, tzinfo=UTC)  # 10:00 PDT
    assert len(seen) == 1 and seen[0].url.path == "/shipments"
    assert dict(seen[0].url.params) == {"createDateStart": "2024-07-01 05:00:00", "sortBy": "CreateDate",
                                        "sortDir": "DESC", "page": "1", "pageSize": "1"}


def test_newest_void_date_reads_the_void_scan() -> None:
    seen: list[httpx.Request] = []
    rows = [{"shipmentId": 1, "createDate": "2024-07-01T08:00:00", "voidDate": "2024-07-02T09:00:00"},
            {"shipmentId": 2, "createDate": "2024-07-01T09:00:00", "voidDate": "2024-07-02T08:00:00"}]
    client = client_for([page(rows)], seen)
    assert client.newest_shipment_date(datetime(2024, 7, 2, tzinfo=UTC), "void") == datetime(2024, 7, 2, 16,
                                                                                             tzinfo=UTC)
    assert seen[0].url.params["voidDateStart"] == "2024-07-01 17:00:00"
    assert seen[0].url.params["includeShipmentItems"] == "false"


def test_nothing_new_is_none_and_a_bad_field_is_refused() -> None:
    assert client_for([page([])], []).newest_shipment_date(datetime(2024, 7, 1, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="create' or 'void"):
        client_for([], []).newest_shipment_date(datetime(2024, 7, 1, tzinfo=UTC), "modify")  # type: ignore[arg-type]

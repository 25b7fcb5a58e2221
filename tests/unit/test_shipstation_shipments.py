"""V1 shipments (labels): the model from the §8.2 example, and the client's createDate/voidDate scans."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.common.errors import RecordError
from connectors.common.http import decode_json
from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.paginate import ShipmentScan
from connectors.shipstation.ratelimit import RateLimiter
from connectors.shipstation.shipments import Shipment
from tests.unit.fakes import FakeClock

# Reference §8.2, verbatim.
SHIPMENT_JSON = """
{
  "shipmentId": 260017734, "orderId": 512340871, "orderKey": "erp-SO-2024-00917",
  "userId": "5f1c2d3e-0a1b-4c5d-8e9f-112233445566", "customerEmail": "a.rao@example.com",
  "orderNumber": "WM-108841552", "createDate": "2024-11-04T08:01:58.4470000", "shipDate": "2024-11-04",
  "shipmentCost": 6.42, "insuranceCost": 0, "trackingNumber": "9400111206213345678901", "isReturnLabel": false,
  "batchNumber": null, "carrierCode": "stamps_com", "serviceCode": "usps_ground_advantage", "packageCode": "package",
  "confirmation": "none", "warehouseId": 301122, "voided": false, "voidDate": null, "marketplaceNotified": true,
  "notifyErrorMessage": null,
  "shipTo": {"name": "Anita Rao", "company": "", "street1": "742 Cedar Ave", "street2": "Apt 5", "street3": null,
             "city": "Fremont", "state": "CA", "postalCode": "94538-1204", "country": "US",
             "phone": "510-555-0134", "residential": true, "addressVerified": null},
  "weight": {"value": 27, "units": "ounces", "WeightUnits": 1},
  "dimensions": {"units": "inches", "length": 8, "width": 6, "height": 4},
  "insuranceOptions": {"provider": null, "insureShipment": false, "insuredValue": 0},
  "advancedOptions": {"billToParty": null, "billToAccount": null, "billToPostalCode": null,
                      "billToCountryCode": null, "storeId": 77120},
  "shipmentItems": [
    {"orderItemId": 903311201, "lineItemKey": "1", "sku": "TEA-GRN-250", "name": "Green Tea 250g", "imageUrl": null,
     "weight": {"value": 9, "units": "ounces", "WeightUnits": 1}, "quantity": 3, "unitPrice": 12.5, "taxAmount": null,
     "shippingAmount": null, "warehouseLocation": "A2-B4", "options": [], "productId": 44120981,
     "fulfillmentSku": null, "adjustment": false, "upc": null,
     "createDate": "2024-11-03T10:17:42.517", "modifyDate": "2024-11-03T10:17:42.517"}],
  "labelData": null, "formData": null
}
"""
LABEL = "shipmentId=260017734 orderNumber=WM-108841552"


def sample_shipment(**overrides: Any) -> dict[str, Any]:
    """The §8.2 shipment decoded with Decimal floats, with top-level keys overridden."""
    shipment = decode_json(SHIPMENT_JSON)
    shipment.update(overrides)
    return shipment


# -- model ----------------------------------------------------------------------------------------


def test_the_documented_example_is_normalised() -> None:
    shipment = Shipment.from_raw(sample_shipment())
    assert (shipment.shipment_id, shipment.order_id, shipment.order_number) == (260017734, 512340871, "WM-108841552")
    assert shipment.order_key == "erp-SO-2024-00917"
    assert shipment.create_date == datetime(2024, 11, 4, 16, 1, 58, 447000, tzinfo=UTC)  # 08:01 PST
    assert shipment.ship_date == date(2024, 11, 4)
    assert shipment.void_date is None and shipment.voided is False and shipment.is_return_label is False
    assert shipment.shipment_cost == Decimal("6.42") and shipment.insurance_cost == Decimal("0")
    assert isinstance(shipment.shipment_cost, Decimal) and isinstance(shipment.insurance_cost, Decimal)
    assert shipment.tracking_number == "9400111206213345678901"
    assert (shipment.carrier_code, shipment.service_code) == ("stamps_com", "usps_ground_advantage")
    assert shipment.batch_number is None and shipment.warehouse_id == 301122
    assert shipment.store_id == 77120 and shipment.model_dump()["store_id"] == 77120
    (item,) = shipment.items or []
    assert (item.order_item_id, item.line_item_key, item.sku, item.name) == (903311201, "1", "TEA-GRN-250",
                                                                              "Green Tea 250g")
    assert item.quantity == 3 and item.unit_price == Decimal("12.5") and isinstance(item.unit_price, Decimal)
    assert item.create_date == datetime(2024, 11, 3, 18, 17, 42, 517000, tzinfo=UTC)


def test_raw_is_kept_and_snake_case_round_trips() -> None:
    raw = sample_shipment()
    shipment = Shipment.from_raw(raw)
    assert shipment.raw == raw and "raw" not in shipment.model_dump()
    assert Shipment.model_validate(shipment.model_dump()).model_dump() == shipment.model_dump()


@pytest.mark.parametrize(
    ("pacific", "utc"),
    [
        ("2024-07-01T12:00:00.0000000", datetime(2024, 7, 1, 19, 0, tzinfo=UTC)),  # PDT, UTC-7
        ("2024-12-01T12:00:00.0000000", datetime(2024, 12, 1, 20, 0, tzinfo=UTC)),  # PST, UTC-8
        ("2024-03-10T01:59:59.9990000", datetime(2024, 3, 10, 9, 59, 59, 999000, tzinfo=UTC)),  # just before the jump
        ("2024-03-10T03:00:00.0000000", datetime(2024, 3, 10, 10, 0, tzinfo=UTC)),  # just after it
        ("2024-11-03T01:30:00.0000000", datetime(2024, 11, 3, 8, 30, tzinfo=UTC)),  # fall-back hour: first (PDT)
        ("2024-11-03T02:30:00.0000000", datetime(2024, 11, 3, 10, 30, tzinfo=UTC)),
    ],
)
def test_create_and_void_dates_cross_dst(pacific: str, utc: datetime) -> None:
    shipment = Shipment.from_raw(sample_shipment(createDate=pacific, voided=True, voidDate=pacific))
    assert shipment.create_date == utc and shipment.void_date == utc
    assert shipment.create_date.tzinfo is UTC and shipment.voided is True


def test_items_not_requested_are_none_and_an_empty_list_stays_empty() -> None:
    assert Shipment.from_raw(sample_shipment(shipmentItems=None)).items is None
    missing = sample_shipment()
    del missing["shipmentItems"]
    assert Shipment.from_raw(missing).items is None
    assert Shipment.from_raw(sample_shipment(shipmentItems=[])).items == []


def test_nulls_and_strings_are_normalised() -> None:
    shipment = Shipment.from_raw(
        sample_shipment(
            insuranceCost=None,
            voided=None,
            isReturnLabel=None,
            advancedOptions=None,
            trackingNumber="  9400 \t",
            batchNumber=10442,
            orderNumber=" WM-1 ",
        )
    )
    assert shipment.insurance_cost == Decimal(0) and shipment.voided is False and shipment.is_return_label is False
    assert shipment.store_id is None and shipment.tracking_number == "9400"
    assert shipment.batch_number == "10442" and shipment.order_number == "WM-1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"shipmentCost": "six"}, "shipmentCost"),
        ({"shipmentCost": None}, "shipmentCost"),
        ({"createDate": "04/11/2024"}, "createDate"),
        ({"createDate": None}, "createDate"),
        ({"shipDate": "soon"}, "shipDate"),
        ({"voidDate": "yesterday"}, "voidDate"),
        ({"shipmentId": None}, "shipmentId"),
        ({"advancedOptions": {"storeId": "main"}}, "advancedOptions.storeId"),
    ],
)
def test_a_bad_field_names_the_shipment_and_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        Shipment.from_raw(sample_shipment(**overrides))
    error = caught.value
    assert error.system == "shipstation" and error.field == field
    assert error.record_id == (LABEL if "shipmentId" not in overrides else "shipmentId=None orderNumber=WM-108841552")
    assert field in str(error)


def test_a_bad_item_names_the_line() -> None:
    raw = sample_shipment()
    raw["shipmentItems"][0]["quantity"] = "three"
    with pytest.raises(RecordError) as caught:
        Shipment.from_raw(raw)
    assert caught.value.field == "shipmentItems.0.quantity" and caught.value.record_id == LABEL
    assert "three" in str(caught.value)


# -- a fake /shipments ----------------------------------------------------------------------------


def _wall(text: str) -> datetime:
    """A V1 timestamp as naive Pacific wall time: how the fake (like ShipStation) compares and sorts."""
    return datetime.fromisoformat(text[:26])


def _filter(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


class FakeShipments:
    """Just enough of V1 /shipments: date and orderId filters, CreateDate sort, paging, items on request."""

    def __init__(self, shipments: list[dict[str, Any]] = ()) -> None:
        self.shipments = list(shipments)
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response] = []  # served (in order) before the fake API
        self.after_request: Callable[[int], None] = lambda n: None
        self.ties_descending_on: set[int] = set()  # request numbers whose createDate ties sort by id DESC

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            if self.script:
                return self.script.pop(0)
            return httpx.Response(200, content=json.dumps(self.route(request)))
        finally:
            self.after_request(len(self.requests))

    def route(self, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        rows = self.shipments
        for field in ("createDate", "voidDate"):
            if f"{field}Start" in params:
                rows = [r for r in rows if r[field] and _wall(r[field]) >= _filter(params[f"{field}Start"])]
            if f"{field}End" in params:
                rows = [r for r in rows if r[field] and _wall(r[field]) <= _filter(params[f"{field}End"])]
        if "orderId" in params:
            rows = [r for r in rows if str(r["orderId"]) == params["orderId"]]
        tie = -1 if len(self.requests) in self.ties_descending_on else 1
        rows = sorted(rows, key=lambda r: (_wall(r["createDate"]), tie * r["shipmentId"]))
        if params.get("includeShipmentItems") != "true":
            rows = [r | {"shipmentItems": None} for r in rows]
        size, page = int(params.get("pageSize", 100)), int(params.get("page", 1))
        chunk = rows[(page - 1) * size : page * size]
        return {"shipments": chunk, "total": len(rows), "page": page, "pages": math.ceil(len(rows) / size)}

    def params(self) -> list[dict[str, str]]:
        return [dict(request.url.params) for request in self.requests]


def label(shipment_id: int, create: str, **overrides: Any) -> dict[str, Any]:
    """The §8.2 shipment as plain JSON values with a new id and createDate."""
    raw = sample_shipment(shipmentId=shipment_id, createDate=create, **overrides)
    return json.loads(json.dumps(raw, default=float))


def labels_at_seconds(count: int) -> list[dict[str, Any]]:
    return [label(i, f"2024-11-04T08:00:{i:02d}.2500000") for i in range(1, count + 1)]


def make_client(api: FakeShipments) -> ShipStationClient:
    clock = FakeClock()
    return ShipStationClient(
        api_key="k",
        api_secret="s",
        base_url="https://ssapi.test",
        transport=httpx.MockTransport(api),
        sleep=clock.sleep,
        clock=clock,
        rate_limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        rng=lambda: 0.5,
    )


START = datetime(2024, 11, 4, 0, 0, tzinfo=UTC)


def ids(pages: Any) -> list[int]:
    return [record["shipmentId"] for page in pages for record in page]


# -- filters --------------------------------------------------------------------------------------


def test_create_window_is_sent_as_pacific_wall_time_with_the_end_rounded_up() -> None:
    api = FakeShipments()
    start = datetime(2024, 7, 1, 19, 0, 30, 999999, tzinfo=UTC)  # PDT
    end = datetime(2024, 12, 1, 20, 0, 0, 1, tzinfo=UTC)  # PST
    assert list(make_client(api).iter_shipment_pages_raw(start, end)) == []
    assert api.params() == [
        {
            "includeShipmentItems": "true",
            "createDateStart": "2024-07-01 12:00:30",
            "createDateEnd": "2024-12-01 12:00:01",
            "sortBy": "CreateDate",
            "sortDir": "ASC",
            "page": "1",
            "pageSize": "500",
        }
    ]
    assert api.requests[0].url.path == "/shipments"


def test_void_window_uses_the_void_filters_and_still_sorts_by_create_date() -> None:
    api = FakeShipments()
    start, end = datetime(2024, 3, 10, 9, 59, 59, tzinfo=UTC), datetime(2024, 3, 10, 10, 0, 0, 500, tzinfo=UTC)
    list(make_client(api).iter_shipment_pages_raw(start, end, by="void", include_items=False, page_size=50))
    assert api.params() == [
        {
            "includeShipmentItems": "false",
            "voidDateStart": "2024-03-10 01:59:59",  # PST, the second before the spring-forward jump
            "voidDateEnd": "2024-03-10 03:00:01",  # PDT
            "sortBy": "CreateDate",
            "sortDir": "ASC",
            "page": "1",
            "pageSize": "50",
        }
    ]


def test_bad_arguments_are_refused_before_any_request() -> None:
    api = FakeShipments()
    client = make_client(api)
    with pytest.raises(ValueError, match="create_date_start must be timezone-aware"):
        client.iter_shipment_pages_raw(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="void_date_end must be timezone-aware"):
        client.iter_shipment_pages_raw(START, datetime(2024, 1, 2), by="void")
    with pytest.raises(ValueError, match="by must be"):
        client.iter_shipment_pages_raw(START, by="ship")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size"):
        list(client.iter_shipment_pages_raw(START, page_size=501))
    assert api.requests == []


# -- stop rules and the keyset walk ---------------------------------------------------------------


def test_pages_zero_with_total_two_is_one_request() -> None:
    api = FakeShipments()
    rows = [label(1, "2024-11-04T08:00:01.0"), label(2, "2024-11-04T08:00:02.0")]
    api.script.append(httpx.Response(200, json={"shipments": rows, "total": 2, "page": 1, "pages": 0}))
    assert [s.shipment_id for s in make_client(api).iter_shipments(START)] == [1, 2]
    assert len(api.requests) == 1


def test_an_empty_page_ends_the_scan_and_page_reaching_pages_too() -> None:
    api = FakeShipments()
    api.script += [
        httpx.Response(200, json={"shipments": [label(1, "2024-11-04T08:00:01.0")], "total": 9, "pages": 9}),
        httpx.Response(200, json={"shipments": [], "total": 9, "page": 1, "pages": 9}),
    ]
    assert ids(make_client(api).iter_shipment_pages_raw(START)) == [1]
    assert len(api.requests) == 2
    api = FakeShipments(labels_at_seconds(4))
    assert ids(make_client(api).iter_shipment_pages_raw(START, page_size=4)) == [1, 2, 3, 4]
    assert len(api.requests) == 1  # pages == 1


def test_walks_every_page_lazily_restarting_from_the_last_create_date() -> None:
    api = FakeShipments(labels_at_seconds(7))
    pages = make_client(api).iter_shipment_pages_raw(START, page_size=3)
    assert [r["shipmentId"] for r in next(pages)] == [1, 2, 3] and len(api.requests) == 1
    assert ids(pages) == [4, 5, 6, 7]
    sent = api.params()
    assert [p["page"] for p in sent] == ["1"] * len(sent)
    assert [p["createDateStart"] for p in sent] == [
        "2024-11-03 16:00:00",  # START, in PST
        "2024-11-04 08:00:03",
        "2024-11-04 08:00:05",
    ]


def test_page_numbers_carry_on_within_one_second() -> None:
    api = FakeShipments([label(i, f"2024-11-04T08:00:00.{i:07d}") for i in range(1, 6)])
    assert ids(make_client(api).iter_shipment_pages_raw(START, page_size=2)) == [1, 2, 3, 4, 5]
    assert [p["page"] for p in api.params()] == ["1", "1", "2", "3"]


def test_ties_that_swap_between_requests_are_not_skipped() -> None:
    """2 and 3 share a createDate; the server orders that tie differently on the second request.

    Plain page 2 of (1, 3, 2, 4) would be (2, 4): label 3 lost. Restarting from the tie's second is not fooled.
    """
    tie = "2024-11-04T08:00:02.5000000"
    api = FakeShipments(
        [label(1, "2024-11-04T08:00:01.0"), label(2, tie), label(3, tie), label(4, "2024-11-04T08:00:04.0")]
    )
    api.ties_descending_on = {2}
    assert sorted(ids(make_client(api).iter_shipment_pages_raw(START, page_size=2))) == [1, 2, 3, 4]


def test_labels_created_during_the_scan_come_once_and_none_repeat() -> None:
    api = FakeShipments(labels_at_seconds(6))

    def create_labels(request_number: int) -> None:
        if request_number == 1:
            api.shipments.append(label(50, "2024-11-04T09:00:00.0000000"))  # new: sorts at the end
            api.shipments.append(label(40, "2024-11-04T08:00:01.9000000"))  # committed late: before our position

    api.after_request = create_labels
    got = ids(make_client(api).iter_shipment_pages_raw(START, page_size=3))
    assert got == [1, 2, 3, 4, 5, 6, 50]
    # 40 sorted before the scan's position; the next window (end - SHIPMENT_DATE_OVERLAP) picks it up.


def test_labels_voided_during_a_void_scan_never_repeat_one() -> None:
    voided = [
        label(i, f"2024-11-04T08:00:{i:02d}.0", voided=True, voidDate="2024-11-05T10:00:00.0") for i in (1, 3, 5, 7)
    ]
    api = FakeShipments([*voided, label(2, "2024-11-04T08:00:02.0"), label(4, "2024-11-04T08:00:04.0")])

    def void_label_2(request_number: int) -> None:
        if request_number == 1:
            api.shipments[4] = api.shipments[4] | {"voided": True, "voidDate": "2024-11-05T11:00:00.0"}

    api.after_request = void_label_2
    start = datetime(2024, 11, 5, 0, 0, tzinfo=UTC)
    got = ids(make_client(api).iter_shipment_pages_raw(start, by="void", page_size=2))
    assert got == [1, 3, 5, 7]  # plain page 2 would now be (3, 5): 3 again
    # 2 was voided behind the scan's position: the next void window (end - overlap) picks it up.
    assert [p.get("createDateStart") for p in api.params()] == [None, "2024-11-04 08:00:03", "2024-11-04 08:00:05"]
    assert {p["voidDateStart"] for p in api.params()} == {"2024-11-04 16:00:00"}


def test_a_shipment_met_twice_in_one_scan_is_yielded_once() -> None:
    api = FakeShipments()
    one, two = label(1, "2024-11-04T08:00:00.1"), label(2, "2024-11-04T08:00:00.2")
    api.script += [
        httpx.Response(200, json={"shipments": [one, two], "total": 3, "page": 1, "pages": 2}),
        httpx.Response(200, json={"shipments": [two], "total": 3, "page": 1, "pages": 1}),
    ]
    pages = list(make_client(api).iter_shipment_pages_raw(START, page_size=2))
    assert [[record["shipmentId"] for record in page] for page in pages] == [[1, 2]]
    assert len(api.requests) == 2


def test_scan_forgets_ids_behind_the_keyset() -> None:
    scan = ShipmentScan(START)
    page = [label(1, "2024-11-04T08:00:01.0"), label(2, "2024-11-04T08:00:05.5")]
    assert scan.admit(page) == page and scan.advance(page)
    assert scan.params()["createDateStart"] == "2024-11-04 08:00:05"
    assert scan.admit([page[1], label(3, "2024-11-04T08:00:06.0")]) == [label(3, "2024-11-04T08:00:06.0")]


# -- parsed shipments, items, per order -----------------------------------------------------------


def test_iter_shipments_parses_and_keeps_items_none_when_not_asked() -> None:
    api = FakeShipments(labels_at_seconds(2))
    client = make_client(api)
    with_items = list(client.iter_shipments(START))
    assert [len(s.items or []) for s in with_items] == [1, 1]
    assert with_items[0].items and with_items[0].items[0].unit_price == Decimal("12.5")
    assert with_items[0].shipment_cost == Decimal("6.42")
    assert [s.items for s in client.iter_shipments(START, include_items=False)] == [None, None]


def test_a_bad_record_in_a_scan_raises_record_error() -> None:
    api = FakeShipments([label(77, "2024-11-04T08:00:01.0", shipmentCost="n/a")])
    with pytest.raises(RecordError) as caught:
        list(make_client(api).iter_shipments(START))
    assert caught.value.record_id == "shipmentId=77 orderNumber=WM-108841552" and caught.value.field == "shipmentCost"
    api = FakeShipments()
    api.script.append(httpx.Response(200, json={"shipments": [label(78, None)], "total": 1, "pages": 1}))
    with pytest.raises(RecordError, match="createDate"):
        list(make_client(api).iter_shipment_pages_raw(START))


def test_list_shipments_for_order() -> None:
    mine = [label(i, f"2024-11-04T08:00:{i:02d}.0") for i in (3, 1, 2)]
    other = label(9, "2024-11-04T08:00:05.0", orderId=1)
    api = FakeShipments([*mine, other])
    api.script.append(httpx.Response(200, json={"shipments": mine[:2], "total": 3, "page": 1, "pages": 2}))
    api.script.append(httpx.Response(200, json={"shipments": [mine[1], mine[2], other], "total": 3, "pages": 2}))
    got = make_client(api).list_shipments_for_order(512340871)
    assert [s.shipment_id for s in got] == [3, 1, 2]  # as served, each once, other orders dropped
    assert all(s.items for s in got)
    assert api.params()[0] == {
        "orderId": "512340871",
        "includeShipmentItems": "true",
        "sortBy": "CreateDate",
        "sortDir": "ASC",
        "page": "1",
        "pageSize": "500",
    }
    assert [p["page"] for p in api.params()] == ["1", "2"]

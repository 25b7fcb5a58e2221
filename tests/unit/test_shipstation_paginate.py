"""Page-number paginator and the modifyDate keyset scan, with hand-built envelopes (§1.4, §6.2)."""

from datetime import UTC, datetime

import pytest

from connectors.common.errors import RecordError
from connectors.shipstation.models import Page
from connectors.shipstation.paginate import ModifyDateScan, PageNumberPaginator


def envelope(n_items: int, page: int, pages: int, total: int = 99) -> dict[str, object]:
    return {"orders": [{"orderId": i} for i in range(n_items)], "total": total, "page": page, "pages": pages}


def test_follows_pages_until_page_reaches_pages() -> None:
    paginator = PageNumberPaginator("orders")
    assert paginator.params(500) == {"page": 1, "pageSize": 500}
    assert paginator.next_page(envelope(2, 1, 3)) == 2
    assert paginator.next_page(envelope(2, 2, 3)) == 3
    assert paginator.next_page(envelope(1, 3, 3)) is None


def test_pages_zero_with_items_stops_after_the_first_page() -> None:
    # The docs' own example: "total": 2, "page": 1, "pages": 0.
    assert PageNumberPaginator("orders").next_page(envelope(2, 1, 0, total=2)) is None


def test_empty_page_stops_even_if_pages_says_more() -> None:
    assert PageNumberPaginator("orders").next_page(envelope(0, 1, 7)) is None


def test_missing_keys_stop() -> None:
    assert PageNumberPaginator("orders").next_page({}) is None


def test_counts_from_the_requested_page_not_the_echo() -> None:
    paginator = PageNumberPaginator("orders")
    for _ in range(3):  # a server that always answers "page 1 of 3"
        paginator.next_page(envelope(2, 1, 3))
    assert paginator.page == 3


def test_accepts_a_typed_page_and_restarts() -> None:
    paginator = PageNumberPaginator("orders")
    assert paginator.next_page(Page(items=[1], total=5, page=1, pages=2)) == 2
    paginator.restart()
    assert paginator.page == 1


def order(order_id: int, modify: str) -> dict[str, object]:
    return {"orderId": order_id, "orderNumber": f"N{order_id}", "modifyDate": modify}


def test_scan_params_are_pacific_and_sorted_ascending() -> None:
    scan = ModifyDateScan(datetime(2024, 11, 3, 18, 15, 30, 500, tzinfo=UTC), datetime(2024, 7, 1, 19, tzinfo=UTC))
    assert scan.params() == {
        "modifyDateStart": "2024-11-03 10:15:30",
        "modifyDateEnd": "2024-07-01 12:00:00",
        "sortBy": "ModifyDate",
        "sortDir": "ASC",
    }


def test_scan_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="modify_date_start"):
        ModifyDateScan(datetime(2024, 1, 1))


def test_scan_deduplicates_and_advances_to_the_last_second() -> None:
    scan = ModifyDateScan(datetime(2024, 1, 1, tzinfo=UTC))
    page = [order(1, "2024-01-10T10:00:00.1000000"), order(2, "2024-01-10T10:00:05.9000000")]
    assert scan.admit(page) == page
    assert scan.advance(page) is True
    assert scan.params()["modifyDateStart"] == "2024-01-10 10:00:05"
    again = [order(2, "2024-01-10T10:00:05.9000000"), order(3, "2024-01-10T10:00:07.0000000")]
    assert scan.admit(again) == [again[1]]
    edited = order(1, "2024-01-10T11:00:00.0000000")  # a new version of order 1 is not a duplicate
    assert scan.admit([edited]) == [edited]


def test_scan_stays_put_when_a_page_shares_one_second() -> None:
    scan = ModifyDateScan(datetime(2024, 1, 10, 18, 0, 5, tzinfo=UTC))
    page = [order(i, f"2024-01-10T10:00:05.{i:07d}") for i in range(1, 4)]
    assert scan.advance(page) is False
    assert scan.advance([]) is False


def test_scan_does_not_restart_inside_the_fall_back_hour() -> None:
    scan = ModifyDateScan(datetime(2024, 11, 3, 7, tzinfo=UTC))
    assert scan.advance([order(1, "2024-11-03T01:30:00.0000000")]) is False
    assert scan.advance([order(2, "2024-11-03T02:30:00.0000000")]) is True


def test_scan_needs_a_modify_date() -> None:
    scan = ModifyDateScan(datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(RecordError) as caught:
        scan.admit([{"orderId": 9, "orderNumber": "N9", "modifyDate": None}])
    assert caught.value.field == "modifyDate" and caught.value.record_id == "orderId=9 orderNumber=N9"

"""The ShipStation simulator finds a Start/End range on the sort field by bisection: the same pages as a scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sandbox.shipstation import query

BASE = datetime(2026, 3, 1, tzinfo=UTC)
_WHEN = st.none() | st.integers(0, 40).map(lambda minutes: BASE + timedelta(minutes=minutes))


def _filter(minutes: int | None) -> str | None:
    return None if minutes is None else (BASE + timedelta(minutes=minutes)).astimezone(
        query.pacific.PACIFIC).strftime("%Y-%m-%d %H:%M:%S")


@given(dates=st.lists(_WHEN, max_size=60), low=st.none() | st.integers(-5, 45), high=st.none() | st.integers(-5, 45),
       sort=st.sampled_from(["ModifyDate", "CreateDate", "OrderDate", None]), descending=st.booleans(),
       status=st.booleans())
def test_a_range_on_the_sort_field_lists_what_a_scan_lists(dates, low, high, sort, descending, status) -> None:
    orders = [{"orderId": i, "modifyDate": when, "createDate": when, "orderDate": dates[-1 - i] if dates else None,
               "orderStatus": "shipped" if i % 3 else "awaiting_shipment"} for i, when in enumerate(dates)]
    params = {"modifyDateStart": _filter(low), "modifyDateEnd": _filter(high), "sortBy": sort,
              "sortDir": "DESC" if descending else "ASC", "orderStatus": "shipped" if status else None,
              "pageSize": "7"}
    listing = query.order_listing({k: v for k, v in params.items() if v is not None})

    def sorted_rows(sort_by: str | None) -> list[dict]:
        return sorted(orders, key=lambda o: query.sort_value(o.get(sort_by))) if sort_by else list(orders)

    scanned = [o for o in sorted_rows(listing.sort_by) if listing.matches(o)]
    if listing.descending:
        scanned.reverse()
    for page in range(1, 10):
        paged = query.Listing(listing.predicates, listing.sort_by, listing.descending, page, 7, listing.key)
        assert query.cached_page({}, paged, sorted_rows) == (paged.window(scanned), len(scanned))

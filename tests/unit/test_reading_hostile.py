"""Reading ShipStation records that are not what they should be: held with a reason, each under its own key."""

from __future__ import annotations

from pipelines.posting.keys import record_id
from pipelines.sides.shipstation.reading import modify_date, parse_orders, parse_shipments
from tests.fuzz.strategies import valid_order


def test_a_record_that_is_not_an_object_is_held_with_a_reason_and_the_run_goes_on():
    good = valid_order(1)
    parsed = list(parse_orders(["oops", None, 7, good]))
    assert [order is None for order, _ in parsed] == [True, True, True, False]
    assert parsed[0][1]["_parse_error"] == "the record is a str, not a JSON object" and parsed[0][1]["_raw"] == "'oops'"
    assert parsed[3][0].order_id == 1 and parsed[3][1] is good
    assert [s for s, _, _ in parse_shipments([["a"]], {})] == [None]
    assert modify_date("oops") is None


def test_records_without_a_usable_id_are_kept_apart_by_their_content():
    a = {**valid_order(1), "orderId": None}
    b = {**valid_order(2), "orderId": None}
    assert record_id(valid_order(5), "orderId") == "5" and record_id({"orderId": " 6 "}, "orderId") == "6"
    assert record_id(a, "orderId").startswith("no-id:") and record_id(a, "orderId") != record_id(b, "orderId")
    assert record_id(a, "orderId") == record_id({**a, "_parse_error": "x"}, "orderId")  # our notes: same key
    assert record_id({"orderId": True}, "orderId").startswith("no-id:")
    assert record_id({"orderId": ""}, "orderId") != record_id({"orderId": "", "x": 1}, "orderId")
    wrapped = [r for _, r in parse_orders(["a", "b"])]  # not objects: apart by what they were
    assert record_id(wrapped[0], "orderId") != record_id(wrapped[1], "orderId")
    assert record_id({"shipmentId": 9}, "shipmentId") == "9"

"""A ShipStation record's `_raw` is set up by `_init_raw`, not pydantic's generic initialiser of private attributes:
every way of making a record leaves the same private state as the generic one did."""

from __future__ import annotations

import copy
import pickle
from typing import Any, ClassVar

from pydantic import PrivateAttr

from connectors.shipstation.models import Customer, Order, Product, RawRecord, ShipStationModel

RAW = {"orderId": 7, "orderNumber": "A-7", "createDate": "2026-02-06T05:46:40.7320000",
       "modifyDate": "2026-02-06T05:46:40.7320000", "orderStatus": "awaiting_shipment", "orderTotal": "10.00",
       "labelMessages": None}


class GenericOrder(Order):  # the same model, with pydantic's own initialiser (a private attribute of its own)
    _note: str = PrivateAttr(default="")


def test_records_use_the_direct_initialiser_and_others_keep_pydantics() -> None:
    assert Order.model_post_init.__name__ == Product.model_post_init.__name__ == "_init_raw"
    assert Customer.model_post_init.__name__ == "_init_raw"
    assert GenericOrder.model_validate(RAW).__pydantic_private__ == {"_raw": {}, "_note": ""}  # pydantic's ran

    class WithPostInit(Order):
        seen: ClassVar[list[str]] = []

        def model_post_init(self, context: Any, /) -> None:
            self.seen.append(self.order_number)

    WithPostInit.model_validate(RAW)
    assert WithPostInit.seen == ["A-7"]


def test_every_way_of_making_a_record_leaves_the_private_state_pydantic_left() -> None:
    makers = [lambda cls: cls.model_validate(RAW), lambda cls: cls(**RAW),
              lambda cls: cls.model_construct(order_id=7), lambda cls: cls.from_raw(RAW)]
    for make in makers:
        ours, generic = make(Order), make(GenericOrder)
        assert ours.__pydantic_private__ == {k: v for k, v in generic.__pydantic_private__.items() if k == "_raw"}
        assert ours.raw == generic.raw


def test_raw_is_a_copy_and_never_shared() -> None:
    first, second = Order.model_validate(RAW), Order.model_validate(RAW)
    assert first.raw == {} and first.raw is not second.raw
    read = Order.from_raw(RAW)
    assert read.raw == RAW and read.raw is not RAW


def test_raw_survives_copies_and_pickling_and_counts_in_equality() -> None:
    read = Order.from_raw(RAW)
    for other in (read.model_copy(), copy.deepcopy(read), pickle.loads(pickle.dumps(read))):
        assert other.raw == RAW and other == read
    assert Order.from_raw({**RAW, "labelMessages": "x"}) != read  # same fields, another record as sent


def test_a_record_class_of_ones_own_gets_the_direct_initialiser() -> None:
    class Thing(RawRecord):
        id_fields: ClassVar[tuple[str, ...]] = ("thingId",)
        thing_id: int

    class LateOrder(Order):
        late: bool = False

    thing = Thing.from_raw({"thingId": 3})
    assert Thing.model_post_init is LateOrder.model_post_init is Order.model_post_init
    assert thing.raw == {"thingId": 3} and LateOrder.from_raw(RAW).raw == RAW
    assert isinstance(Thing.model_validate({"thing_id": 4}), ShipStationModel)
    assert LateOrder.model_validate(RAW).__pydantic_private__ == {"_raw": {}}

"""ShipStation V1 records normalised at the boundary: UTC datetimes, Decimal money, stripped strings."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.common.errors import RecordError
from connectors.common.http import decode_json
from connectors.shipstation.models import Customer, Order, Page, Product, parse_page

# Reference §8.1, verbatim.
ORDER_JSON = """
{
  "orderId": 512340871, "orderNumber": "WM-108841552", "orderKey": "erp-SO-2024-00917",
  "orderDate": "2024-11-03T10:15:00.0000000", "createDate": "2024-11-03T10:17:42.5170000",
  "modifyDate": "2024-11-04T08:02:11.1030000", "paymentDate": "2024-11-03T10:15:00.0000000",
  "shipByDate": "2024-11-05T00:00:00.0000000", "orderStatus": "awaiting_shipment",
  "customerId": 88213007, "customerUsername": "walmart-cust-55120", "customerEmail": "a.rao@example.com",
  "billTo": {"name": "Anita Rao", "company": null, "street1": null, "street2": null, "street3": null, "city": null,
             "state": null, "postalCode": null, "country": null, "phone": null, "residential": null,
             "addressVerified": null},
  "shipTo": {"name": "Anita Rao", "company": "", "street1": "742 Cedar Ave", "street2": "Apt 5", "street3": null,
             "city": "Fremont", "state": "CA", "postalCode": "94538", "country": "US", "phone": "510-555-0134",
             "residential": true, "addressVerified": "Address validated successfully"},
  "items": [
    {"orderItemId": 903311201, "lineItemKey": "1", "sku": "TEA-GRN-250", "name": "Green Tea 250g", "imageUrl": null,
     "weight": {"value": 9, "units": "ounces", "WeightUnits": 1}, "quantity": 3, "unitPrice": 12.5, "taxAmount": null,
     "shippingAmount": null, "warehouseLocation": "A2-B4", "options": [{"name": "Pack", "value": "Loose leaf"}],
     "productId": 44120981, "fulfillmentSku": null, "adjustment": false, "upc": "0812345000127",
     "createDate": "2024-11-03T10:17:42.517", "modifyDate": "2024-11-03T10:17:42.517"},
    {"orderItemId": 903311202, "lineItemKey": "PROMO10", "sku": "DISCOUNT", "name": "10% off", "imageUrl": null,
     "weight": {"value": 0, "units": "ounces", "WeightUnits": 1}, "quantity": 1, "unitPrice": -3.75, "taxAmount": null,
     "shippingAmount": null, "warehouseLocation": null, "options": [], "productId": null, "fulfillmentSku": null,
     "adjustment": true, "upc": null, "createDate": "2024-11-03T10:17:42.517",
     "modifyDate": "2024-11-03T10:17:42.517"}],
  "orderTotal": 41.55, "amountPaid": 41.55, "taxAmount": 3.05, "shippingAmount": 4.75,
  "customerNotes": null, "internalNotes": "Synced from ERP", "gift": false, "giftMessage": null,
  "paymentMethod": "Walmart", "requestedShippingService": "Standard", "carrierCode": "stamps_com",
  "serviceCode": "usps_ground_advantage", "packageCode": "package", "confirmation": "none", "shipDate": null,
  "holdUntilDate": null, "weight": {"value": 27, "units": "ounces", "WeightUnits": 1},
  "dimensions": {"units": "inches", "length": 8, "width": 6, "height": 4},
  "insuranceOptions": {"provider": null, "insureShipment": false, "insuredValue": 0},
  "internationalOptions": {"contents": null, "customsItems": null, "nonDelivery": null},
  "advancedOptions": {"warehouseId": 301122, "nonMachinable": false, "saturdayDelivery": false,
    "containsAlcohol": false, "mergedOrSplit": false, "mergedIds": [], "parentId": null, "storeId": 77120,
    "customField1": "SO-2024-00917", "customField2": null, "customField3": null, "source": "walmart",
    "billToParty": null, "billToAccount": null, "billToPostalCode": null, "billToCountryCode": null,
    "billToMyOtherAccount": null},
  "tagIds": null, "userId": null, "externallyFulfilled": false, "externallyFulfilledBy": null,
  "externallyFulfilledById": null, "externallyFulfilledByName": null, "labelMessages": null
}
"""


def sample_order(**overrides: Any) -> dict[str, Any]:
    """The §8.1 order decoded with Decimal floats, with top-level keys overridden."""
    order = decode_json(ORDER_JSON)
    order.update(overrides)
    return order


def test_order_is_normalised() -> None:
    order = Order.from_raw(sample_order())
    assert order.order_id == 512340871 and order.order_number == "WM-108841552"
    assert order.modify_date == datetime(2024, 11, 4, 16, 2, 11, 103000, tzinfo=UTC)  # PST after 3 Nov
    assert order.order_date == datetime(2024, 11, 3, 18, 15, tzinfo=UTC)  # 10:15 PST, the day DST ended
    assert order.ship_by_date == datetime(2024, 11, 5, 8, 0, tzinfo=UTC)
    assert order.ship_date is None and order.tag_ids == []
    assert (order.order_total, order.amount_paid) == (Decimal("41.55"), Decimal("41.55"))
    assert (order.tax_amount, order.shipping_amount) == (Decimal("3.05"), Decimal("4.75"))
    tea, promo = order.items
    assert (tea.quantity, tea.unit_price, tea.tax_amount, tea.options[0].value) == (
        3,
        Decimal("12.5"),
        None,
        "Loose leaf",
    )
    assert promo.adjustment and promo.unit_price == Decimal("-3.75")
    assert tea.create_date == datetime(2024, 11, 3, 18, 17, 42, 517000, tzinfo=UTC)
    lines = sum(item.quantity * item.unit_price for item in order.items)
    assert lines + order.shipping_amount + order.tax_amount == order.order_total
    assert order.ship_to is not None and order.ship_to.residential is True and order.ship_to.company == ""
    assert order.advanced_options.store_id == 77120 and order.advanced_options.custom_field1 == "SO-2024-00917"


def test_raw_is_kept_but_not_dumped() -> None:
    raw = sample_order()
    order = Order.from_raw(raw)
    assert order.raw == raw and order.raw["orderTotal"] == Decimal("41.55")
    dumped = order.model_dump()
    assert "raw" not in dumped and "_raw" not in dumped
    assert "raw" not in repr(order)


def test_strings_are_stripped_and_none_stays_none() -> None:
    order = Order.from_raw(sample_order(orderNumber="  WM-1 \t", customerNotes=None, internalNotes="  x "))
    assert (order.order_number, order.customer_notes, order.internal_notes) == ("WM-1", None, "x")


def test_nulls_where_lists_or_objects_are_expected() -> None:
    order = Order.from_raw(sample_order(items=None, advancedOptions=None, taxAmount=None, shipDate="2024-11-04"))
    assert order.items == [] and order.advanced_options.merged_ids == []
    assert order.tax_amount == Decimal(0)
    assert order.ship_date == date(2024, 11, 4)


def test_snake_case_names_are_accepted_too() -> None:
    order = Order.from_raw(sample_order())
    again = Order.model_validate(order.model_dump())
    assert again.model_dump() == order.model_dump()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"orderTotal": "forty"}, "orderTotal"),
        ({"modifyDate": "04/11/2024"}, "modifyDate"),
        ({"modifyDate": None}, "modifyDate"),
        ({"orderId": None}, "orderId"),
    ],
)
def test_bad_field_names_order_and_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        Order.from_raw(sample_order(**overrides))
    error = caught.value
    assert error.system == "shipstation" and error.field == field
    assert "orderNumber=WM-108841552" in str(error.record_id)
    assert field in str(error)


def test_bad_item_field_names_the_line() -> None:
    raw = sample_order()
    raw["items"][1]["unitPrice"] = "abc"
    with pytest.raises(RecordError) as caught:
        Order.from_raw(raw)
    assert caught.value.field == "items.1.unitPrice"
    assert caught.value.record_id == "orderId=512340871 orderNumber=WM-108841552"
    assert "abc" in str(caught.value)


def test_product_and_customer() -> None:
    product = Product.from_raw(
        {
            "productId": 44120981,
            "sku": " TEA-GRN-250 ",
            "name": "Green Tea 250g",
            "price": 12.5,
            "defaultCost": None,
            "weightOz": 9,
            "createDate": "2024-01-02T03:04:05.1230000",
            "active": True,
            "productCategory": {"categoryId": 3, "name": "Tea"},
            "tags": None,
            "aliases": None,
        }
    )
    assert product.sku == "TEA-GRN-250" and product.price == Decimal("12.5") and product.tags == []
    assert product.create_date == datetime(2024, 1, 2, 11, 4, 5, 123000, tzinfo=UTC)
    customer = Customer.from_raw(
        {
            "customerId": 88213007,
            "name": "Anita Rao",
            "email": "a.rao@example.com",
            "countryCode": "US",
            "modifyDate": "2024-11-04T08:02:11.1030000",
            "marketplaceUsernames": [
                {
                    "customerUserId": 1,
                    "customerId": 88213007,
                    "marketplaceId": 2,
                    "marketplace": "Walmart",
                    "username": "walmart-cust-55120",
                    "createDate": "2024-11-03T10:17:42.5170000",
                }
            ],
            "tags": [{"tagId": 9, "name": "VIP"}],
        }
    )
    assert customer.marketplace_usernames[0].username == "walmart-cust-55120"
    assert customer.tags[0].name == "VIP" and customer.country_code == "US"


def test_parse_page() -> None:
    envelope = {"orders": [sample_order()], "total": 2, "page": 1, "pages": 0}
    page = parse_page(envelope, "orders", Order)
    assert isinstance(page, Page) and (page.total, page.page, page.pages) == (2, 1, 0)
    assert page.items[0].order_id == 512340871


class _Text(str):
    pass


def test_optional_fields_read_null_and_empty_as_absent_and_refuse_blanks() -> None:
    raw = sample_order(paymentDate="", shipByDate=None, shipDate="", holdUntilDate=_Text(""),
                       orderDate=_Text("2024-11-03T10:15:00.0000000"))
    raw["items"][0].update(taxAmount="", shippingAmount=None, createDate=_Text(""), modifyDate="")
    raw["weight"]["value"] = " 27.50 "
    order = Order.from_raw(raw)
    assert (order.payment_date, order.ship_by_date, order.ship_date, order.hold_until_date) == (None,) * 4
    assert order.order_date == datetime(2024, 11, 3, 18, 15, tzinfo=UTC)
    line = order.items[0]
    assert (line.tax_amount, line.shipping_amount, line.create_date, line.modify_date) == (None,) * 4
    assert order.weight is not None and order.weight.value == Decimal("27.50")
    for field, value in (("paymentDate", " "), ("orderDate", ["2024-11-03"]), ("shipDate", "3 Nov")):
        with pytest.raises(RecordError) as caught:
            Order.from_raw(sample_order(**{field: value}))
        assert caught.value.field == field


def test_amounts_out_of_range_and_not_finite_name_the_field() -> None:
    for value, words in (("1E+12", "out of range"), ("-1e13", "out of range"), ("NaN", "not a finite number"),
                         (True, "expected a number"), ("", "expected a number")):
        with pytest.raises(RecordError) as caught:
            Order.from_raw(sample_order(orderTotal=value))
        assert caught.value.field == "orderTotal" and words in str(caught.value)
    assert Order.from_raw(sample_order(orderTotal="999999999999.99")).order_total == Decimal("999999999999.99")

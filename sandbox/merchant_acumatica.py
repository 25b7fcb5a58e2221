"""The seeded merchant's Acumatica tenant, and a served Acumatica simulator holding it.

`generate_acumatica(merchant, seed=...)` turns the merchant of `sandbox/merchant.py` into the records
of an Acumatica tenant (stored form, see `sandbox/acumatica/values.py`): its customers (`C000001`…),
its SKUs as stock items (weights in KG; inactive SKUs Inactive; one active item with zero weight),
and sales orders built from its orders (same customer, lines, tax and freight), numbered `SO000001`…
in order-date order, in INR (the base currency):

- awaiting_shipment, paid → Open with a captured prepayment (fulfilment-ready);
- awaiting_shipment, cash on delivery → Open without payment;
- awaiting_payment → Open with a card payment authorised but not captured (Pending Processing);
- on_hold → On Hold; cancelled → Canceled; shipped → Completed; every twentieth paid open order →
  Back Order.

`special` names one order of each kind, and `zero_weight_order` (fulfilment-ready, with the
zero-weight item). `start_acumatica(merchant)` serves it; the constants below are what a client
needs to sign in.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.acumatica import AcumaticaState, Licence, create_app
from sandbox.acumatica.sessions import ConnectedApp
from sandbox.merchant import Merchant
from sandbox.runner import ServedApp, serve

ACUMATICA_SITE = "/AcumaticaERP"  # the instance lives in a virtual directory, as on-premises installs do
ACUMATICA_TENANT = "SharmaSons"
ACUMATICA_BRANCH = "HQ"
ACUMATICA_USERNAME = "ml-connector"
ACUMATICA_PASSWORD = "sandbox-acumatica-password"
ACUMATICA_ENDPOINT_VERSION = "23.200.001"
ACUMATICA_VERSIONS = ("22.200.001", "23.200.001", "24.200.001")
ACUMATICA_CLIENT_ID = "6D3E2F90-1B7A-4C55-9E0A-2F4B8C1D7E63@" + ACUMATICA_TENANT
ACUMATICA_CLIENT_SECRET = "sandbox-acumatica-client-secret"
TIMEZONE = "Asia/Kolkata"
BASE_CURRENCY = "INR"
WAREHOUSE = "MAIN"
GRAMS_PER_OUNCE = Decimal("28.3495")
Record = dict[str, Any]
CLOSED_STATES = {"on_hold": "On Hold", "cancelled": "Canceled", "shipped": "Completed"}


@dataclass
class AcumaticaTenant:
    customers: list[Record]
    stock_items: list[Record]
    sales_orders: list[Record]
    special: dict[str, str] = field(default_factory=dict)
    zero_weight_sku: str = ""


def _customer(n: int, who: Record) -> Record:
    address = {"AddressLine1": who["street1"], "City": who["city"], "State": who["state"],
               "PostalCode": who["postalCode"], "Country": who["countryCode"]}
    return {"CustomerID": f"C{n:06d}", "CustomerName": who["name"], "Email": who["email"], "Status": "Active",
            "CustomerClass": "ONLINE", "CurrencyID": BASE_CURRENCY, "ShipVia": "STANDARD",
            "MainContact": {"Email": who["email"], "Phone1": who["phone"], "CompanyName": who.get("company") or "",
                            "Address": address},
            "CreatedDateTime": who["createDate"], "LastModifiedDateTime": who["modifyDate"]}


def _item(product: Record, zero_weight: bool) -> Record:
    kilos = Decimal(0) if zero_weight else (Decimal(product["weightOz"]) * GRAMS_PER_OUNCE / 1000).quantize(
        Decimal("0.001"))
    return {"InventoryID": product["sku"], "Description": product["name"], "ItemClass": "FINISHED",
            "ItemType": "Finished Good", "ItemStatus": "Active" if product.get("active", True) else "Inactive",
            "BaseUOM": "EA", "SalesUOM": "EA", "DefaultPrice": product["price"],
            "CurrentStdCost": product["defaultCost"],
            "DefaultWarehouseID": WAREHOUSE, "DimensionWeight": kilos, "WeightUOM": "KG",
            "LastModified": product["modifyDate"]}


def _statuses(orders: list[Record]) -> list[str]:
    """Each order's Acumatica status; every twentieth paid open order (from the third) is on back order."""
    out, paid_open = [], 0
    for order in orders:
        status = CLOSED_STATES.get(order["orderStatus"], "Open")
        if status == "Open" and order.get("amountPaid"):
            paid_open += 1
            status = "Back Order" if paid_open % 20 == 3 else status
        out.append(status)
    return out


def _payments(order: Record, total: Decimal, status: str, n: int) -> list[Record]:
    cod = order.get("paymentMethod") == "Cash on Delivery"
    if status == "Canceled" or cod:
        return []
    captured = order["orderStatus"] != "awaiting_payment"
    return [{"DocType": "Prepayment", "ReferenceNbr": f"PP{n:06d}", "PaymentMethod": order["paymentMethod"].upper(),
             "PaymentRef": order["orderKey"], "PaymentAmount": total,
             "AppliedToOrder": total if captured else Decimal(0),
             "Authorize": not captured, "Capture": captured, "Status": "Open" if captured else "Pending Processing",
             "Currency": BASE_CURRENCY, "ApplicationDate": order["orderDate"]}]


def _sales_order(n: int, order: Record, customer_id: str, status: str, tz: ZoneInfo) -> Record:
    lines = [{"LineNbr": k, "InventoryID": line["sku"], "LineDescription": line["name"],
              "OrderQty": Decimal(line["quantity"]), "UnitPrice": line["unitPrice"], "UOM": "EA",
              "WarehouseID": WAREHOUSE}
             for k, line in enumerate((x for x in order["items"] if not x.get("adjustment")), 1)]
    discount = -sum((x["quantity"] * x["unitPrice"] for x in order["items"] if x.get("adjustment")), Decimal(0))
    if discount and lines:
        max(lines, key=lambda line: line["OrderQty"] * line["UnitPrice"])["DiscountAmount"] = discount
    total = sum((line["OrderQty"] * line["UnitPrice"] for line in lines), Decimal(0)) - discount \
        + order["taxAmount"] + order["shippingAmount"]
    ship = order["shipTo"]
    local_date = order["orderDate"].astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"OrderType": "SO", "OrderNbr": f"SO{n:06d}", "Status": status, "Hold": status == "On Hold",
            "Date": local_date, "RequestedOn": local_date, "CustomerID": customer_id,
            "CustomerOrder": order["orderNumber"], "ExternalRef": order["orderKey"],
            "Description": f"Web order {order['orderNumber']}", "CurrencyID": BASE_CURRENCY,
            "PaymentMethod": order.get("paymentMethod", "").upper(), "TaxTotal": order["taxAmount"],
            "ShipVia": "EXPRESS" if order.get("requestedShippingService") == "Express" else "STANDARD",
            "ShipToAddressOverride": True, "ShipToContactOverride": True,
            "ShipToAddress": {"AddressLine1": ship["street1"], "City": ship["city"], "State": ship["state"],
                              "PostalCode": ship["postalCode"], "Country": ship["country"]},
            "ShipToContact": {"Attention": ship["name"], "BusinessName": ship.get("company") or "",
                              "Email": order.get("customerEmail"), "Phone1": ship.get("phone")},
            "Totals": {"Freight": order["shippingAmount"]}, "Details": lines,
            "Payments": _payments(order, total, status, n),
            "CreatedDate": order["createDate"], "LastModified": order["modifyDate"]}


def generate_acumatica(merchant: Merchant, seed: int = 7, n_orders: int | None = None) -> AcumaticaTenant:
    """The merchant as an Acumatica tenant (deterministic per merchant and seed)."""
    rng = random.Random(seed * 7919 + 11)
    tz = ZoneInfo(TIMEZONE)
    customers = [_customer(n, who) for n, who in enumerate(merchant.customers, 1)]
    ids = {who["customerId"]: rec["CustomerID"] for who, rec in zip(merchant.customers, customers, strict=True)}
    active = [p for p in merchant.products if p.get("active", True)]
    zero_sku = rng.choice(active)["sku"]
    items = [_item(p, p["sku"] == zero_sku) for p in merchant.products]
    chosen = sorted((o for o in merchant.orders if o["customerId"] in ids),
                    key=lambda o: (o["orderDate"], o["orderId"]))
    chosen = chosen[:n_orders] if n_orders else chosen
    orders = [_sales_order(n, o, ids[o["customerId"]], status, tz)
              for n, (o, status) in enumerate(zip(chosen, _statuses(chosen), strict=True), 1)]
    ready = [o for o in orders if o["Status"] == "Open" and any(p["Status"] == "Open" for p in o["Payments"])]
    special = _specials(orders, ready)
    if ready:
        target = ready[-1]
        target["Details"].append({"LineNbr": len(target["Details"]) + 1, "InventoryID": zero_sku,
                                  "OrderQty": Decimal(1),
                                  "UnitPrice": next(p["price"] for p in merchant.products if p["sku"] == zero_sku),
                                  "UOM": "EA", "WarehouseID": WAREHOUSE})
        _repay(target)
        special["zero_weight_order"] = target["OrderNbr"]
    return AcumaticaTenant(customers, items, orders, special, zero_sku)


def _repay(order: Record) -> None:
    lines = sum((d["OrderQty"] * d["UnitPrice"] - d.get("DiscountAmount", Decimal(0)) for d in order["Details"]),
                Decimal(0))
    total = lines + order["TaxTotal"] + order["Totals"]["Freight"]
    for payment in order["Payments"]:
        payment["PaymentAmount"] = payment["AppliedToOrder"] = total


def _specials(orders: list[Record], ready: list[Record]) -> dict[str, str]:
    special = {}
    if ready:
        special["fulfilment_ready"] = ready[0]["OrderNbr"]
    tests: dict[str, Callable[[Record], bool]] = {
        "awaiting_capture": lambda o: o["Status"] == "Open" and any(
            p["Status"] == "Pending Processing" for p in o["Payments"]),
        "unpaid_cod": lambda o: o["Status"] == "Open" and not o["Payments"],
        **{name: (lambda o, s=status: o["Status"] == s) for name, status in (
            ("on_hold", "On Hold"), ("back_order", "Back Order"), ("canceled", "Canceled"),
            ("completed", "Completed"))},
    }
    for name, test in tests.items():
        found = next((o for o in orders if test(o)), None)
        if found is not None:
            special[name] = found["OrderNbr"]
    return special


def acumatica_state(merchant: Merchant, *, seed: int = 7, n_orders: int | None = None,
                    licence: Licence | None = None) -> tuple[AcumaticaState, AcumaticaTenant]:
    """A seeded tenant whose business clock starts at the merchant's `start`."""
    tenant = generate_acumatica(merchant, seed=seed, n_orders=n_orders)
    state = AcumaticaState(tenant=ACUMATICA_TENANT, branches=(ACUMATICA_BRANCH,),
                           users={ACUMATICA_USERNAME: ACUMATICA_PASSWORD}, base_currency=BASE_CURRENCY,
                           timezone=TIMEZONE, versions=ACUMATICA_VERSIONS, licence=licence, start=merchant.start,
                           seed=seed, site=ACUMATICA_SITE)
    state.sessions.apps[ACUMATICA_CLIENT_ID] = ConnectedApp(ACUMATICA_CLIENT_ID, ACUMATICA_CLIENT_SECRET)
    state.seed("Customer", tenant.customers)
    state.seed("StockItem", tenant.stock_items)
    state.seed("SalesOrder", tenant.sales_orders)
    return state, tenant


def start_acumatica(merchant: Merchant, *, seed: int = 7, n_orders: int | None = None,
                    licence: Licence | None = None) -> tuple[ServedApp, AcumaticaState]:
    """Serve the merchant's tenant on a free loopback port; its instance URL is
    `served.base_url + ACUMATICA_SITE`."""
    state, _ = acumatica_state(merchant, seed=seed, n_orders=n_orders, licence=licence)
    return serve(create_app(state)), state


def acumatica_env(served: ServedApp) -> dict[str, str]:
    """Environment variables pointing ml-connector at a served tenant."""
    return {"ACUMATICA_URL": served.base_url + ACUMATICA_SITE, "ACUMATICA_ENDPOINT_VERSION": ACUMATICA_ENDPOINT_VERSION,
            "ACUMATICA_TENANT": ACUMATICA_TENANT, "ACUMATICA_BRANCH": ACUMATICA_BRANCH,
            "ACUMATICA_USERNAME": ACUMATICA_USERNAME, "ACUMATICA_PASSWORD": ACUMATICA_PASSWORD}

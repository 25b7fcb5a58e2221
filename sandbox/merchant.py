"""Seeded generator of a realistic Indian e-commerce merchant, in ShipStation's and Tally's terms.

`generate_merchant(seed)` is deterministic per seed and arguments. Records are plain dicts named as
in the ShipStation V1 model (reference §2.2, §3.3, §3.4), with aware UTC datetimes and `Decimal`
money; fields without data are left out (the simulator writes them as null). `tally` holds the
TallyPrime company masters that agree with the products, for the Tally simulator.

Beyond the brief's fields the `Merchant` also carries `stores`, `warehouses` and `unknown_sku`.
Customer names are unique (a repeated name would make Tally ledger names ambiguous on purpose
only where a test wants it). Currency is INR (V1 orders carry none; §2.2).

`shipments` holds the labels bought before `start` (see `merchant_shipping.py`: made last, on a
separate RNG, so the orders and edits of a seed are those it gave before labels existed, except
that shipped orders are `shipped`). `special` then also names `split_shipment`, `voided_label`
(voided, no replacement), `replaced_label` (voided, then replaced) and `over_shipment`, and later
batches 2 and 3 also hold `ship` and `void` changes. `ship_share=0` turns all of that off.
`Merchant.new_orders` makes the orders of a later store import for the simulator's control plane.
"""

from __future__ import annotations

import gc
import random
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.merchant_shipping import plan_shipping

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_START = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
FY_BOUNDARY_ORDER_DATE = datetime(2026, 3, 31, 20, 30, tzinfo=PACIFIC)  # 2026-04-01 09:00 IST
COMPANY = "Sharma & Sons Retail Pvt Ltd"
CENT = Decimal("0.01")
OPEN_STATUSES = ("awaiting_payment", "awaiting_shipment", "on_hold")
Record = dict[str, Any]
Entry = tuple[str, str, int, Decimal, int, int]  # sku, name, category index, price, GST %, grams

# (SKU prefix, category, GST %, ₹ per 100 g/ml, unit, variants)
CATALOG = (
    ("TEA", "Tea", 5, 60, "g", [("GRN", "Green Tea"), ("BLK", "Black Tea"), ("MSL", "Masala Chai"),
                                ("ASM", "Assam Tea"), ("DRJ", "Darjeeling Tea"), ("GNL", "Ginger & Lemon Tea")]),
    ("COF", "Coffee", 5, 90, "g", [("FLT", "Filter Coffee"), ("ARB", "Arabica Beans"),
                                   ("RBS", "Robusta Beans"), ("CHC", "Chicory Blend")]),
    ("SPC", "Spices", 5, 45, "g", [("TUR", "Turmeric Powder"), ("CHL", "Red Chilli Powder"),
                                   ("COR", "Coriander Powder"), ("JEE", "Cumin Seeds"), ("GRM", "Garam Masala"),
                                   ("ELA", "Green Cardamom"), ("PEP", "Black Pepper"), ("SNP", "Salt & Pepper Mix")]),
    ("DAL", "Pulses", 5, 16, "g", [("TUR", "Toor Dal"), ("MNG", "Moong Dal"), ("CHN", "Chana Dal"),
                                   ("URD", "Urad Dal"), ("MSR", "Masoor Dal"), ("RJM", "Rajma")]),
    ("RCE", "Rice", 5, 12, "g", [("BSM", "Basmati Rice"), ("SNA", "Sona Masoori Rice"), ("PON", "Ponni Rice")]),
    ("OIL", "Oils", 5, 25, "ml", [("MST", "Mustard Oil"), ("GNT", "Groundnut Oil"), ("CCN", "Coconut Oil"),
                                  ("SES", "Sesame Oil")]),
    ("GHE", "Ghee", 12, 70, "ml", [("COW", "Cow Ghee"), ("BUF", "Buffalo Ghee")]),
    ("SNK", "Snacks", 12, 40, "g", [("BHJ", "Bikaneri Bhujia"), ("MIX", "Navratan Mixture"),
                                    ("CHK", "Chakli"), ("MTH", "Mathri")]),
    ("SWT", "Sweets", 5, 80, "g", [("SNP", "Soan Papdi"), ("LDU", "Besan Ladoo"), ("KAJ", "Kaju Katli")]),
    ("PCK", "Pickles", 12, 35, "g", [("AAM", "Mango Pickle"), ("NMB", "Lemon Pickle"), ("MXD", "Mixed Pickle")]),
    ("HNY", "Honey", 5, 55, "g", [("WLD", "Wild Forest Honey"), ("MLT", "Multiflora Honey")]),
    ("ATA", "Flour", 5, 8, "g", [("WHT", "Whole Wheat Atta"), ("BSN", "Besan"), ("RGI", "Ragi Flour")]),
)
SIZES = (50, 100, 250, 500, 1000, 2000)
FIRST = ("Aarav", "Vivaan", "Aditya", "Priya", "Ananya", "Diya", "Rohan", "Kavya", "Ishaan", "Meera",
         "Arjun", "Sneha", "Rahul", "Pooja", "Vikram", "Neha", "Karthik", "Lakshmi", "Suresh", "Deepa")
LAST = ("Sharma", "Verma", "Iyer", "Nair", "Reddy", "Patel", "Gupta", "Mehta", "Rao", "Menon", "Das",
        "Banerjee", "Singh", "Kulkarni", "Joshi", "Pillai", "Chatterjee", "Agarwal")
CITIES = (("Mumbai", "MH", 400), ("Pune", "MH", 411), ("Bengaluru", "KA", 560), ("Chennai", "TN", 600),
          ("Hyderabad", "TG", 500), ("Kolkata", "WB", 700), ("New Delhi", "DL", 110), ("Jaipur", "RJ", 302),
          ("Ahmedabad", "GJ", 380), ("Lucknow", "UP", 226), ("Kochi", "KL", 682), ("Chandigarh", "CH", 160))
STREETS = ("MG Road", "Linking Road", "Anna Salai", "Park Street", "Brigade Road", "FC Road", "Ashram Road")
# (name, email, company): the awkward ones every sync must survive.
SPECIAL_CUSTOMERS = (
    ("Ram & Shyam Traders", "orders@ramshyam.example.in", "Ram & Shyam Traders"),
    ("<Angle> Brackets Pvt Ltd", "accounts@anglebrackets.example.in", "<Angle> Brackets Pvt Ltd"),
    ("José Muñoz", "jose.munoz@example.com", None),
    ("राम कुमार", "ram.kumar@example.in", None),
    ("D'Souza & D'Costa Stores", "dsouza.dcosta@example.in", "D'Souza & D'Costa Stores"),
)
_WC_STORE = {"storeId": 310002, "warehouseId": 410001, "source": "woocommerce"}
_MANUAL_STORE = {"storeId": 310001, "warehouseId": 410001}


@dataclass
class Merchant:
    """One generated merchant: ShipStation records, the Tally masters and scheduled later changes."""

    seed: int
    start: datetime
    products: list[Record]
    customers: list[Record]
    orders: list[Record]
    special: dict[str, str]
    later_changes: list[list[Record]]
    tally: dict[str, Any]
    unknown_sku: str
    stores: list[Record] = field(default_factory=list)
    warehouses: list[Record] = field(default_factory=list)
    shipments: list[Record] = field(default_factory=list)

    def order(self, order_number: str) -> Record:
        """The order with exactly this orderNumber."""
        return next(o for o in self.orders if o["orderNumber"] == order_number)

    def shipments_of(self, order_number: str) -> list[Record]:
        """The labels of one order (voided ones included), oldest first."""
        return [s for s in self.shipments if s["orderNumber"] == order_number]

    def new_orders(self, rng: random.Random, count: int, *, now: datetime, existing: Iterable[Record],
                   store_id: int = 310002) -> list[Record]:
        """`count` orders a store import brings in at `now`: existing customers, active catalog.

        `awaiting_shipment`, numbered after the highest number in `existing` for the store; no
        `orderId`/`orderItemId` yet (the simulator assigns them, and the create/modify dates).
        """
        return _import_orders(self, rng, count, now, existing, store_id)


def _money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _ean13(n: int) -> str:
    body = f"8901234{n:05d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _size_label(size: int, unit: str) -> str:
    return f"{size // 1000}{'kg' if unit == 'g' else 'l'}" if size >= 1000 else f"{size}{unit}"


def _catalog(rng: random.Random, n_skus: int) -> list[Entry]:
    """(sku, name, category index, price, gst %, grams) for `n_skus` products."""
    base = [(f"{prefix}-{code}-{size}", f"{label} {_size_label(size, unit)}", c, per100 * size / 100, gst, size)
            for c, (prefix, _, gst, per100, unit, variants) in enumerate(CATALOG)
            for code, label in variants for size in SIZES]
    rng.shuffle(base)
    chosen, pack = base[:n_skus], 2
    while len(chosen) < n_skus:
        chosen += [(f"{s}-P{pack}", f"{n} (Pack of {pack})", c, p * pack, g, w * pack)
                   for s, n, c, p, g, w in base[: n_skus - len(chosen)]]
        pack += 1
    return [(s, n, c, _price(rng, raw), g, w) for s, n, c, raw, g, w in chosen]


def _price(rng: random.Random, raw: float) -> Decimal:
    rupees = max(19, int(raw / 10) * 10 - 1)
    return Decimal(rupees) + (Decimal("0.50") if rng.random() < 0.2 else Decimal("0.00"))


def _product(rng: random.Random, n: int, entry: Entry, start: datetime) -> Record:
    sku, name, category, price, _, grams = entry
    created = start - timedelta(days=rng.randint(60, 400), milliseconds=rng.randint(0, 86_400_000))
    return {
        "productId": 7_000_001 + n, "sku": sku, "name": name, "price": price,
        "defaultCost": _money(price * Decimal("0.62")), "weightOz": max(1, round(grams / 28.35)),
        "length": 6, "width": 4, "height": 3, "createDate": created, "modifyDate": created,
        "active": rng.random() > 0.02, "warehouseLocation": f"A{rng.randint(1, 9)}-B{rng.randint(1, 20)}",
        "productCategory": {"categoryId": 9001 + category, "name": CATALOG[category][1]},
        "tags": [], "customsCountryCode": "IN",
    }


def _customer_names(rng: random.Random, n: int) -> list[tuple[str, str, str | None]]:
    names = list(SPECIAL_CUSTOMERS[:n])
    seen = {name for name, _, _ in names}
    while len(names) < n:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}" if rng.random() < 0.85 else f"{last} Enterprises"
        if name in seen:
            name = f"{first} {chr(65 + rng.randrange(26))}. {last}"
        if name in seen:
            name = f"{name} {len(names)}"
        seen.add(name)
        slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")
        names.append((name, f"{slug}@example.in", name if "Enterprises" in name else None))
    return names


def _customer(rng: random.Random, n: int, name: str, email: str, company: str | None) -> tuple[Record, Record]:
    """A customer record and the address its orders ship to."""
    city, state, pin = rng.choice(CITIES)
    address = {"name": name, "company": company, "street1": f"{rng.randint(1, 250)}, {rng.choice(STREETS)}",
               "city": city, "state": state, "postalCode": f"{pin}{rng.randint(1, 99):03d}", "country": "IN",
               "phone": f"+91 9{rng.randint(100_000_000, 999_999_999)}", "residential": company is None,
               "addressVerified": "Address validated successfully"}
    record = {"customerId": 40_000_001 + n, "customerUserId": 90_000_001 + n, "customerUsername": f"wc-{10_001 + n}",
              "name": name, "company": company, "street1": address["street1"], "city": city, "state": state,
              "postalCode": address["postalCode"], "countryCode": "IN", "phone": address["phone"],
              "email": email, "addressVerified": address["addressVerified"], "tags": []}
    return record, address


def order_tax(lines: list[Record], rates: dict[str, int]) -> Decimal:
    """Header GST: each goods line at its rate, scaled down by the order's discount share."""
    goods = [line for line in lines if not line.get("adjustment")]
    subtotal = sum((line["quantity"] * line["unitPrice"] for line in goods), Decimal(0))
    discount = sum((line["quantity"] * line["unitPrice"] for line in lines if line.get("adjustment")), Decimal(0))
    gross = sum((line["quantity"] * line["unitPrice"] * rates[line["sku"]] for line in goods), Decimal(0))
    return _money(gross / 100 * (subtotal + discount) / subtotal) if subtotal else Decimal("0.00")


def order_total(lines: list[Record], shipping: Decimal, tax: Decimal) -> Decimal:
    """Σ quantity × unitPrice (discount lines included) + shipping + tax, to the paisa."""
    return _money(sum((line["quantity"] * line["unitPrice"] for line in lines), Decimal(0)) + shipping + tax)


class _OrderMaker:
    """Builds orders from the catalog; ids and numbers are assigned later, in date order."""

    def __init__(self, rng: random.Random, products: list[Record], rates: dict[str, int],
                 eans: dict[str, str], start: datetime) -> None:
        self.rng, self.products, self.rates, self.eans, self.start = rng, products, rates, eans, start
        self.weights: dict[str, Record] = {}

    def make(self, customer: Record, address: Record, *, order_date: datetime | None = None, status: str | None = None,
             products: list[Record] | None = None) -> Record:
        rng = self.rng
        if order_date is None:
            order_date = self.start - timedelta(seconds=rng.randint(3_600, 56 * 86_400))
        created = order_date + timedelta(milliseconds=rng.randint(30_000, 1_200_000))
        status = status or rng.choices(("awaiting_shipment", "awaiting_payment", "on_hold", "cancelled"),
                                       (82, 8, 7, 3))[0]
        lines = [self._line(p, n + 1, created) for n, p in enumerate(
            products or rng.sample(self.products, rng.choices((1, 2, 3, 4, 5), (45, 25, 15, 10, 5))[0]))]
        if rng.random() < 1 / 3:
            lines.append(self._discount(lines, created))
        return self._header(customer, address, order_date, created, status, lines)

    def _line(self, product: Record, key: int, created: datetime) -> Record:
        # One shared weight dict per SKU keeps 100k orders small.
        weight = self.weights.setdefault(product["sku"], {"value": product["weightOz"], "units": "ounces",
                                                          "WeightUnits": 1})
        return {"lineItemKey": str(key), "sku": product["sku"], "name": product["name"],
                "weight": weight, "quantity": self.rng.choices((1, 2, 3, 4), (70, 20, 7, 3))[0],
                "unitPrice": product["price"], "productId": product["productId"], "upc": self.eans[product["sku"]],
                "warehouseLocation": product["warehouseLocation"], "adjustment": False,
                "createDate": created, "modifyDate": created}

    def _discount(self, lines: list[Record], created: datetime) -> Record:
        pct = self.rng.choice((5, 10, 15, 20))
        subtotal = sum(line["quantity"] * line["unitPrice"] for line in lines)
        return {"lineItemKey": f"PROMO{pct}", "sku": "DISCOUNT", "name": f"{pct}% off", "quantity": 1,
                "unitPrice": -_money(subtotal * pct / 100), "adjustment": True,
                "weight": {"value": 0, "units": "ounces", "WeightUnits": 1}, "createDate": created,
                "modifyDate": created}

    def _header(self, customer: Record, address: Record, order_date: datetime, created: datetime, status: str,
                lines: list[Record]) -> Record:
        rng = self.rng
        tax = order_tax(lines, self.rates)
        net = sum(line["quantity"] * line["unitPrice"] for line in lines)
        shipping = Decimal("0.00") if net >= 499 else rng.choice((Decimal("49.00"), Decimal("99.00")))
        total = order_total(lines, shipping, tax)
        cod = status != "awaiting_payment" and rng.random() < 0.2
        paid = status != "awaiting_payment" and not cod
        later = timedelta(milliseconds=rng.randint(60_000, 3 * 86_400_000))
        modified = min(created + later, self.start - timedelta(seconds=1)) if (
            status in ("cancelled", "on_hold") or rng.random() < 0.15) else created
        order = {
            "orderDate": order_date, "createDate": created, "modifyDate": max(modified, created),
            "paymentDate": order_date if paid else None, "orderStatus": status,
            "customerId": customer["customerId"], "customerUsername": customer["customerUsername"],
            "customerEmail": customer["email"], "billTo": address, "shipTo": address,
            "items": lines, "orderTotal": total, "amountPaid": total if paid else Decimal("0.00"),
            "taxAmount": tax, "shippingAmount": shipping,
            "paymentMethod": "Cash on Delivery" if cod else rng.choice(("Razorpay", "UPI", "Credit Card")),
            "requestedShippingService": "Express" if shipping == 99 else "Standard",
            "advancedOptions": _WC_STORE if rng.random() < 0.9 else _MANUAL_STORE,
        }
        if status == "on_hold":
            order["holdUntilDate"] = (created + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)
        return {k: v for k, v in order.items() if v is not None}


def _unknown_product(n: int, start: datetime) -> Record:
    """A product listed in the shop days ago and never set up in Tally."""
    created = start - timedelta(days=10, minutes=17)
    return {"productId": 7_000_001 + n, "sku": "TEA-KHW-100", "name": "Kashmiri Kahwa 100g",
            "price": Decimal("249.00"), "defaultCost": Decimal("150.00"), "weightOz": 4, "length": 6, "width": 4,
            "height": 3, "createDate": created, "modifyDate": created, "active": True, "warehouseLocation": "A1-B1",
            "productCategory": {"categoryId": 9001, "name": "Tea"}, "tags": [], "customsCountryCode": "IN"}


def _special_orders(maker: _OrderMaker, people: list[tuple[Record, Record]], unknown: Record) -> dict[str, Record]:
    generic = len(SPECIAL_CUSTOMERS)
    ship = "awaiting_shipment"
    return {
        "fy_boundary": maker.make(*people[generic + 1], order_date=FY_BOUNDARY_ORDER_DATE.astimezone(UTC),
                                  status=ship),
        "unknown_sku": maker.make(*people[generic + 2], order_date=maker.start - timedelta(days=2, hours=3),
                                  status=ship, products=[unknown, maker.products[0]]),
        "awkward_customer": maker.make(*people[0], status=ship),
        "devanagari_customer": maker.make(*people[3], status=ship),
        "existing_ledger_customer": maker.make(*people[generic], status=ship),
    }


def _number(rng: random.Random, orders: list[Record]) -> list[Record]:
    """Ids in creation order (with gaps, as on a shared platform); numbers in order-date order per store."""
    orders.sort(key=lambda o: o["createDate"])
    order_id, item_id = 512_000_000, 903_000_000
    for order in orders:
        order_id += rng.randint(1, 9)
        order["orderId"] = order_id
        for line in order["items"]:
            item_id += rng.randint(1, 3)
            line["orderItemId"] = item_id
    counters = {310001: 5_001, 310002: 100_001}
    for order in sorted(orders, key=lambda o: (o["orderDate"], o["orderId"])):
        store = order["advancedOptions"]["storeId"]
        prefix, token = ("PH", "ph-") if store == 310001 else ("WC", "wc_order_")
        order["orderNumber"] = f"{prefix}-{counters[store]}"
        order["orderKey"] = token + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=13))
        counters[store] += 1
    return orders


def _dated_customers(people: list[tuple[Record, Record]], orders: list[Record]) -> list[Record]:
    """Customers as ShipStation holds them: created by their first order, absent without one."""
    first: dict[int, Record] = {}
    for order in orders:
        first.setdefault(order["customerId"], order)
    customers = []
    for record, _ in people:
        if (order := first.get(record["customerId"])) is None:
            continue
        woo = order["advancedOptions"]["storeId"] == 310002
        customers.append({**record, "createDate": order["createDate"], "modifyDate": order["createDate"],
                          "marketplaceId": 36 if woo else 0, "marketplace": "WooCommerce" if woo else "ShipStation"})
    return customers


def _edit(rng: random.Random, order: Record, rates: dict[str, int]) -> Record:
    lines = [dict(line) for line in order["items"]]
    target = rng.choice([line for line in lines if not line["adjustment"]])
    if rng.random() < 0.5:
        target["quantity"] += rng.randint(1, 2)
    else:
        target["unitPrice"] = _money(target["unitPrice"] * Decimal(rng.choice(("0.9", "1.1"))))
    return {"kind": "edit_line", "orderId": order["orderId"], "orderNumber": order["orderNumber"],
            "lineItemKey": target["lineItemKey"], "quantity": target["quantity"],
            "unitPrice": target["unitPrice"], "taxAmount": order_tax(lines, rates)}


def _later_changes(rng: random.Random, orders: list[Record], special: dict[str, str],
                   rates: dict[str, int], batches: int = 3) -> list[list[Record]]:
    """Edits and cancellations the merchant makes later, never touching special orders."""
    protected = set(special.values())
    pool = [o for o in orders if o["orderStatus"] in OPEN_STATUSES and o["orderNumber"] not in protected]
    rng.shuffle(pool)
    n_edits, n_cancels = max(1, len(orders) // 50), max(1, len(orders) // 100)
    out = []
    for _ in range(batches):
        batch = [_edit(rng, pool.pop(), rates) for _ in range(min(n_edits, len(pool)))]
        batch += [{"kind": "cancel", "orderId": o["orderId"], "orderNumber": o["orderNumber"]}
                  for o in (pool.pop() for _ in range(min(n_cancels, len(pool))))]
        out.append(batch)
    return out


INR_PER_USD = Decimal("83")  # the Walmart US catalogue's rate: Walmart US trades in USD only
WALMART_PRICE_LEVEL = "Walmart US"  # the Tally price level holding each item's Walmart (USD) price
WALMART_LEDGERS = [("Walmart Marketplace", "Sundry Debtors"), ("Walmart Payouts", "Bank Accounts"),
                   ("Walmart Commission", "Indirect Expenses"), ("Walmart Fees", "Indirect Expenses"),
                   ("Walmart Adjustments", "Indirect Expenses")]


def usd(inr: Decimal) -> Decimal:
    """The Walmart US list price of a rupee price."""
    return max(Decimal("0.99"), (inr / INR_PER_USD).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _tally(rng: random.Random, products: list[Record], eans: dict[str, str], existing: str) -> dict[str, Any]:
    """Tally masters agreeing with `products`: ~5% of items known only by their SKU as an alias.

    Only masters a new company lacks: TallyPrime predefines the `Cash` and `Profit & Loss A/c` ledgers.
    Each item has its standard selling price (rupees) and a "Walmart US" price level (dollars), and the
    ledgers the Walmart settlements post to exist.
    """
    skus = [p["sku"] for p in products]
    alias_only = set(rng.sample(skus, k=max(1, round(len(skus) * 0.05))))
    items = [{
        "name": p["name"] if p["sku"] in alias_only else p["sku"],
        "aliases": [p["sku"]] if p["sku"] in alias_only else [eans[p["sku"]]],
        "parent": "Finished Goods", "unit": "Nos", "opening_qty": Decimal(rng.randint(20, 400)),
        "opening_rate": p["defaultCost"],
        "standard_prices": [{"date": "2025-04-01", "rate": p["price"]}],
        "price_levels": [{"date": "2025-04-01", "level": WALMART_PRICE_LEVEL, "rate": usd(p["price"])}],
    } for p in products]
    return {
        "company": COMPANY, "books_from": "2025-04-01",
        "groups": [{"name": "Online Customers", "parent": "Sundry Debtors"}],
        "ledgers": [{"name": "Sales", "parent": "Sales Accounts"},
                    {"name": "Shipping Charges", "parent": "Indirect Incomes"},
                    {"name": "Output Tax", "parent": "Duties & Taxes"},
                    {"name": "Discount Allowed", "parent": "Indirect Expenses"},
                    {"name": "Round Off", "parent": "Indirect Expenses"},
                    {"name": "HDFC Bank", "parent": "Bank Accounts"},
                    {"name": existing, "parent": "Online Customers"},
                    *({"name": name, "parent": parent} for name, parent in WALMART_LEDGERS)],
        "units": [{"name": "Nos", "decimal_places": 0}],
        "godowns": [{"name": "Main Location"}],
        "stock_groups": [{"name": "Finished Goods"}],
        "stock_items": items,
        "price_levels": [WALMART_PRICE_LEVEL],
        "voucher_types": ["Sales Order", "Purchase Order", "Delivery Note", "Receipt Note", "Sales", "Purchase",
                          "Receipt", "Payment", "Contra", "Credit Note", "Debit Note", "Journal",
                          "Rejections In", "Rejections Out", "Stock Journal", "Physical Stock"],
    }


_OPENED = datetime(2024, 1, 15, 18, 0, tzinfo=UTC)
STORES = [
    {"storeId": 310001, "storeName": "Phone Orders", "marketplaceId": 0, "marketplaceName": "ShipStation",
     "active": True, "autoRefresh": False, "companyName": COMPANY, "phone": "+91 22 4000 0000",
     "publicEmail": "orders@sharmaandsons.example.in", "website": "", "refreshDate": None,
     "lastRefreshAttempt": None, "createDate": _OPENED, "modifyDate": _OPENED, "integrationUrl": None},
    {"storeId": 310002, "storeName": "Sharma & Sons Online", "marketplaceId": 36, "marketplaceName": "WooCommerce",
     "active": True, "autoRefresh": True, "companyName": COMPANY, "phone": "+91 22 4000 0000",
     "publicEmail": "orders@sharmaandsons.example.in", "website": "https://shop.sharmaandsons.example.in",
     "refreshDate": _OPENED, "lastRefreshAttempt": _OPENED, "createDate": _OPENED, "modifyDate": _OPENED,
     "integrationUrl": "https://shop.sharmaandsons.example.in"},
]
WAREHOUSES = [{
    "warehouseId": 410001, "warehouseName": "Main Location", "createDate": _OPENED, "isDefault": True,
    "originAddress": {"name": "Main Location", "company": COMPANY, "street1": "12 Andheri Industrial Estate",
                      "city": "Mumbai", "state": "MH", "postalCode": "400053", "country": "IN",
                      "phone": "+91 22 4000 0000", "residential": False},
}]


def _address_of(customer: Record) -> Record:
    """The ship-to address a customer's orders carry (the one `_customer` made)."""
    return {"name": customer["name"], "company": customer.get("company"), "street1": customer["street1"],
            "city": customer["city"], "state": customer["state"], "postalCode": customer["postalCode"],
            "country": customer["countryCode"], "phone": customer["phone"],
            "residential": customer.get("company") is None, "addressVerified": customer["addressVerified"]}


_STORE_NUMBERING = {310001: ("PH", "ph-", 5_001), 310002: ("WC", "wc_order_", 100_001)}


def _import_orders(merchant: Merchant, rng: random.Random, count: int, now: datetime, existing: Iterable[Record],
                   store_id: int) -> list[Record]:
    products = [p for p in merchant.products if p.get("active", True) and p["sku"] != merchant.unknown_sku]
    rates = {p["sku"]: CATALOG[p["productCategory"]["categoryId"] - 9001][2] for p in products}
    eans = {p["sku"]: _ean13(p["productId"] - 7_000_000) for p in products}
    maker = _OrderMaker(rng, products, rates, eans, now)
    people = [(c, _address_of(c)) for c in merchant.customers]
    prefix, token, first = _STORE_NUMBERING.get(store_id, (f"S{store_id}", f"s{store_id}-", 1))
    taken = [int(o["orderNumber"][len(prefix) + 1:]) for o in existing
             if o["orderNumber"].startswith(prefix + "-") and o["orderNumber"][len(prefix) + 1:].isdigit()]
    number = max(taken, default=first - 1)
    advanced = {310001: _MANUAL_STORE, 310002: _WC_STORE}.get(store_id, {"storeId": store_id})
    orders = []
    for n in range(1, count + 1):
        order = maker.make(*rng.choice(people), order_date=now - timedelta(minutes=rng.randint(2, 90)),
                           status="awaiting_shipment")
        key = token + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=13))
        orders.append({**order, "orderNumber": f"{prefix}-{number + n}", "orderKey": key, "advancedOptions": advanced})
    return orders


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while building: every full pass would re-walk the millions of dicts made so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def generate_merchant(seed: int = 7, n_orders: int = 200, n_skus: int = 300, n_customers: int = 120,
                      start: datetime | None = None, ship_share: float = 0.4) -> Merchant:
    """A deterministic merchant whose orders fall in the eight weeks before `start` (aware).

    `ship_share` of the shippable orders have labels (0: no labels, specials or ship/void changes).
    """
    with _gc_paused():
        return _generate(seed, n_orders, n_skus, n_customers, start, ship_share)


def _generate(seed: int, n_orders: int, n_skus: int, n_customers: int, start: datetime | None,
              ship_share: float) -> Merchant:
    start = start or DEFAULT_START
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if n_orders < 12 or n_skus < 10 or n_customers < len(SPECIAL_CUSTOMERS) + 3:
        raise ValueError("need n_orders >= 12, n_skus >= 10, n_customers >= 8")
    rng = random.Random(seed)
    entries = _catalog(rng, n_skus)
    products = [_product(rng, n, entry, start) for n, entry in enumerate(entries)]
    unknown = _unknown_product(len(products), start)
    rates = {entry[0]: entry[4] for entry in entries} | {unknown["sku"]: 5}
    eans = {p["sku"]: _ean13(n + 1) for n, p in enumerate([*products, unknown])}
    people = [_customer(rng, n, *who) for n, who in enumerate(_customer_names(rng, n_customers))]
    maker = _OrderMaker(rng, [p for p in products if p["active"]], rates, eans, start)
    specials = _special_orders(maker, people, unknown)
    regular = [maker.make(*(people[n] if n < len(people) else rng.choice(people)))
               for n in range(n_orders - len(specials))]
    orders = _number(rng, [*regular, *specials.values()])
    special = {name: order["orderNumber"] for name, order in specials.items()}
    existing = people[len(SPECIAL_CUSTOMERS)][0]["name"]
    customers = _dated_customers(people, orders)
    later = _later_changes(rng, orders, special, rates)
    tally = _tally(rng, products, eans, existing)
    shipments: list[Record] = []
    if ship_share > 0:  # last, on its own RNG: everything above is as it was before labels existed
        shipping = plan_shipping(seed, orders, special, later, start, ship_share)
        orders, shipments, special = shipping.orders, shipping.shipments, special | shipping.special
    return Merchant(
        seed=seed, start=start, products=[*products, unknown], customers=customers, orders=orders,
        special=special, later_changes=later, tally=tally, unknown_sku=unknown["sku"],
        stores=[dict(s) for s in STORES], warehouses=[dict(w) for w in WAREHOUSES], shipments=shipments,
    )

"""A Tally company with priced stock items, and the raw imports a person's edits would be (shared by the
Tally stock and the Walmart outbound tests; no tests of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import httpx

from sandbox.runner import ServedApp
from sandbox.tally import TallyState, create_app

COMPANY = "Chai & Co Exports"
LEVEL = "Walmart US"


def spec(items: int = 3, *, price_levels: bool = True) -> dict[str, Any]:
    """`items` stock items SKU-0000.. with a standard price from 2025-04-01 (and a price-level rate)."""
    stock = []
    for n in range(items):
        entry: dict[str, Any] = {
            "name": f"SKU-{n:04d}", "unit": "Nos", "opening_qty": 10 + n,
            "standard_prices": [{"date": "2025-04-01", "rate": f"{100 + n}.00"}],
        }
        if price_levels:
            entry["price_levels"] = [{"date": "2025-04-01", "level": LEVEL, "rate": f"{2 + n}.50"}]
        stock.append(entry)
    return {"company": COMPANY, "books_from": "2025-04-01", "price_levels": [LEVEL, "Retail"],
            "units": [{"name": "Nos"}], "stock_items": stock}


@contextmanager
def running_tally(items: int = 3, **kwargs: Any) -> Iterator[str]:
    """A Tally simulator serving `spec(items)` on loopback; yields its URL."""
    with ServedApp(create_app(TallyState.from_masters(spec(items, **kwargs)))) as served:
        yield served.base_url


def post(url: str, report: str, objects: str) -> str:
    """One versioned import; the reply text."""
    xml = f"""<ENVELOPE><HEADER><VERSION>1</VERSION><TALLYREQUEST>Import</TALLYREQUEST><TYPE>Data</TYPE>
 <ID>{report}</ID></HEADER><BODY><DESC><STATICVARIABLES><SVCURRENTCOMPANY>{escape(COMPANY)}</SVCURRENTCOMPANY>
 </STATICVARIABLES></DESC><DATA><TALLYMESSAGE>{objects}</TALLYMESSAGE></DATA></BODY></ENVELOPE>"""
    response = httpx.post(url + "/", content=xml.encode(), headers={"Content-Type": "text/xml;charset=utf-8"})
    response.raise_for_status()
    return response.text


def set_prices(url: str, item: str, *prices: tuple[str, str], levels: tuple[tuple[str, str, str], ...] = ()) -> str:
    """Alter `item`'s standard price list to `(yyyymmdd, "1600.00/Nos")` entries (and price levels)."""
    standard = "".join(f"<STANDARDPRICELIST.LIST><DATE>{d}</DATE><RATE>{r}</RATE></STANDARDPRICELIST.LIST>"
                       for d, r in prices)
    full = "".join(f"<FULLPRICELIST.LIST><DATE>{d}</DATE><PRICELEVEL>{lvl}</PRICELEVEL><PRICELEVELLIST.LIST>"
                   f"<RATE>{r}</RATE></PRICELEVELLIST.LIST></FULLPRICELIST.LIST>" for d, lvl, r in levels)
    return post(url, "All Masters", f'<STOCKITEM NAME="{item}" ACTION="Alter">{standard}{full}</STOCKITEM>')


def move_stock(url: str, item: str, qty: int, *, day: str = "20250501", inward: bool = True) -> str:
    """A Receipt Note (inward) or Delivery Note (outward) of `qty` units: closing stock moves, the item does not."""
    vtype, sign = ("Receipt Note", "-") if inward else ("Delivery Note", "")
    amount = f"{sign}{Decimal(qty) * 10:.2f}"
    return post(url, "Vouchers", f"""<VOUCHER VCHTYPE="{vtype}" ACTION="Create"><DATE>{day}</DATE>
 <VOUCHERTYPENAME>{vtype}</VOUCHERTYPENAME><ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>{item}</STOCKITEMNAME>
 <ISDEEMEDPOSITIVE>{"Yes" if inward else "No"}</ISDEEMEDPOSITIVE><RATE>10.00/Nos</RATE><AMOUNT>{amount}</AMOUNT>
 <ACTUALQTY> {qty} Nos</ACTUALQTY><BILLEDQTY> {qty} Nos</BILLEDQTY></ALLINVENTORYENTRIES.LIST></VOUCHER>""")


def delete_item(url: str, item: str) -> str:
    return post(url, "All Masters", f'<STOCKITEM NAME="{item}" ACTION="Delete"><NAME>{item}</NAME></STOCKITEM>')


def create_item(url: str, item: str, rate: str) -> str:
    return post(url, "All Masters", f"""<STOCKITEM NAME="{item}" ACTION="Create"><NAME>{item}</NAME>
 <BASEUNITS>Nos</BASEUNITS><OPENINGBALANCE> 4 Nos</OPENINGBALANCE>
 <STANDARDPRICELIST.LIST><DATE>20250401</DATE><RATE>{rate}</RATE></STANDARDPRICELIST.LIST></STOCKITEM>""")

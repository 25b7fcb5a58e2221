"""Reconciliation (settlement) reports in both layouts, built from one list of transactions (reference §9).

A `Settlement` holds transactions (Sale per shipped order line, Refund per refunded return line,
Adjustment), each split into amount components. The v1 ("Recon report") file is long: one row per
component plus a first `PaymentSummary` row whose `Total Payable` is the sum of every `Amount`. The
legacy (V0) file is wide: one row per transaction (SALE / REFUNDED / ADJMNT) whose `Payable to Partner
from Sale` is the sum of its components. So both files pay out the same total, to the cent.

Assumptions where the sources are silent ([unverified]): amount types beyond "Product Price" are
"Product tax", "Product tax withheld", "Shipping Price", "Shipping tax", "Shipping tax withheld",
"Commission on Product" (a public Walmart profitability dashboard uses that label) and "Fee/Reimbursement"
for adjustments; sales tax is collected and withheld by Walmart (marketplace facilitator), so tax nets to
zero in the payout; detail rows of the v1 file leave `Period Start/End Date` and `Total Payable` blank;
legacy columns hidden behind "…" in the reference are filled in below by their obvious names; the CSV
inside the ZIP is named `<partnerId>_<reportDate>.csv`; dates are MM/DD/YYYY; numbers have 2 decimals.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

Record = dict[str, Any]
CENT = Decimal("0.01")
V1_COLUMNS = (
    "Period Start Date", "Period End Date", "Total Payable", "Currency", "Transaction Key",
    "Transaction Posted Timestamp", "Transaction Type", "Transaction Description", "Customer Order #",
    "Customer Order line #", "Purchase Order #", "Purchase Order line #", "Amount", "Amount Type", "Ship Qty",
    "Commission Rate", "Transaction Reason Description", "Partner Item Id", "Partner GTIN", "Partner Item Name",
    "Product Tax Code", "Ship to State", "Ship to City", "Ship to Zipcode", "Contract Category", "Product Type",
    "Commission Rule", "Shipping Method", "Fulfillment Type",
)
LEGACY_COLUMNS = (
    "Walmart.com Order #", "Walmart.com Order Line #", "Walmart.com PO #", "Walmart.com P.O. Line #",
    "Partner Order #", "Transaction Type", "Transaction Date Time", "Shipped Qty", "Partner Item ID",
    "Partner GTIN", "Partner Item name", "Product tax code", "Shipping tax code", "Gift wrap tax code",
    "Ship to state", "Ship to county", "County Code", "Ship to city", "Zip code", "shipping_method",
    "Total tender to / from customer", "Payable to Partner from Sale", "Commission from Sale", "Commission Rate",
    "Gross Sales Revenue", "Refunded Retail Sales", "Sales refund for Escalation", "Gross Shipping Revenue",
    "Gross Shipping Refunded", "Shipping refund for Escalation", "Net Shipping Revenue", "Gross Fee Revenue",
    "Gross Fee Refunded", "Fee refund for Escalation", "Net Fee Revenue", "Gift Wrap Quantity",
    "Gross Gift-Wrap Revenue", "Gross Gift-Wrap Refunded", "Gift wrap refund for Escalation",
    "Net Gift Wrap Revenue", "Tax on Sales Revenue", "Tax on Shipping Revenue", "Tax on Gift-Wrap Revenue",
    "Tax on Fee Revenue", "Effective tax rate", "Tax on Refunded Sales", "Tax on Shipping Refund",
    "Tax on Gift-Wrap Refund", "Tax on Fee Refund", "Tax on Sales Refund for Escalation",
    "Tax on Shipping Refund for Escalation", "Tax on Gift-Wrap Refund for escalation",
    "Tax on Fee Refund for escalation", "Total NET Tax Collected", "Tax Withheld", "Adjustment Description",
    "Adjustment Code", "Original Item price", "Original Commission Amount", "Spec Category", "Contract Category",
    "Product Type", "Flex Commission Rule", "Return Reason Code", "Return Reason Description",
    "Fee Withheld Flag", "Fulfillment Type",
)
LEGACY_TYPES = {"Sale": "SALE", "Refund": "REFUNDED", "Adjustment": "ADJMNT"}
# Which legacy column each v1 amount type lands in (tax collected and withheld kept apart).
LEGACY_COLUMN_OF = {
    "Product Price": "Gross Sales Revenue", "Shipping Price": "Gross Shipping Revenue",
    "Commission on Product": "Commission from Sale", "Product tax": "Tax on Sales Revenue",
    "Shipping tax": "Tax on Shipping Revenue", "Product tax withheld": "Tax Withheld",
    "Shipping tax withheld": "Tax Withheld", "Fee/Reimbursement": "Net Fee Revenue",
}
REFUND_COLUMN_OF = {"Product Price": "Refunded Retail Sales", "Shipping Price": "Gross Shipping Refunded",
                    "Product tax": "Tax on Refunded Sales", "Shipping tax": "Tax on Shipping Refund"}


def mdy(value: datetime) -> str:
    """MM/DD/YYYY."""
    return value.strftime("%m/%d/%Y")


def amount_text(value: Decimal) -> str:
    """`12.30`, `-4.05`."""
    return f"{value.quantize(CENT):.2f}"


@dataclass
class Transaction:
    """One settled event: a Sale or Refund of an order line, or an Adjustment, split into components."""

    key: str
    kind: str
    posted: datetime
    components: list[tuple[str, Decimal]]
    context: Record = field(default_factory=dict)
    description: str = ""
    reason: str = ""

    def total(self) -> Decimal:
        return sum((amount for _, amount in self.components), Decimal("0.00"))


@dataclass
class Settlement:
    """One settlement period and its transactions; `report_date` is the string the dates API lists."""

    report_date: str
    start: datetime
    end: datetime
    currency: str
    partner_id: str
    transactions: list[Transaction]
    generated: datetime
    _zips: dict[str, bytes] = field(default_factory=dict, repr=False)

    def total(self) -> Decimal:
        """The payout: every component of every transaction."""
        return sum((t.total() for t in self.transactions), Decimal("0.00"))

    def v1_rows(self) -> list[Record]:
        """The long layout: a PaymentSummary row, then one row per component."""
        summary = {"Period Start Date": mdy(self.start), "Period End Date": mdy(self.end),
                   "Total Payable": amount_text(self.total()), "Currency": self.currency,
                   "Transaction Type": "PaymentSummary", "Transaction Description": "Deposited in account",
                   "Transaction Posted Timestamp": mdy(self.end)}
        rows = [summary]
        for txn in self.transactions:
            c = txn.context
            base = {"Currency": self.currency, "Transaction Key": txn.key,
                    "Transaction Posted Timestamp": mdy(txn.posted),
                    "Transaction Type": txn.kind, "Transaction Description": txn.description,
                    "Customer Order #": c.get("co", ""), "Customer Order line #": c.get("co_line", ""),
                    "Purchase Order #": c.get("po", ""), "Purchase Order line #": c.get("po_line", ""),
                    "Ship Qty": c.get("qty", ""), "Commission Rate": c.get("rate", ""),
                    "Transaction Reason Description": txn.reason, "Partner Item Id": c.get("sku", ""),
                    "Partner GTIN": c.get("gtin", ""), "Partner Item Name": c.get("name", ""),
                    "Product Tax Code": c.get("tax_code", ""), "Ship to State": c.get("state", ""),
                    "Ship to City": c.get("city", ""), "Ship to Zipcode": c.get("zip", ""),
                    "Contract Category": c.get("category", ""), "Product Type": c.get("product_type", ""),
                    "Commission Rule": c.get("rule", ""), "Shipping Method": c.get("method", ""),
                    "Fulfillment Type": c.get("fulfillment", "")}
            rows += [{**base, "Amount": amount_text(amount), "Amount Type": kind} for kind, amount in txn.components]
        return rows

    def legacy_rows(self) -> list[Record]:
        """The wide layout: one row per transaction."""
        return [_legacy_row(txn) for txn in self.transactions]

    def csv_text(self, version: str) -> str:
        """The CSV: `v1` long, anything else legacy wide."""
        columns, rows = (V1_COLUMNS, self.v1_rows()) if version == "v1" else (LEGACY_COLUMNS, self.legacy_rows())
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in columns} for row in rows)
        return out.getvalue()

    def zip_bytes(self, version: str) -> bytes:
        """The ZIP the file endpoint streams, holding the one CSV (built once per layout: a period is final)."""
        if version not in self._zips:
            self._zips[version] = self._zip(version)
        return self._zips[version]

    def _zip(self, version: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{self.partner_id}_{self.report_date}.csv", self.csv_text(version))
        return buffer.getvalue()

    def filename(self) -> str:
        """`<partnerId>_<timestamp>.zip`, as in the spec's Content-Disposition example."""
        return f"{self.partner_id}_{self.generated.strftime('%Y-%m-%dT%H:%M:%S.000+0000')}.zip"


def _legacy_row(txn: Transaction) -> Record:
    c = txn.context
    row: Record = {"Walmart.com Order #": c.get("co", ""), "Walmart.com Order Line #": c.get("co_line", ""),
                   "Walmart.com PO #": c.get("po", ""), "Walmart.com P.O. Line #": c.get("po_line", ""),
                   "Partner Order #": c.get("seller_order", ""), "Transaction Type": LEGACY_TYPES[txn.kind],
                   "Transaction Date Time": mdy(txn.posted), "Shipped Qty": c.get("qty", ""),
                   "Partner Item ID": c.get("sku", ""), "Partner GTIN": c.get("gtin", ""),
                   "Partner Item name": c.get("name", ""), "Product tax code": c.get("tax_code", ""),
                   "Ship to state": c.get("state", ""), "Ship to city": c.get("city", ""), "Zip code": c.get("zip", ""),
                   "shipping_method": c.get("method", ""), "Commission Rate": c.get("rate", ""),
                   "Contract Category": c.get("category", ""), "Product Type": c.get("product_type", ""),
                   "Fulfillment Type": c.get("fulfillment", "")}
    sums: dict[str, Decimal] = {}
    for kind, amount in txn.components:
        column = (REFUND_COLUMN_OF if txn.kind == "Refund" else {}).get(kind) or LEGACY_COLUMN_OF[kind]
        sums[column] = sums.get(column, Decimal(0)) + amount
    taxes = sum((a for k, a in txn.components if k in ("Product tax", "Shipping tax")), Decimal("0.00"))
    tender = taxes + sum((a for k, a in txn.components if k in ("Product Price", "Shipping Price")), Decimal(0))
    sums["Total NET Tax Collected"] = taxes
    sums["Total tender to / from customer"] = tender
    sums["Payable to Partner from Sale"] = txn.total()
    if "Gross Shipping Revenue" in sums:
        sums["Net Shipping Revenue"] = sums["Gross Shipping Revenue"]
    if txn.kind == "Adjustment":
        row |= {"Adjustment Description": txn.description, "Adjustment Code": c.get("adjustment_code", "")}
    if txn.kind == "Refund":
        row |= {"Return Reason Code": c.get("return_reason", ""), "Return Reason Description": txn.reason}
    return row | {k: amount_text(v) for k, v in sums.items()}

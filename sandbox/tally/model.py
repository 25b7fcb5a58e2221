"""What the simulator keeps: masters, vouchers and their lines, plus Tally's standard names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)

# A raw XML child kept as sent (tag, text or children) so unmodelled tags survive a round trip.
Raw = tuple[str, "str | tuple[Raw, ...]"]

GROUP, LEDGER, STOCKGROUP, STOCKITEM = "GROUP", "LEDGER", "STOCKGROUP", "STOCKITEM"
UNIT, GODOWN, VOUCHERTYPE, COSTCENTRE = "UNIT", "GODOWN", "VOUCHERTYPE", "COSTCENTRE"
MASTER_KINDS = (GROUP, LEDGER, STOCKGROUP, STOCKITEM, UNIT, GODOWN, VOUCHERTYPE, COSTCENTRE)
KIND_LABEL = {
    GROUP: "Group", LEDGER: "Ledger", STOCKGROUP: "Stock Group", STOCKITEM: "Stock Item",
    UNIT: "Unit", GODOWN: "Godown", VOUCHERTYPE: "Voucher Type", COSTCENTRE: "Cost Centre",
}
PRIMARY_COST_CATEGORY = "Primary Cost Category"  # the one cost category a new company has
# Groups and ledgers share one name space in Tally, as do stock groups and stock items.
NAMESPACE = {
    GROUP: "accounts", LEDGER: "accounts", STOCKGROUP: "inventory", STOCKITEM: "inventory",
    UNIT: "units", GODOWN: "godowns", VOUCHERTYPE: "vouchertypes", COSTCENTRE: "costcentres",
}

# Reference §4: the standard chart of a new company ("" = Primary).
PREDEFINED_GROUPS: tuple[tuple[str, str], ...] = (
    ("Branch / Divisions", ""), ("Capital Account", ""), ("Current Assets", ""),
    ("Current Liabilities", ""), ("Direct Expenses", ""), ("Direct Incomes", ""),
    ("Fixed Assets", ""), ("Indirect Expenses", ""), ("Indirect Incomes", ""), ("Investments", ""),
    ("Loans (Liability)", ""), ("Misc. Expenses (ASSET)", ""), ("Purchase Accounts", ""),
    ("Sales Accounts", ""), ("Suspense A/c", ""),
    ("Bank Accounts", "Current Assets"), ("Bank OD A/c", "Loans (Liability)"),
    ("Cash-in-Hand", "Current Assets"), ("Deposits (Asset)", "Current Assets"),
    ("Duties & Taxes", "Current Liabilities"), ("Loans & Advances (Asset)", "Current Assets"),
    ("Provisions", "Current Liabilities"), ("Reserves & Surplus", "Capital Account"),
    ("Secured Loans", "Loans (Liability)"), ("Stock-in-Hand", "Current Assets"),
    ("Sundry Creditors", "Current Liabilities"), ("Sundry Debtors", "Current Assets"),
    ("Unsecured Loans", "Loans (Liability)"),
)
PREDEFINED_LEDGERS: tuple[tuple[str, str], ...] = (("Cash", "Cash-in-Hand"), ("Profit & Loss A/c", ""))
DEFAULT_GODOWN = "Main Location"
DEFAULT_BATCH = "Primary Batch"

# Reference §3 "Default voucher types".
DEFAULT_VOUCHER_TYPES: tuple[str, ...] = (
    "Sales", "Purchase", "Receipt", "Payment", "Journal", "Contra", "Credit Note", "Debit Note",
    "Sales Order", "Purchase Order", "Delivery Note", "Receipt Note", "Rejections In",
    "Rejections Out", "Stock Journal", "Physical Stock", "Material In", "Material Out",
    "Job Work In Order", "Job Work Out Order", "Memorandum", "Reversing Journal", "Payroll",
    "Attendance",
)
# Base types whose inventory lines move stock; orders, memoranda and Physical Stock do not.
STOCK_TYPES = frozenset({
    "Sales", "Purchase", "Delivery Note", "Receipt Note", "Credit Note", "Debit Note",
    "Rejections In", "Rejections Out", "Stock Journal", "Material In", "Material Out",
})
# Invoices whose lines are tracked to a Delivery/Receipt Note: the note already moved the stock.
INVOICE_TYPES = frozenset({"Sales", "Purchase", "Credit Note", "Debit Note"})
# Base types that post to the books (ledger balances).
ACCOUNTING_TYPES = frozenset({
    "Sales", "Purchase", "Receipt", "Payment", "Journal", "Contra", "Credit Note", "Debit Note",
    "Payroll",
})


@dataclass(slots=True, eq=False)
class Master:
    """One master (group, ledger, stock item, ...); fields not modelled stay in `fields`/`extra`."""

    kind: str
    name: str
    master_id: int
    guid: str
    alter_id: int
    parent: str = ""
    aliases: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    extra: list[Raw] = field(default_factory=list)
    predefined: bool = False
    base_unit: str = ""
    opening_qty: Decimal = ZERO
    opening_rate: Decimal | None = None
    opening_balance: Decimal = ZERO
    decimal_places: int = 0
    is_simple: bool = True
    prices: dict[str, list] = field(default_factory=dict)  # stock items: see prices.py


@dataclass(slots=True, eq=False)
class LedgerLine:
    """A ledger entry, or an item's accounting allocation."""

    ledger: Master
    amount: Decimal
    deemed_positive: bool
    is_party: bool = False
    tag: str = "ALLLEDGERENTRIES.LIST"
    extra: tuple[Raw, ...] = ()  # usually none: the shared empty tuple, not a list per line


@dataclass(slots=True, eq=False)
class Batch:
    """A batch allocation: godown plus order/tracking linkage."""

    godown: Master
    batch_name: str = DEFAULT_BATCH
    order_no: str = ""
    tracking_number: str = ""
    order_due_date: str = ""
    amount: Decimal | None = None
    actual_qty: Decimal | None = None
    billed_qty: Decimal | None = None
    extra: tuple[Raw, ...] = ()  # usually none: the shared empty tuple, not a list per line


@dataclass(slots=True, eq=False)
class InventoryLine:
    """An item line; `amount` counts towards the voucher total, `allocations` do not."""

    item: Master
    deemed_positive: bool
    amount: Decimal
    actual_qty: Decimal
    billed_qty: Decimal
    rate: Decimal | None = None
    batches: list[Batch] = field(default_factory=list)
    allocations: list[LedgerLine] = field(default_factory=list)
    tag: str = "ALLINVENTORYENTRIES.LIST"
    extra: tuple[Raw, ...] = ()  # usually none: the shared empty tuple, not a list per line

    def tracked(self) -> bool:
        """Whether a batch links this line to a delivery/receipt note."""
        return any(b.tracking_number for b in self.batches)


@dataclass(slots=True, eq=False)
class Voucher:
    """One voucher as stored; ids are assigned by the company when it is saved."""

    vtype: Master
    date: date
    number: str
    master_id: int = 0
    alter_id: int = 0
    guid: str = ""
    reference: str = ""
    party: Master | None = None
    narration: str = ""
    remote_id: str = ""
    view: str = ""
    cancelled: bool = False
    optional: bool = False
    ledger_lines: list[LedgerLine] = field(default_factory=list)
    inventory_lines: list[InventoryLine] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    extra: list[Raw] = field(default_factory=list)


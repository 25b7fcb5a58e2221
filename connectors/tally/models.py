"""Pydantic models of what we send to TallyPrime and what it sends back.

Amounts follow Tally's sign convention (reference §3 "Sign convention"): a debit is a
negative amount with ISDEEMEDPOSITIVE Yes, a credit a positive amount with No. The flag is
always derived from the sign, so the two can never disagree.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from connectors.tally.settings import ACCOUNTING_VIEW, BATCH_PRIMARY, INVOICE_VIEW

_CENT = Decimal("0.01")
# What XML 1.0 cannot hold (tab, newline and carriage return it can), lone surrogates included.
NOT_XML_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff"  # a regex character class's body
_NOT_XML = re.compile(f"[{NOT_XML_CHARS}]")


# Found by the fuzzer: a rate of 1E+26 passed the model and broke Decimal's 28 digits only when the batch's
# XML was written. Nothing real comes near a thousand trillion.
_LIMIT = Decimal(10) ** 15


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite() or not -_LIMIT < value < _LIMIT or value != value.quantize(_CENT):
        raise ValueError(f"amount {value} must be finite, under {_LIMIT:,} and have at most 2 decimal places")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 <= value < _LIMIT:
        raise ValueError(f"quantity/rate {value} must be finite, not negative and under {_LIMIT:,}")
    return value


Amount = Annotated[Decimal, AfterValidator(_two_places)]
Quantity = Annotated[Decimal, AfterValidator(_not_negative)]
Action = Literal["Create", "Alter", "Cancel", "Delete"]
View = Literal["Invoice Voucher View", "Accounting Voucher View"]


def _xml_text(value: str, info: ValidationInfo) -> str:
    # Found by the fuzzer: a name with a control character reached lxml only when the batch was
    # built, failing every voucher in it. Refused here, it fails only its own record (MappingError).
    if _NOT_XML.search(value):
        raise ValueError(f"{info.field_name} holds a character XML cannot carry (a control character)")
    return value


# Every text field is checked, and only text fields (a validator on "*" ran for dates, amounts and
# lists too: ~55 Python calls a voucher, where ~15 are text).
XmlText = Annotated[str, AfterValidator(_xml_text)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BillAllocation(_Model):
    """A bill-wise reference on a party line; its amount carries the same sign as the line."""

    name: XmlText
    bill_type: Literal["New Ref", "Agst Ref", "Advance", "On Account"] = "New Ref"
    amount: Amount
    credit_period: XmlText | None = None


class LedgerEntry(_Model):
    """One ledger line; negative amount = debit, positive = credit."""

    ledger_name: XmlText
    amount: Amount
    is_party: bool = False
    bill_allocations: list[BillAllocation] = Field(default_factory=list)
    cost_centre: XmlText | None = None  # CATEGORYALLOCATIONS.LIST -> COSTCENTREALLOCATIONS.LIST (reference §3)

    @property
    def is_deemed_positive(self) -> bool:
        """ISDEEMEDPOSITIVE: Yes for debits (negative amounts)."""
        return self.amount < 0


class InventoryEntry(_Model):
    """One stock item line; outward lines carry a positive amount, inward lines a negative one."""

    stock_item: XmlText
    quantity: Quantity
    unit: XmlText
    rate: Quantity
    amount: Amount
    godown: XmlText | None = None
    batch: XmlText = BATCH_PRIMARY
    order_no: XmlText | None = None
    order_due_date: date | None = None
    tracking_number: XmlText | None = None
    accounting_ledger: XmlText | None = None
    description: XmlText | None = None
    cost_centre: XmlText | None = None  # on the accounting allocation (the income line), reference §3

    @property
    def is_deemed_positive(self) -> bool:
        """ISDEEMEDPOSITIVE: Yes for inward lines (negative amounts)."""
        return self.amount < 0


class OrderRef(_Model):
    """An INVOICEORDERLIST.LIST entry linking a delivery note or invoice to its order."""

    order_no: XmlText
    basic_order_date: date


class Voucher(_Model):
    """A voucher to import. Alter/Cancel/Delete identify the target by MasterId (reference §3.7)."""

    voucher_type: XmlText
    action: Action = "Create"
    date: date
    voucher_number: XmlText | None = None
    reference: XmlText | None = None
    reference_date: date | None = None
    party_ledger: XmlText | None = None
    narration: XmlText | None = None
    ledger_entries: list[LedgerEntry] = Field(default_factory=list)
    inventory_entries: list[InventoryEntry] = Field(default_factory=list)
    order_refs: list[OrderRef] = Field(default_factory=list)
    master_id: int | None = None
    remote_id: XmlText | None = None
    is_invoice: bool = False
    view: View = INVOICE_VIEW

    def balance(self) -> Decimal:
        """Sum of all ledger and inventory amounts; Tally rejects anything but zero."""
        ledgers = sum((e.amount for e in self.ledger_entries), Decimal(0))
        return ledgers + sum((e.amount for e in self.inventory_entries), Decimal(0))

    @model_validator(mode="after")
    def _check(self) -> Voucher:
        if self.action != "Create" and self.master_id is None:
            # Reference §3.3/§9.8: identifying by date+number ignores the voucher type.
            raise ValueError(f"{self.action} needs master_id to identify the voucher")
        if self.view == ACCOUNTING_VIEW and self.inventory_entries:
            raise ValueError("inventory entries need the Invoice Voucher View")
        if self.action in ("Create", "Alter") and self.balance() != 0:
            raise ValueError(f"voucher does not balance: {self.balance()}")
        return self


class Ledger(_Model):
    """A ledger master. `parent` None/"" /"Primary" is sent as an empty PARENT (reference §4)."""

    kind: Literal["LEDGER"] = "LEDGER"
    name: XmlText
    parent: XmlText | None
    aliases: list[str] = Field(default_factory=list)
    action: Action = "Create"
    original_name: XmlText | None = None
    is_bill_wise_on: bool | None = None
    credit_period: XmlText | None = None
    opening_balance: Amount | None = None
    mailing_name: XmlText | None = None
    address: list[str] = Field(default_factory=list)
    state: XmlText | None = None
    country: XmlText | None = None
    pincode: XmlText | None = None
    gstin: XmlText | None = None
    gst_registration_type: XmlText | None = None
    email: XmlText | None = None
    applicable_from: date | None = None


class StockItem(_Model):
    """A stock item master; the SKU is usually its name or an alias (reference §4)."""

    kind: Literal["STOCKITEM"] = "STOCKITEM"
    name: XmlText
    parent: XmlText | None
    base_unit: XmlText
    aliases: list[str] = Field(default_factory=list)
    action: Action = "Create"
    original_name: XmlText | None = None
    part_no: XmlText | None = None
    description: XmlText | None = None


class Unit(_Model):
    """A simple unit of measure; its name is the symbol and may not contain spaces."""

    kind: Literal["UNIT"] = "UNIT"
    name: XmlText
    action: Action = "Create"
    original_name: XmlText | None = None
    formal_name: XmlText | None = None
    decimal_places: int = 0


class Godown(_Model):
    """A godown (location)."""

    kind: Literal["GODOWN"] = "GODOWN"
    name: XmlText
    parent: XmlText | None = None
    action: Action = "Create"
    original_name: XmlText | None = None


class Group(_Model):
    """An accounting group."""

    kind: Literal["GROUP"] = "GROUP"
    name: XmlText
    parent: XmlText | None
    action: Action = "Create"
    original_name: XmlText | None = None


class StockGroup(_Model):
    """A stock group."""

    kind: Literal["STOCKGROUP"] = "STOCKGROUP"
    name: XmlText
    parent: XmlText | None = None
    action: Action = "Create"
    original_name: XmlText | None = None


Master = Ledger | StockItem | Unit | Godown | Group | StockGroup


class LedgerRecord(_Model):
    """A ledger as read from a collection export."""

    name: XmlText
    aliases: list[str] = Field(default_factory=list)
    parent: XmlText | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    guid: XmlText | None = None
    master_id: int | None = None
    alter_id: int | None = None


class StockItemRecord(_Model):
    """A stock item as read from a collection export, with its closing balance for the period."""

    name: XmlText
    aliases: list[str] = Field(default_factory=list)
    base_unit: XmlText | None = None
    parent: XmlText | None = None
    closing_qty: Decimal | None = None
    closing_value: Decimal | None = None
    guid: XmlText | None = None
    master_id: int | None = None
    alter_id: int | None = None


class VoucherRecord(_Model):
    """A voucher as read from a collection export."""

    guid: XmlText | None = None
    master_id: int | None = None
    alter_id: int | None = None
    remote_id: XmlText | None = None
    voucher_type: XmlText
    date: date
    voucher_number: XmlText | None = None
    reference: XmlText | None = None
    party_ledger: XmlText | None = None
    narration: XmlText | None = None
    is_cancelled: bool = False
    ledger_entries: list[LedgerEntry] = Field(default_factory=list)
    inventory_entries: list[InventoryEntry] = Field(default_factory=list)


class VoucherId(_Model):
    """Who a voucher is, without its lines: enough to find it by a narration marker and to advance
    an AlterID cursor (read by `TallyClient.list_voucher_ids`)."""

    master_id: int
    alter_id: int
    voucher_type: XmlText
    date: date
    voucher_number: XmlText | None = None
    narration: XmlText | None = None
    is_cancelled: bool = False


class VoucherAmounts(VoucherId):
    """A voucher's identity and amounts, without the rest of its lines: what a check of totals needs
    (read by `TallyClient.list_voucher_amounts`). `ledger_lines` are (ledger, amount, is party)."""

    party_ledger: XmlText | None = None
    ledger_lines: tuple[tuple[str, Decimal, bool], ...] = ()
    inventory_amount: Decimal = Decimal(0)  # the sum of the stock lines' amounts


class CompanyRecord(_Model):
    """A loaded company and its alteration cursors (reference §6 "Incremental sync")."""

    name: XmlText
    guid: XmlText | None = None
    books_from: date | None = None
    last_voucher_date: date | None = None
    alt_mst_id: int | None = None
    alt_vch_id: int | None = None


class TallyStatus(_Model):
    """Result of a ping."""

    running: bool
    company_loaded: bool
    companies: list[str] = Field(default_factory=list)


class ImportResult(_Model):
    """Counters and line errors of one import reply (reference §5)."""

    created: int = 0
    altered: int = 0
    deleted: int = 0
    cancelled: int = 0
    combined: int = 0
    ignored: int = 0
    errors: int = 0
    exceptions: int = 0
    last_vch_id: int | None = None
    last_mid: int | None = None
    line_errors: list[str] = Field(default_factory=list)
    status: int | None = None

    def ok_for(self, expected: int) -> bool:
        """True only if every one of `expected` objects landed and nothing was flagged.

        Reference §5: ERRORS = 0, EXCEPTIONS = 0, counts match and no LINEERROR; the word
        "ERROR" in the text means nothing (tag names contain it).
        """
        landed = self.created + self.altered + self.deleted + self.cancelled
        return (
            self.errors == 0
            and self.exceptions == 0
            and not self.line_errors
            and landed == expected
            and self.status in (None, 1)
        )

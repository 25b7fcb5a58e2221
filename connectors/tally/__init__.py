"""TallyPrime connector: models, XML codec, HTTP client and the LAN agent (see `agent`)."""

from connectors.tally.client import Exchange, TallyClient
from connectors.tally.errors import (
    CompanyNotLoaded,
    HostileXmlError,
    TallyAuthError,
    TallyError,
    TallyOutcomeUnknown,
    TallyProtocolError,
    TallyRejected,
    TallyUnavailable,
)
from connectors.tally.models import (
    BillAllocation,
    CompanyRecord,
    Godown,
    Group,
    ImportResult,
    InventoryEntry,
    Ledger,
    LedgerEntry,
    LedgerRecord,
    OrderRef,
    StockGroup,
    StockItem,
    StockItemRecord,
    TallyStatus,
    Unit,
    Voucher,
    VoucherRecord,
)
from connectors.tally.stock_models import DatedRate, LevelRate, MasterIdentity, StockItemPrices

__all__ = [
    "BillAllocation", "CompanyNotLoaded", "CompanyRecord", "Exchange", "Godown", "Group", "HostileXmlError",
    "DatedRate", "ImportResult", "InventoryEntry", "LevelRate", "MasterIdentity", "StockItemPrices",
    "Ledger", "LedgerEntry", "LedgerRecord", "OrderRef", "StockGroup",
    "StockItem", "StockItemRecord", "TallyAuthError", "TallyClient", "TallyError",
    "TallyOutcomeUnknown", "TallyProtocolError", "TallyRejected", "TallyStatus",
    "TallyUnavailable", "Unit", "Voucher", "VoucherRecord",
]

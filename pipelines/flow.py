"""What a flow tells the application about itself, so `sync`, `replay`, `ledger` and the demo need
no branch per flow: adding a system adds `FlowSpec` entries, not `if`s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from state.ledger import Entry

if TYPE_CHECKING:
    from state.ledger_queries import LedgerQueries
    from state.staging import StagingStore

T = TypeVar("T")


@dataclass(frozen=True)
class PreviewSources:
    """What a replay preview may read: the merchant's settings (`ml_connector.config.Settings`, which includes
    every flow's settings), its staging store (the records and masters last read) and the sync ledger, read
    only (ids an earlier step recorded, e.g. a customer's Zoho contact id), all local: a preview never calls
    a system. `describe` lends the plan's own ledger when `ledger` is None."""

    settings: Any
    staging: StagingStore
    ledger: LedgerQueries | None = None
    _read: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def once(self, key: str, read: Callable[[], T]) -> T:
        """`read()` the first time a dry run asks for `key`, the same answer after: a plan of thousands of
        records reads each master table and each flow's settings once, not once a record."""
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]


WindowConfig = Callable[[datetime, datetime], dict]
ReplayConfig = Callable[[Sequence[Entry]], dict]
ReplayPreview = Callable[[Entry, PreviewSources], str | None]
DateConfig = Callable[[date], dict]


@dataclass(frozen=True)
class Replay:
    """How `replay` re-drives a flow's failed records: which ledger flow, and the run config for them.

    `preview` (optional; reads only `PreviewSources`, never a system) renders what would be sent for one
    failed record from the source record the ledger kept (e.g. the voucher XML), or raises the error the
    record would fail with again; without it a dry run shows that stored source record itself. `target`
    names the system written to, for the dry run.
    """

    ledger_flow: str
    what: str  # "order(s)", "shipment(s)": for the user
    run_config: ReplayConfig
    preview: ReplayPreview | None = None
    target: str = ""


@dataclass(frozen=True)
class FlowSpec:
    """One runnable flow: its CLI name, Dagster job, ledger flows and how to aim it."""

    name: str
    job: str
    description: str
    ledger_flows: tuple[str, ...] = ()
    failed_metrics: tuple[tuple[str, str], ...] = ()  # (asset path, metadata key) counting failed records
    window_config: WindowConfig | None = None  # `sync --start/--end`
    date_config: DateConfig | None = None  # `sync --date` (e.g. a settlement day)
    replay: Replay | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PairDefinitions:
    """What one system pair adds to the code location; `pipelines/definitions.py` joins them."""

    assets: Sequence = ()
    jobs: Sequence = ()
    schedules: Sequence = ()
    sensors: Sequence = ()
    resources: dict = field(default_factory=dict)
    rule_packs: Sequence = ()  # reconciliation (pipelines.reconciliation.pack.RulePack)

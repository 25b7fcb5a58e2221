"""What a target system offers the poster: find by key, create, alter, cancel.

The poster owns the ledger protocol; a target owns its system's rules. For TallyPrime (no
idempotency) `find` reads vouchers back by their narration marker and `create` is a batch import
settled by a read-back. For an upsert target (ShipStation `createorder` by `orderKey`, Zoho Books by
reference number or a unique custom field, Acumatica PUT) `create` and `alter` are the same upsert
and `find` is a GET by the key. Errors split three ways, declared by each target:
`not_delivered` (certainly not applied: the claims are released and may be sent again),
`outcome_unknown` (may have been applied: the claims stay pending and the next run looks the keys
up before sending anything), and per-record refusals returned in the outcome. A target may learn
the ids of what it created later (`deferred`, then `settle`): TallyPrime reads a window of clean
batches back in one export instead of one per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipelines.posting.poster import PostItem
    from state.ledger import Claim


@dataclass
class Created:
    """A create call's outcome, by external key: landed (target id), refused (error) or unknown (reason)."""

    landed: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    deferred: set[str] = field(default_factory=set)  # certainly landed; their ids come with `settle`
    records: dict[str, Any] = field(default_factory=dict)  # what a read-back found of a landed key, if it read one


@dataclass(frozen=True)
class Outcome:
    """An alter or cancel call's outcome: `error` None means it was applied."""

    error: str | None = None


class Target(Protocol):
    """One system the poster writes to. `name` is the ledger's target column."""

    name: str
    not_delivered: tuple[type[BaseException], ...]
    outcome_unknown: tuple[type[BaseException], ...]

    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        """External key -> target id for every pending key that exists in the target."""
        ...

    def create(self, items: Sequence[PostItem]) -> Created:
        """Create each item's record; every item's key ends up in one of the three outcomes."""
        ...

    def settle(self) -> Created:
        """Ids of every key an earlier `create` deferred (a target that never defers returns nothing)."""
        ...

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        """Replace the record `target_id` with what `item` says now."""
        ...

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        """Cancel (void) the record `target_id`."""
        ...

"""Push offers to Walmart through the sync ledger: only what changed since Walmart last accepted it.

One ledger flow per kind (inventory, price), keyed by SKU; the payload hash is the value sent
(quantity, or currency and amount). The ledger answers per SKU: `skip` when the value equals the last
*accepted* one, `create`/`alter` otherwise (a SKU Walmart refused stays `failed` with Walmart's message
and is claimed again next cycle), `busy` when a live run holds it, `resolve` when a dead run left it
pending: inventory and price updates are absolute, so re-sending is the lookup.

At most `threshold` SKUs go as single calls; more go as bulk feeds of up to 10,000 items, polled until
PROCESSED (or ERROR), whose item-level results decide each SKU. A feed still processing when the wait
ends leaves its SKUs pending without an owner and is remembered (`outbound_feeds.OutstandingFeeds`): the
next run settles it from Walmart's results, leaves its SKUs alone while Walmart still works on it, and
sends them again only once it is older than `max_feed_age` (or Walmart no longer knows it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from connectors.common.errors import AuthError, ConnectorError, NotFound, RetryableError
from connectors.walmart.items import (
    MAX_FEED_ITEMS,
    FeedItem,
    FeedStatus,
    InventoryUpdate,
    PriceUpdate,
    WalmartItems,
)
from pipelines.walmart_tally.outbound_feeds import OutstandingFeeds
from state.ledger import Candidate, Claim, SyncLedger

TARGET = "walmart"
INVENTORY_FLOW = "tally_walmart.inventory"
PRICE_FLOW = "tally_walmart.price"
Kind = Literal["inventory", "price"]
Update = InventoryUpdate | PriceUpdate
TRANSIENT_ITEM_STATUSES = frozenset({"SYSTEM_ERROR", "TIMEOUT_ERROR", "INPROGRESS"})


@dataclass(frozen=True)
class Change:
    """One SKU's wanted value and the Tally stock item it comes from."""

    update: Update
    stock_item: str

    @property
    def digest(self) -> str:
        if isinstance(self.update, InventoryUpdate):
            return str(self.update.quantity)
        return f"{self.update.currency} {self.update.amount}"


@dataclass
class PushResult:
    sent: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # in a feed still processing when the wait ended
    busy: list[str] = field(default_factory=list)
    unchanged: int = 0
    resolved: int = 0
    feeds: list[str] = field(default_factory=list)
    single_calls: int = 0
    settled_late: list[str] = field(default_factory=list)  # accepted in a feed an earlier run stopped waiting for


@dataclass
class FeedOptions:
    threshold: int = 25  # more SKUs than this go as a feed
    wait_seconds: float = 600.0
    poll_seconds: float = 10.0
    max_feed_age: timedelta = timedelta(hours=6)  # an unfinished feed older than this is sent again (§4: up to ~4 h)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class OfferPusher:
    """Sends one kind of change (inventory or price) for many SKUs, every claim settled in the ledger."""

    def __init__(self, items: WalmartItems, ledger: SyncLedger, owner: str, kind: Kind,
                 options: FeedOptions | None = None, ship_node: str | None = None,
                 outstanding: OutstandingFeeds | None = None) -> None:
        self.items, self.ledger, self.owner, self.kind = items, ledger, owner, kind
        self.outstanding = outstanding
        self.flow = INVENTORY_FLOW if kind == "inventory" else PRICE_FLOW
        self.options = options or FeedOptions()
        self.ship_node = ship_node
        self.result = PushResult()
        self._open: set[str] = set()

    def push(self, changes: Sequence[Change]) -> PushResult:
        in_flight = self._settle_outstanding()
        by_sku = {c.update.sku: c for c in changes}
        candidates = [Candidate(sku, f"{self.kind}:{sku}", c.digest, detail={"stock_item": c.stock_item})
                      for sku, c in by_sku.items()]
        claims = self.ledger.claim(self.flow, TARGET, candidates, self.owner)
        claimed = [by_sku[c.source_id] for c in self._sort(claims)]
        waiting = [c.update.sku for c in claimed if in_flight.get(c.update.sku) == c.digest]
        if waiting:  # the same value is still in a feed Walmart is processing: give the claims back untouched
            self.ledger.leave_unresolved(self.flow, TARGET, waiting, "still in a Walmart feed being processed")
            self.result.pending += waiting
            self.result.resolved -= len(waiting)  # nothing to resolve yet: Walmart is still at it
        todo = [c for c in claimed if in_flight.get(c.update.sku) != c.digest]
        if self.outstanding is not None:
            self.outstanding.forget(self.kind, [c.update.sku for c in todo])
        self._open = {c.update.sku for c in todo}
        try:
            if len(todo) > self.options.threshold:
                for start in range(0, len(todo), MAX_FEED_ITEMS):
                    self._feed(todo[start:start + MAX_FEED_ITEMS])
            else:
                for change in todo:
                    self._single(change)
        except BaseException as exc:
            self._fail(sorted(self._open), f"not sent: the run stopped at {type(exc).__name__}: {exc}",
                       transient=True)
            raise
        return self.result

    def _sort(self, claims: Sequence[Claim]) -> list[Claim]:
        todo = []
        for claim in claims:
            if claim.action == "busy":
                self.result.busy.append(claim.source_id)
            elif claim.action == "skip":
                self.result.unchanged += 1
            else:
                self.result.resolved += claim.action == "resolve"
                todo.append(claim)
        return todo

    # -- single calls --------------------------------------------------------------------------------
    def _single(self, change: Change) -> None:
        sku = change.update.sku
        self.result.single_calls += 1
        try:
            if isinstance(change.update, InventoryUpdate):
                self.items.set_inventory(change.update, self.ship_node)
            else:
                self.items.set_price(change.update)
        except AuthError:
            raise  # the credentials, not the SKU: every claim is given back by `push`
        except ConnectorError as exc:
            self._fail([sku], str(exc), transient=isinstance(exc, RetryableError))
            return
        if self.outstanding is not None:
            self.outstanding.forget(self.kind, [sku])
        self._posted([(sku, change.digest)], sku)

    # -- feeds ---------------------------------------------------------------------------------------
    def _feed(self, chunk: Sequence[Change]) -> None:
        skus = [c.update.sku for c in chunk]
        try:
            feed_id = self._submit(chunk)
        except AuthError:
            raise
        except ConnectorError as exc:
            self._fail(skus, f"feed not accepted: {exc}", transient=isinstance(exc, RetryableError))
            return
        self.result.feeds.append(feed_id)
        if self.outstanding is not None:
            self.outstanding.add(self.kind, feed_id, [(c.update.sku, c.digest) for c in chunk])
        status = self.items.wait_for_feed(feed_id, timeout=self.options.wait_seconds,
                                          interval=self.options.poll_seconds, sleep=self.options.sleep,
                                          clock=self.options.clock)
        if not status.done:
            self.ledger.leave_unresolved(self.flow, TARGET, skus, f"feed {feed_id} still {status.status} "
                                                                  f"after {self.options.wait_seconds:.0f}s")
            self.result.pending += skus
            self._open.difference_update(skus)
        else:
            self._settle({c.update.sku: c.digest for c in chunk}, feed_id, status)

    def _submit(self, chunk: Sequence[Change]) -> str:
        if self.kind == "inventory":
            return self.items.submit_inventory_feed([c.update for c in chunk], self.ship_node)  # type: ignore[misc]
        return self.items.submit_price_feed([c.update for c in chunk])  # type: ignore[misc]

    def _settle(self, sent: dict[str, str], feed_id: str, status: FeedStatus) -> list[str]:
        """Each SKU of a finished feed posted or failed from its item result; the SKUs accepted."""
        if status.status == "ERROR":
            self._fail(list(sent), f"feed {feed_id} failed: {'; '.join(status.errors) or 'ERROR'}", transient=False)
            results: dict[str, FeedItem] = {}
        else:
            results = {i.sku: i for i in self.items.feed_items(feed_id) if i.sku in sent}
        accepted = [sku for sku in sent if sku in results and results[sku].ok]
        self._posted([(sku, sent[sku]) for sku in accepted], feed_id)
        for sku in sent:
            item = results.get(sku)
            if item is None and status.status != "ERROR":
                self._fail([sku], f"feed {feed_id} lists no result for this SKU", transient=True)
            elif item is not None and not item.ok:
                self._fail([sku], f"{item.status}: {'; '.join(item.errors) or item.status} (feed {feed_id})",
                           transient=item.status in TRANSIENT_ITEM_STATUSES)
        if self.outstanding is not None:
            self.outstanding.drop(feed_id)
        return accepted

    def _settle_outstanding(self) -> dict[str, str]:
        """Settle remembered feeds Walmart has finished; SKU -> value of those still in flight."""
        in_flight: dict[str, str] = {}
        outstanding = self.outstanding
        if outstanding is None:
            return in_flight
        for feed in outstanding.of_kind(self.kind):
            try:
                status = self.items.feed_status(feed.feed_id)
            except NotFound:
                status = None  # Walmart no longer knows it: its SKUs are sent again
            if status is not None and status.done:
                entries = self.ledger.outcomes(self.flow, TARGET, list(feed.skus))
                open_skus = {s: d for s, d in feed.skus.items()
                             if (e := entries.get(s)) is not None and e.state == "pending" and e.owner is None}
                self.result.settled_late += self._settle(open_skus, feed.feed_id, status)
            elif status is None or datetime.now(UTC) - feed.submitted_at > self.options.max_feed_age:
                outstanding.drop(feed.feed_id)
            else:
                in_flight.update(feed.skus)
        return in_flight

    # -- ledger --------------------------------------------------------------------------------------
    def _posted(self, sent: Sequence[tuple[str, str]], target_id: str) -> None:
        """`(sku, value)` pairs Walmart accepted."""
        self.ledger.record_posted(self.flow, TARGET, [(sku, target_id, digest, False) for sku, digest in sent])
        self.result.sent += [sku for sku, _ in sent]
        self._open.difference_update(sku for sku, _ in sent)

    def _fail(self, skus: Sequence[str], error: str, *, transient: bool) -> None:
        self.ledger.record_failed(self.flow, TARGET, [(sku, error, None) for sku in skus], transient=transient)
        self.result.failed += [{"sku": sku, "error": error} for sku in skus]
        self._open.difference_update(skus)

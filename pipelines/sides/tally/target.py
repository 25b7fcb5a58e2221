"""TallyPrime as a posting target: narration marker, batch import settled by read-back, MasterId alter.

TallyPrime has no idempotency and processes a batch object by object with no rollback, without
saying which object failed (reference §5). A batch whose import reply is clean (CREATED equals the
batch, no errors, exceptions or line errors) is known to have landed whole, so it is not read back
at once: its claims stay `pending` (the ledger knows the write may have landed) and one read-back
by marker settles every such batch of a window (`settle`, only what changed since the window's
first write: the AlterID cursor, §6, and only the window's dates). A batch that was not clean is
read back at once, with whatever is waiting, and Tally's own CREATED count is checked against what
the read-back found *before* any voucher is re-sent alone: when they agree, the missing ones
are certainly absent and each is re-sent alone to learn its own error; when Tally created more than
was found, the rest are looked up once more and whatever is still unaccounted for stays unresolved
(never re-sent) until a later run finds it. Crash recovery looks a key up over the dates of every
earlier unresolved attempt as well as today's, so a voucher whose order was re-dated since the lost
write is still found.

With `read_amounts`, settling reads each voucher's party and line amounts as well as who it is
(`list_voucher_amounts`) and hands them on in `Created.records`, so a flow's voucher check can
compare the vouchers it just created then, instead of exporting them all again after the run: the
exports a run makes no longer grow with its size twice over (reference §9: each export walks the
company's vouchers).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

from connectors.tally.client import TallyClient
from connectors.tally.errors import CompanyNotLoaded, TallyOutcomeUnknown, TallyRejected, TallyUnavailable
from connectors.tally.models import ImportResult, Voucher, VoucherId
from pipelines.posting.poster import PostItem
from pipelines.posting.target import Created, Outcome
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.markers import index_by_marker
from state.audit_hook import AuditHook
from state.ledger import Claim


class TallyTarget:
    """Posts vouchers of one type; `PostItem.payload` is a `Voucher` (None: cancel by MasterId)."""

    name = TARGET
    not_delivered = (TallyUnavailable, CompanyNotLoaded, TallyRejected)
    outcome_unknown = (TallyOutcomeUnknown,)

    def __init__(self, tally: TallyClient, voucher_type: str, audit: AuditHook | None = None, *,
                 read_amounts: bool = False) -> None:
        self.tally, self.voucher_type = tally, voucher_type
        self.audit = audit or AuditHook(None)
        self.read_amounts = read_amounts
        self._read: dict[str, VoucherId] = {}  # what the last read-backs found of each key, until it lands
        self._alter_floor: int | None = None
        self._deferred: list[PostItem] = []  # landed whole by their import reply, not read back yet (`_receipt`)

    def check(self, item: PostItem) -> str | None:
        """A voucher that does not net to zero is refused before anything is claimed or sent."""
        balance = item.payload.balance()
        return None if balance == 0 else f"voucher does not net to zero ({balance})"

    # --- finding ------------------------------------------------------------------------------
    def find(self, pending: Sequence[tuple[PostItem, Claim]]) -> dict[str, str]:
        """MasterIds of pending keys, searched over every date any of their attempts carried."""
        dates: set[date] = set()
        for item, claim in pending:
            dates.update(_dates([item.candidate.detail or {}, *claim.earlier]))
        records = self.tally.list_voucher_ids(self.voucher_type, min(dates, default=None), max(dates, default=None))
        return _master_ids(index_by_marker(records, {i.key for i, _ in pending}))

    def _read_back(self, items: Sequence[PostItem], *, since_floor: bool = True) -> dict[str, str]:
        dates = [i.date if i.payload is None else i.payload.date for i in items]
        floor = self._alter_floor if since_floor else None
        export = self.tally.list_voucher_amounts if self.read_amounts else self.tally.list_voucher_ids
        records = export(self.voucher_type, min(dates), max(dates), alter_id_after=floor)
        if since_floor:
            self._alter_floor = max([self._alter_floor or 0, *(r.alter_id or 0 for r in records)])
        found = index_by_marker(records, {i.key for i in items})
        if self.read_amounts:
            self._read.update(found)
        return _master_ids(found)

    # --- writing ------------------------------------------------------------------------------
    def create(self, items: Sequence[PostItem]) -> Created:
        out = Created()
        if self._alter_floor is None:
            self._alter_floor = self.tally.company().alt_vch_id or 0
        result = self._send([i.payload for i in items], items)
        if _clean(result, len(items)):
            self._deferred.extend(_receipt(i) for i in items)
            out.deferred.update(i.key for i in items)
            return out
        waiting, self._deferred = self._deferred, []
        with _written():
            found = self._read_back([*waiting, *items]) if (result.created or waiting) else {}
            self._settle_landed(waiting, found, out)
            self._settle_batch(list(items), result, found, out)
        self._read.clear()
        return out

    def settle(self) -> Created:
        """One read-back for every batch whose reply said it landed whole since the last settle."""
        out, waiting, self._deferred = Created(), self._deferred, []
        if waiting:
            with _written():
                self._settle_landed(waiting, self._read_back(waiting), out)
        self._read.clear()
        return out

    def _settle_landed(self, items: list[PostItem], found: Mapping[str, str], out: Created) -> None:
        """Items Tally said it created: found now, found without the AlterID floor, or unresolved."""
        missing = self._land(items, found, out)
        if not missing:
            return
        again = self._read_back(missing, since_floor=False)
        self._land(missing, again, out)
        out.unknown.update({i.key: "Tally reported it created but no read-back found it; left to be looked up"
                                   " before anything is re-sent" for i in missing if i.key not in again})

    def _settle_batch(self, items: list[PostItem], result: ImportResult, found: Mapping[str, str],
                      out: Created) -> None:
        missing = self._land(items, found, out)
        if not missing:
            return
        landed = len(items) - len(missing)
        if result.created > landed:  # Tally says more landed than the read-back saw: look again
            again = self._read_back(missing, since_floor=False)
            missing = self._land(missing, again, out)
            if result.created > len(items) - len(missing):
                reason = (f"Tally reported {result.created} created but {len(items) - len(missing)} were found;"
                          " left to be looked up before anything is re-sent")
                out.unknown.update({i.key: reason for i in missing})
                return
        if len(items) == 1:
            out.refused[items[0].key] = import_errors(result)
            return
        for item in missing:  # certainly absent: re-send alone to learn its own error
            alone = self._send([item.payload], [item])
            self._settle_batch([item], alone, self._read_back([item]) if alone.created else {}, out)

    def _land(self, items: Sequence[PostItem], found: Mapping[str, str], out: Created) -> list[PostItem]:
        """Items the read-back found land (their MasterId, and with `read_amounts` what was read of them);
        the rest are returned."""
        missing = []
        for item in items:
            if item.key not in found:
                missing.append(item)
                continue
            out.landed[item.key] = found[item.key]
            if (record := self._read.pop(item.key, None)) is not None:
                out.records[item.key] = record
        return missing

    def alter(self, item: PostItem, target_id: str) -> Outcome:
        return self._change(item, int(target_id), "Alter")

    def cancel(self, item: PostItem, target_id: str) -> Outcome:
        return self._change(item, int(target_id), "Cancel")

    def _change(self, item: PostItem, master_id: int, action: str) -> Outcome:
        result = self._send([self.identity_voucher(item, master_id, action)], [item])
        done = result.altered if action == "Alter" else (result.cancelled or result.altered)
        if done >= 1 and not result.errors and not result.exceptions and not result.line_errors:
            return Outcome()
        return Outcome(import_errors(result))

    def identity_voucher(self, item: PostItem, master_id: int, action: str) -> Voucher:
        if item.payload is not None:
            return item.payload.model_copy(update={"action": action, "master_id": master_id})
        return Voucher(voucher_type=self.voucher_type, action=action, master_id=master_id, date=item.date,
                       voucher_number=item.number, ledger_entries=[], inventory_entries=[])

    def _send(self, vouchers: list[Voucher], items: Sequence[PostItem]) -> ImportResult:
        self.audit.source_ids = [i.candidate.source_id for i in items]
        try:
            return self.tally.import_vouchers(vouchers)
        except TallyRejected as exc:
            if exc.result is None:
                raise
            return exc.result  # partly or wholly refused: the read-back settles each voucher


def _receipt(item: PostItem) -> PostItem:
    """A created voucher waiting for its read-back: its key and the voucher's date are all it needs."""
    return replace(item, raw={}, payload=None, source=None, date=item.payload.date)


@contextmanager
def _written() -> Iterator[None]:
    """After an import went through, Tally going away leaves outcomes unknown, never "not sent":
    the claims must be looked up, not released and sent again."""
    try:
        yield
    except (TallyUnavailable, CompanyNotLoaded, TallyRejected) as exc:
        raise TallyOutcomeUnknown(f"written, but Tally stopped answering before the write was settled: {exc}") \
            from exc


def _clean(result: ImportResult, sent: int) -> bool:
    """Reference §5: every object created, nothing flagged. Only then is the reply itself the proof."""
    return (result.created == sent and not result.errors and not result.exceptions and not result.line_errors
            and not result.altered and not result.combined and not result.ignored)


def import_errors(result: ImportResult) -> str:
    if result.line_errors:
        return "; ".join(result.line_errors)
    return f"Tally reported {result.errors} error(s) and {result.exceptions} exception(s) with no text"


def _dates(details: Sequence[dict]) -> set[date]:
    out = set()
    for detail in details:
        value = detail.get("date")
        if isinstance(value, date):
            out.add(value)
        elif isinstance(value, str) and value:
            out.add(date.fromisoformat(value[:10]))
    return out


def _master_ids(found: dict[str, VoucherId]) -> dict[str, str]:
    return {key: str(record.master_id) for key, record in found.items()}

"""Creating the Tally masters flows need (party ledgers, stock items), each once, with an audit trail.

Tally keys masters by exact name and refuses a duplicate, so a master cannot be created twice; the
sync ledger still records each one so the audit trail shows who created it, and a failed creation
is kept with its error. A partly refused batch is settled by Tally's own list of names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

from connectors.tally.client import TallyClient
from connectors.tally.errors import TallyRejected
from connectors.tally.models import Ledger, Master, StockItem
from pipelines.sides.tally import TARGET
from state.audit_hook import AuditHook
from state.ledger import Candidate, SyncLedger, current_owner


def party_ledger_name(*candidates: str | None) -> str | None:
    """The party ledger a customer's records use: the first non-blank candidate, spaces collapsed."""
    for candidate in candidates:
        if candidate and candidate.strip():
            return " ".join(candidate.split())
    return None


def party_ledger(name: str, email: str | None, group: str) -> Ledger:
    """The ledger master for a customer; the email is kept on the ledger for the accountant."""
    return Ledger(name=name, parent=group, email=email or None)


def stock_item(sku: str, description: str | None, unit: str, group: str | None) -> StockItem:
    """A stock item named by its SKU (reference §4, SKU mapping option (a))."""
    return StockItem(name=sku, parent=group or None, base_unit=unit, description=description)


@dataclass(frozen=True)
class MasterWant:
    """One master a flow needs: `key` is its ledger identity, `version` what it should say."""

    master: Master
    key: str
    version: str
    needed_by: str = ""


@dataclass
class MasterReport:
    needed: int = 0
    created: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)


class MasterCreator:
    """Creates masters of one kind in small batches; `existing` lists the names Tally has now."""

    def __init__(self, tally: TallyClient, ledger: SyncLedger, flow: str, run_id: str,
                 existing: Callable[[], set[str]], *, batch_size: int = 25, audit: AuditHook | None = None) -> None:
        self.tally, self.ledger, self.flow, self.existing = tally, ledger, flow, existing
        self.owner, self.batch_size = current_owner(run_id), batch_size
        self.audit = audit or AuditHook(None)
        self.report = MasterReport()

    def create(self, wants: Iterable[MasterWant]) -> MasterReport:
        iterator = iter(wants)
        while batch := list(islice(iterator, self.batch_size)):
            self.report.needed += len(batch)
            self._create(batch)
        return self.report

    def _create(self, batch: list[MasterWant]) -> None:
        cands = [Candidate(w.master.name, w.key, w.version) for w in batch]
        claims = {c.source_id: c for c in self.ledger.claim(self.flow, TARGET, cands, self.owner)}
        todo = [w for w in batch if claims[w.master.name].action in ("create", "alter", "resolve")]
        if not todo:
            return
        self.audit.source_ids = [w.master.name for w in todo]
        try:
            self.tally.import_masters([w.master for w in todo])
            present, errors = None, []
        except TallyRejected as exc:  # partly refused: Tally's own list says which masters exist now
            present, errors = self.existing(), exc.line_errors
        posted, failed = [], []
        for want in todo:
            name = want.master.name
            if present is None or name in present:
                posted.append((name, name, want.version, False))
                self.report.created.append(name)
            else:
                failed.append((name, "; ".join(errors) or f"Tally did not create {name!r}", None))
                self.report.failures.append({"name": name, "needed_by": want.needed_by, "error": failed[-1][1]})
        self.ledger.record_posted(self.flow, TARGET, posted)
        self.ledger.record_failed(self.flow, TARGET, failed)

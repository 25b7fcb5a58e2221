"""What the Zoho targets share: one record at a time, a refusal per record, a stop that keeps what landed.

Zoho has no batch write. Each item is sent alone; Zoho's refusal of one record (a ``ZohoApiError``)
fails that record only. When a cap or an outage stops a batch part-way, what already landed is
returned as landed, the rest as unknown (looked up by key before anything is re-sent), and the
stop is raised on the next call, so the poster ends the run without losing or repeating a record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connectors.common.errors import NotFound
from connectors.zoho_books.errors import ZohoApiError
from pipelines.posting import Created, Outcome, PostItem
from pipelines.sides.zoho_books import NOT_DELIVERED, OUTCOME_UNKNOWN, TARGET
from state.audit_hook import AuditHook
from state.ledger import Claim


def refusal(exc: ZohoApiError | NotFound) -> str:
    code = getattr(exc, "code", None)
    where = f"code {code}" if code is not None else f"HTTP {exc.status}" if exc.status else ""
    return f"Zoho refused it ({where}): {exc.message}" if where else exc.message


class OneByOne:
    """Base of the Zoho targets: `create` sends items one by one through `_create_one`."""

    name = TARGET
    not_delivered = NOT_DELIVERED
    outcome_unknown = OUTCOME_UNKNOWN

    def __init__(self, audit: AuditHook | None = None) -> None:
        self.halted: BaseException | None = None
        self.audit = audit

    def about(self, item: PostItem) -> None:
        """Tell the audit trail which source record the next requests are for."""
        if self.audit is not None:
            self.audit.source_ids = [item.candidate.source_id]

    def check(self, item: PostItem) -> str | None:
        return None

    @staticmethod
    def find_by(pending: Sequence[tuple[PostItem, Claim]], lookup: Callable[[str], list[dict]],
                id_field: str) -> dict[str, str]:
        """Key -> id of the first record `lookup(key)` finds, for every pending key Zoho holds."""
        found: dict[str, str] = {}
        for item, _ in pending:
            records = lookup(item.key)
            if records:
                found[item.key] = str(records[0][id_field])
        return found

    def settle(self) -> Created:
        return Created()  # an upsert answers with the id at once: nothing is deferred

    def create(self, items: Sequence[PostItem]) -> Created:
        self._raise_if_halted()
        out = Created()
        for n, item in enumerate(items):
            self.about(item)
            try:
                out.landed[item.key] = self._create_one(item)
            except (ZohoApiError, NotFound) as exc:
                out.refused[item.key] = refusal(exc)
            except NOT_DELIVERED + OUTCOME_UNKNOWN as exc:
                if not (out.landed or out.refused):
                    raise  # nothing of this batch was sent: the poster releases or keeps it whole
                self.halted = exc
                out.unknown.update((rest.key, f"not sent, the run stopped: {exc}") for rest in items[n:])
                break
        return out

    def change(self, item: PostItem, fn: Callable[[], Outcome]) -> Outcome:
        """Run an alter or cancel of `item`; Zoho's refusal of the record becomes its failure."""
        self._raise_if_halted()
        self.about(item)
        try:
            return fn()
        except (ZohoApiError, NotFound) as exc:
            return Outcome(refusal(exc))

    def _raise_if_halted(self) -> None:
        if self.halted is not None:
            raise self.halted

    def _create_one(self, item: PostItem) -> str:
        raise NotImplementedError

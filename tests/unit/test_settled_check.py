"""The voucher check done as vouchers are settled: the settle's read-back carries each new voucher's
amounts, so the check compares them then and exports only what the settle did not read."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from connectors.tally.models import VoucherAmounts, VoucherId
from pipelines.shipstation_tally import checks
from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from pipelines.shipstation_tally.posting import FLOW, TARGET, OrderTotals
from pipelines.sides.tally.target import TallyTarget
from state.ledger import Candidate, SyncLedger
from tests.unit.test_tally_target import TYPE, FakeTally, RecordPoster, live, orders


class AmountsTally(FakeTally):
    """The fake Tally, also answering the amounts export (party line -10, stock line 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.amount_exports = 0

    def list_voucher_amounts(self, voucher_type, from_date=None, to_date=None, *, alter_id_after=None):
        self.amount_exports += 1
        return [VoucherAmounts(**r.model_dump(include=set(VoucherId.model_fields)), party_ledger="Asha",
                               ledger_lines=(("Asha", Decimal("-10"), True),), inventory_amount=Decimal("10"))
                for r in self.list_voucher_ids(voucher_type, from_date, to_date, alter_id_after=alter_id_after)]


class CheckedPoster(RecordPoster):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.totals = OrderTotals()
        self.settled = checks.SettledCheck(inward=False)

    def prepare(self, record):
        item = super().prepare(record)
        self.totals.note(item.candidate.source_id, Decimal("10.00") if record[2] != "off" else Decimal("11.00"))
        return item

    def on_read_back(self, items, records):
        self.settled.add(items, records, self.totals)


@pytest.fixture
def ledger(tmp_path):
    return SyncLedger(tmp_path / "ledger.sqlite3")


def test_settling_with_amounts_compares_every_new_voucher_in_the_same_exports(ledger):
    tally = AmountsTally()
    records = orders(120)
    records[7] = ("8", records[7][1], "off")  # its order says 11.00; the voucher carries 10.00
    records[50] = ("51", records[50][1], "refuse")  # a refused batch settles at once, what waited with it
    poster = CheckedPoster(TallyTarget(tally, TYPE, read_amounts=True), ledger, "run", batch_size=10,
                           batch_ceiling=10, settle_every=50)
    poster.post(records)
    assert poster.report.created == 119 and len(live(tally)) == 119
    assert len(tally.exports) == tally.amount_exports and tally.amount_exports <= 5  # no export added
    assert len(poster.settled.seen) == 119 and "51" not in poster.settled and "8" in poster.settled
    [row] = poster.settled.mismatches
    assert (row["order_id"], row["expected"], row["found"]) == ("8", "11.00", "10")
    assert row["problem"] == "party amount differs from the order total"


def test_without_amounts_nothing_is_compared_at_settle(ledger):
    tally = AmountsTally()
    poster = CheckedPoster(TallyTarget(tally, TYPE), ledger, "run", batch_size=10, batch_ceiling=10)
    poster.post(orders(30))
    assert tally.amount_exports == 0 and not poster.settled.seen and poster.report.created == 30


class NoExports:
    def __init__(self, records=()) -> None:
        self.calls, self.records = [], list(records)

    def list_voucher_amounts(self, voucher_type, from_date=None, to_date=None, *, alter_id_after=None):
        self.calls.append((from_date, to_date))
        return self.records


def test_the_check_exports_only_what_the_settle_did_not_read(tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    day = date(2026, 4, 2)
    cands = [Candidate(str(i), f"ss-order-{i}", "h", detail={"order_number": f"SO-{i}",
                                                             "date": (day + timedelta(days=i)).isoformat()})
             for i in range(1, 7)]
    ledger.claim(FLOW, TARGET, cands, "test")
    ledger.record_posted(FLOW, TARGET, [(c.source_id, f"{c.source_id}", "h", False) for c in cands])
    settled = checks.SettledCheck(inward=False)
    settled.seen.update([1, 2, 3, 4])
    settled.mismatches.append({"order_number": "SO-2", "order_id": "2", "master_id": "2", "expected": "5",
                               "found": "4", "problem": "party amount differs from the order total"})
    fine = VoucherAmounts(master_id=5, alter_id=1, voucher_type="Sales Order", date=day + timedelta(days=5),
                          party_ledger="Asha", ledger_lines=(("Asha", Decimal("-10"), True),),
                          inventory_amount=Decimal(10))
    tally = NoExports([fine])
    readback = checks.ReadBack(tally, OrderVoucherConfig(), {"5": Decimal("10.00"), "6": Decimal("10.00")})
    result = checks.voucher_match_result(ledger, readback, checks.scan_ledger(ledger, range(1, 7)), settled)
    assert tally.calls == [(day + timedelta(days=5), day + timedelta(days=6))]  # 5 and 6 only, one export
    rows = {r["order_id"]: r["problem"] for r in result.metadata["mismatches"].value.records
            for r in [r.data]}
    assert rows == {"2": "party amount differs from the order total",
                    "6": "not in Tally (deleted, or its date moved out of the run's range)"}
    assert result.metadata["read_back"].value == 5 and not result.passed

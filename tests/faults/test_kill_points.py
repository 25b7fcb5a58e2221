"""Where the harness puts its 20 kill points (no servers: plans are built from a baseline's traffic counts),
and the Walmart account seeded at the harness's size."""

from __future__ import annotations

import pytest

from bench.faults.flows import BY_NAME
from bench.faults.scenarios import Baseline, kill_plans
from sandbox.merchant import generate_merchant
from sandbox.merchant_walmart import generate_walmart


def base(writes: int, target_reads: int = 8, source_reads: int = 30) -> Baseline:
    return Baseline(frozenset(), 0, writes, 1, 0, 30.0, 0, target_reads=target_reads, source_reads=source_reads,
                    cpu_seconds=10.0)


def moment(plan) -> tuple:
    """What a plan does, as the proxies see it: the same moment twice would be the same point."""
    return tuple((proxy, r.action, r.method, r.path, r.body, r.nth, r.on_hit is not None)
                 for proxy, rules in sorted(plan.rules.items()) for r in rules) + (
        tuple((proxy, r.action, r.nth) for proxy, rules in sorted((plan.then or {}).items()) for r in rules),
        plan.kill_at)


@pytest.mark.parametrize("flow", ["walmart-returns-to-tally", "walmart-orders-to-tally", "shipments-to-acumatica",
                                  "acumatica-to-shipstation", "shipstation-to-zoho"])
@pytest.mark.parametrize("writes", [1, 2, 5, 21, 958])
def test_every_flow_gets_20_distinct_kill_points(flow, writes):
    plans = kill_plans(BY_NAME[flow], base(writes), 5)
    assert len(plans) == 20
    assert len({p.name for p in plans}) == 20
    assert len({moment(p) for p in plans}) == 20


def test_a_flow_of_few_writes_is_killed_at_its_reads_too_spread_through_the_run():
    plans = kill_plans(BY_NAME["walmart-returns-to-tally"], base(1, target_reads=6, source_reads=40), 5)
    reads = [p for p in plans if p.name.startswith("kill-read-") and "back" not in p.name]
    tally = sorted(r.nth for p in reads for r in p.rules.get("tally_agent", []))
    walmart = sorted(r.nth for p in reads for r in p.rules.get("walmart", []))
    assert tally == [1, 2, 3, 4, 5, 6]  # all six of its target reads, then the source takes the rest
    assert len(walmart) == 20 - 4 - 6 and walmart[0] == 1 and walmart[-1] == 40


def test_a_run_with_fewer_requests_than_points_is_killed_at_moments_spread_through_its_duration():
    plans = kill_plans(BY_NAME["walmart-settlements-to-tally"], base(2, target_reads=4, source_reads=2), 5)
    assert len({moment(p) for p in plans}) == 20
    timed = [p.kill_at for p in plans if p.kill_at is not None]
    on_wire = [p for p in plans if p.rules]
    assert len(on_wire) == 2 * 3 + 1 + 4 + 2 and len(timed) == 20 - len(on_wire)
    assert timed == sorted(timed) and 0 < timed[0] < timed[-1] < 10.0  # the baseline's 10 s, ends excluded


def test_mid_batch_kills_of_per_record_targets_fall_between_the_after_commit_points():
    plans = kill_plans(BY_NAME["shipments-to-acumatica"], base(36), 5)
    after = {p.rules["acumatica"][0].nth for p in plans if p.name.startswith("kill-after-")}
    mid = {p.rules["acumatica"][0].nth for p in plans if p.name.startswith("kill-mid-batch-")}
    assert after == {1, 10, 19, 27, 36}
    assert len(mid) == 5 and not mid & after


def test_the_walmart_account_is_seeded_at_the_size_asked_and_the_default_is_unchanged():
    merchant = generate_merchant(seed=7, n_orders=60)
    default, specials = generate_walmart(merchant, 7)
    again, _ = generate_walmart(merchant, 7, 40, 1)
    assert sorted(default.orders) == sorted(again.orders) and len(default.orders) == 43  # 40 + 3 specials
    assert [r for r in default.returns] == [specials.refunded_return, specials.open_return]

    big, big_specials = generate_walmart(merchant, 7, 400, 10)
    assert len(big.orders) == 403
    refunded = [rma for rma, r in big.returns.items() if rma != big_specials.open_return]
    assert len(refunded) == 10
    settlement = big.settlements[big_specials.report_date]  # the refunds fall inside its period
    assert all(settlement.start <= big.returns[rma].modified <= settlement.end for rma in refunded)


def test_a_flow_of_one_write_and_one_read_still_meets_every_transport_and_tally_fault():
    from bench.faults.scenarios import tally_plans, transport_plans

    case, one = BY_NAME["walmart-returns-to-tally"], base(1, target_reads=3, source_reads=1)
    plans = transport_plans(case, False, one) + tally_plans(case, False, one)
    rules = [r for p in plans for rs in p.rules.values() for r in rs]
    assert rules and all(r.nth == 1 for r in rules)  # the only write, the only read
    closing = next(p for p in plans if p.name == "tally-closed")  # at the read-back after its only write
    assert closing.tally is None and [r.body for r in closing.rules["tally_agent"]] == ["<ID>MLVoucherIds</ID>"]
    wide = transport_plans(BY_NAME["shipments-to-tally"], False, base(16, source_reads=300))
    assert {r.nth for p in wide for rs in p.rules.values() for r in rs} == {1, 2, 3}  # unchanged for busy runs

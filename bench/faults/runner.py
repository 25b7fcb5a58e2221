"""Which rows a harness run makes and in what order, one after another or `jobs` at a time.

Every row is its own world (sandbox, proxies, LAN agent, state directory), so rows run in parallel in
separate worker processes (spawned: each has its own simulators, GIL and temporary directories). A
worker gets names only (flow, plan, the baseline): it rebuilds the plan, whose fault hooks are
closures. Kill points go first, every flow in turn, then the other faults, so a run cut short has kill
points of every flow. A row whose world cannot be built or whose baseline fails is reported as a
failed row (`ok` = NO) with the error, and the run goes on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from bench.faults.flows import BY_NAME, FlowCase
from bench.faults.harness import Row, baseline, run_plan
from bench.faults.scenarios import Baseline, Plan, disk_full, kill_plans, tally_plans, token_plans, transport_plans


def plans(case: FlowCase, base: Baseline, kills: int, quick: bool) -> list[Plan]:
    """Every scenario for this flow, kill points first."""
    out = kill_plans(case, base, kills) + transport_plans(case, quick, base)
    if case.target.kind == "tally":
        out += tally_plans(case, quick, base)
    return out + token_plans(case, base) + [disk_full(base)]


def chosen(case: FlowCase, base: Baseline, kills: int, quick: bool, faults: list[str]) -> list[Plan]:
    return [plan for plan in plans(case, base, kills, quick)
            if not faults or any(plan.name.startswith(f) for f in faults)]


def run_named(flow: str, plan_name: str, base: Baseline, size: int, seed: int, kills: int, quick: bool) -> Row:
    """One row, from names (what a worker process is given)."""
    case = BY_NAME[flow]
    [plan] = [p for p in plans(case, base, kills, quick) if p.name == plan_name]
    try:
        return run_plan(case, plan, base, size, seed)
    except Exception as exc:  # noqa: BLE001 - one broken row must not end a long run
        return failed_row(flow, plan.kind, exc)


def run_baseline(flow: str, size: int, seed: int) -> tuple[Baseline | None, Row]:
    try:
        return baseline(BY_NAME[flow], size, seed)
    except Exception as exc:  # noqa: BLE001
        return None, failed_row(flow, "none (baseline)", exc)


def failed_row(flow: str, fault: str, exc: BaseException) -> Row:
    last = traceback.format_exception_only(exc)[-1].strip().replace("\n", " ")
    return Row(flow, fault, 0, 0, 0, 0, 0, 0, 0.0, runs=0, note=f"harness error: {last[:300]}", intact=False)


def run(flows: list[FlowCase], size: int, seed: int, kills: int, faults: list[str], quick: bool,
        jobs: int = 1, on_row: Callable[[Row, list[Row]], None] | None = None) -> list[Row]:
    """Every chosen row of every flow; `on_row(row, rows so far in table order)` as each one ends."""
    order = {case.name: n for n, case in enumerate(flows)}
    done: list[tuple[tuple[int, int, int], Row]] = []

    def finished(key: tuple[int, int, int], row: Row) -> None:
        done.append((key, row))
        done.sort(key=lambda pair: pair[0])
        if on_row:
            on_row(row, [r for _, r in done])

    if jobs <= 1:
        for case in flows:
            base, row = run_baseline(case.name, size, seed)
            finished((order[case.name], 0, 0), row)
            for n, plan in enumerate(chosen(case, base, kills, quick, faults) if base else [], 1):
                finished((order[case.name], 1, n), run_named(case.name, plan.name, base, size, seed, kills, quick))
        return [row for _, row in done]

    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        started = {pool.submit(run_baseline, case.name, size, seed): case for case in flows}
        bases: dict[str, Baseline] = {}
        for future in as_completed(started):
            case = started[future]
            base, row = future.result()
            finished((order[case.name], 0, 0), row)
            if base is not None:
                bases[case.name] = base
        # Kill points first, taken from every flow in turn, then the rest the same way: a run cut short has
        # kill points (and then other faults) of every flow, spread through each run.
        queue: list[tuple[str, int, Plan]] = []
        for case in flows:
            if case.name in bases:
                queue += [(case.name, n, p) for n, p in enumerate(chosen(case, bases[case.name], kills, quick,
                                                                         faults), 1)]
        queue.sort(key=lambda item: (not item[2].name.startswith("kill"), item[1], order[item[0]]))
        rows: dict[Future, tuple[int, int, int]] = {
            pool.submit(run_named, flow, plan.name, bases[flow], size, seed, kills, quick): (order[flow], 1, n)
            for flow, n, plan in queue}
        for future in as_completed(rows):
            finished(rows[future], future.result())
    return [row for _, row in done]

"""Every fault kind, one after another, in ONE world: the reduced ShipStation -> TallyPrime run CI can afford.

Each step imports a few new orders into ShipStation (so every fault meets fresh writes), arms one
fault (or a few that do not stop a run), runs `ml-connector sync` and disarms; the next step's run is
also the previous step's recovery. At the end the sync runs clean until nothing is pending, and
TallyPrime is counted against an oracle read from ShipStation itself: every order that is not
cancelled and whose SKUs Tally knows must have exactly one voucher; the one order with an unknown
SKU must be failed with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.faults.flows import BY_NAME, held, postable_orders
from bench.faults.harness import MAX_RECOVERY, Row, failed_keys, race, verdict
from bench.faults.proxy import Rule
from bench.faults.world import Outcome, World, open_world

CASE = BY_NAME["shipstation-to-tally"]
WRITE, READ_BACK = CASE.target.write, CASE.target.read_back
NEW_ORDERS = 5


@dataclass
class Step:
    kind: str
    rules: Callable[[World], dict[str, list[Rule]]] = lambda world: {}
    tally: dict | None = None
    twins: int = 1
    fsize: int | None = None
    race: bool = False  # new orders by webhook; the webhook-driven run races a polling sync
    seen: list[str] = field(default_factory=list)


def _partial(world: World) -> Callable[[], object]:
    return lambda: world.tally_faults({"partial": 2})


STEPS = (
    Step("SIGKILL before write", lambda w: {"tally_agent": [Rule("kill_before", nth=1, **WRITE)]}),
    Step("SIGKILL after commit", lambda w: {"tally_agent": [Rule("kill_after", nth=1, **WRITE)]}),
    Step("SIGKILL during read-back", lambda w: {"tally_agent": [Rule("kill_before", nth=1, **READ_BACK)]}),
    Step("SIGKILL mid-batch", lambda w: {"tally_agent": [Rule("kill_after", nth=1, on_hit=_partial(w), **WRITE)]}),
    Step("429 storm + 5xx burst (reads and writes)", lambda w: {
        "tally_agent": [Rule("status", nth=1, times=3, status=429, retry_after=1, **WRITE)],
        "shipstation": [Rule("status", method="GET", nth=1, times=2, status=429, retry_after=1),
                        Rule("status", method="GET", nth=1, times=2, status=503)]}),
    Step("5xx on a write", lambda w: {"tally_agent": [Rule("status", nth=1, times=2, status=502, **WRITE)]}),
    Step("stall (write delivered late) + reset on a read", lambda w: {
        "tally_agent": [Rule("stall", nth=1, seconds=1.0, forward=True, **WRITE)],
        "shipstation": [Rule("reset", method="GET", nth=2)]}),
    Step("reset after a write committed", lambda w: {"tally_agent": [Rule("reset", nth=1, **WRITE)]}),
    Step("two syncs together", twins=2),
    Step("webhook run racing a polling run", race=True),
    Step("Tally unreachable 2 s", lambda w: {"tally": [Rule("refuse", nth=1, seconds=2.0, **WRITE)]}),
    Step("Tally blank EXCEPTIONS", tally={"blank": 2, "blank_kind": "vouchers"}),
    Step("Tally partial batch", lambda w: {"tally_agent": [Rule("pass", nth=1, on_hit=_partial(w), **WRITE)]}),
    Step("Tally company closed", tally={"close_after": 0}),
    Step("disk full", fsize=128 * 1024),
)


def run_step(world: World, step: Step) -> list[Outcome]:
    if step.race:
        return race(world, [CASE.name])[0]
    world.sandbox.import_orders(NEW_ORDERS)
    world.arm(step.rules(world))
    if step.tally:
        world.tally_faults(step.tally)
    procs = [world.start("sync", CASE.name, fsize=step.fsize) for _ in range(step.twins)]
    return [world.finish(proc) for proc in procs]


def run_gauntlet(size: int = 40, seed: int = 7, steps: tuple[Step, ...] = STEPS) -> Row:
    started = time.monotonic()
    with open_world(size, seed) as world:
        runs = 0
        for step in steps:
            step.seen = [verdict(outcome) for outcome in run_step(world, step)]
            runs += len(step.seen)
            world.disarm()
        for _ in range(MAX_RECOVERY):
            runs += 1
            outcome = world.sync(CASE.name)
            if outcome.succeeded and not world.ledger().counts(CASE.ledger_flow).get("pending", 0):
                break
        found, expected = held(CASE, world.sandbox, before={}), postable_orders(world.sandbox)
        failed = failed_keys(world, CASE)
        lost = expected - set(found) - failed
        note = "; ".join(f"{s.kind}: {'/'.join(s.seen)}" for s in steps)
        return Row(CASE.name, f"gauntlet of {len(steps)} faults", len(expected), len(set(found) & expected),
                   sum(n - 1 for n in found.values()), len(lost), len(failed), 1, time.monotonic() - started,
                   runs, note)



"""Run one flow under one fault in a fresh world, recover, and count what its target holds.

Each run: a fresh sandbox (same seed, so the same merchant), the fault armed, `ml-connector sync` as
a subprocess in its own process group (killed by the proxy where the fault says), then recovery:
the same sync without faults until a run succeeds with no claim left pending (at most
`MAX_RECOVERY` runs), plus `ml-connector replay` where the fault left records failed on purpose.
The target is then counted through the simulator's control plane and compared with the fault-free
baseline of the same flow: `lost` = baseline records the target does not hold and the ledger does
not hold as failed; `duplicates` = objects beyond one per record.

A row is only as good as its fault: each row also says whether the fault met the run (`fault_met`:
every proxy rule hit its request, the kill fired, Tally's fault fired, the simulator counted the refusal,
a write was refused for the full disk). A row whose fault did not is not ok, whatever its counts.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, replace

from bench.faults import disk
from bench.faults.flows import BY_NAME, ORACLES, FlowCase, counter, held, sync_args
from bench.faults.proxy import Rule
from bench.faults.scenarios import SOURCE_READ, Baseline, Plan, disk_cap, target_proxy
from bench.faults.webhook_race import DRAIN, receiver, wait_for_events
from bench.faults.world import Outcome, World, ledger_bytes, open_world

MAX_RECOVERY = 4
RACE_ORDERS = 20


@dataclass
class Row:
    flow: str
    fault: str
    expected: int
    posted: int
    duplicates: int
    lost: int
    failed: int
    permanent: int  # failures expected at the end: the merchant's own bad records (the baseline's)
    seconds: float
    runs: int = 1
    note: str = ""
    refused: tuple[int, int] | None = None  # (refusals injected, records failed with a reason by the fault run)
    intact: bool = True  # the ledger passed SQLite's integrity check after the fault (disk full)
    met: bool | None = None  # the fault met the run (None: nothing to miss, e.g. a baseline or two syncs)

    @property
    def counts_ok(self) -> bool:
        """Nothing duplicated, lost or failed beyond what is expected, and the ledger intact."""
        refusals_ok = self.refused is None or self.refused[0] == self.refused[1]
        return (self.duplicates == 0 and self.lost == 0 and self.failed == self.permanent and refusals_ok
                and self.intact)

    @property
    def ok(self) -> bool:
        """The counts are right and the fault was met: a fault that never fired proves nothing."""
        return self.counts_ok and self.met is not False


def prepare(world: World, case: FlowCase) -> Counter[str]:
    """Run the flows this one needs first (and its setup); what the target holds before the run under test."""
    for name in case.first:
        outcome = world.sync(*sync_args(BY_NAME[name], world.sandbox))
        if not outcome.succeeded:
            raise RuntimeError(f"{name} (run before {case.name}) failed:\n{outcome.output[-2000:]}")
    if case.setup is not None:
        case.setup(world.sandbox)
    return counter(case)(world.sandbox)


def baseline(case: FlowCase, size: int, seed: int) -> tuple[Baseline, Row]:
    """The flow without faults, counting its writes and read-backs on the wire."""
    with open_world(size, seed) as world:
        before = prepare(world, case)
        counting = [Rule("status", nth=10**9, **case.target.write), Rule("status", nth=10**9, **case.target.read_back),
                    Rule("status", nth=10**9, **case.target.read)]
        source = Rule("status", nth=10**9, **SOURCE_READ)
        world.arm({target_proxy(case): counting, case.source: [source]})
        started = time.monotonic()
        proc = world.start("sync", *sync_args(case, world.sandbox))
        cpu = world.watch_cpu(proc, files=True)
        outcome = world.finish(proc)
        seconds = time.monotonic() - started
        cpu.join()
        if not outcome.succeeded:
            raise RuntimeError(f"{case.name}: the fault-free run failed:\n{outcome.output[-3000:]}")
        found = held(case, world.sandbox, before)
        failed = world.ledger().counts(case.ledger_flow).get("failed", 0)
        oracle = ORACLES.get(case.name, lambda sandbox: set())(world.sandbox)
        if missing := oracle - set(found) - failed_keys(world, case):
            raise RuntimeError(f"{case.name}: the fault-free run did not post {sorted(missing)[:5]}")
        base = Baseline(frozenset(found), failed, counting[0].seen, counting[1].seen, ledger_bytes(world.home),
                        seconds, sum(n - 1 for n in found.values()), all_failed(world), counting[2].seen, source.seen,
                        cpu.used, disk_cap(cpu.sizes), disk.disk_room(cpu.blocks))
    row = Row(case.name, "none (baseline)", len(found), len(found), base.duplicates, 0, failed, failed, seconds,
              note=f"{base.writes} writes, {base.read_backs} read-backs, {base.target_reads} {case.target.kind} "
                   f"reads, {base.source_reads} {case.source} reads")
    return base, row


def run_plan(case: FlowCase, plan: Plan, base: Baseline, size: int, seed: int) -> Row:
    with open_world(size, seed) as world:
        plan.world = world
        before = prepare(world, case)
        args = sync_args(case, world.sandbox)
        started = time.monotonic()
        probed, tally_fired = plan.probe(world) if plan.probe else 0, tally_log(world) if plan.tally else 0
        world.arm(plan.rules)
        if plan.tally:
            world.tally_faults(plan.tally)
        filled = bool(plan.room) and disk.fill_up(world.home, plan.room)
        watches: list = []
        if plan.race_webhook:
            first, extra = race(world, args)
            base = replace(base, keys=base.keys | extra)
        else:
            procs = [world.start("sync", *args, fsize=plan.fsize) for _ in range(plan.twins)]
            watches = [world.watch_cpu(proc, plan.kill_at) for proc in procs if plan.kill_at]
            first = [world.finish(proc) for proc in procs]
        injected = plan.permanent(world)
        if plan.probe:
            probed = plan.probe(world) - probed
        if plan.tally:
            tally_fired = tally_log(world) - tally_fired
        if filled:  # space freed (reading the ledger's WAL needs a little), files as the run left them
            disk.free_up(world.home)
        integrity = ledger_integrity(world) if plan.fsize or plan.room else "ok"
        refused = all_failed(world) - base.failed_anywhere if plan.refusals else None
        world.disarm()
        runs, failed = recover(world, case, plan, args)
        seconds = time.monotonic() - started
        row = count(world, case, base, before, seconds, first)
        row.fault, row.runs, row.failed, row.permanent = plan.kind, len(first) + len(runs), failed, base.failed
        row.note += "; then " + ", ".join(verdict(o) for o in runs)
        row.met, said = fault_met(plan, world, watches, first, tally_fired, probed)
        row.note += "".join(f"; {part}" for part in said)
        if integrity != "ok":
            row.intact, row.note = False, f"ledger corrupt after the fault: {integrity}; {row.note}"
        elif plan.fsize or plan.room:
            row.note += "; ledger intact after the fault (PRAGMA integrity_check)"
        if plan.room and not filled:
            row.note += "; no tmpfs could be mounted"
        if refused is not None:
            row.refused = (injected, refused)
            row.note += f"; {injected} refusals injected, {refused} records failed with a reason"
        return row


DISK_SIGNS = ("File too large", "[Errno 27]", "database or disk is full", "disk I/O error", "No space left",
              "[Errno 28]")


def fault_met(plan: Plan, world: World, watches: list, first: list[Outcome], tally_fired: int = 0,
              probed: int = 0) -> tuple[bool | None, list[str]]:
    """Whether the plan's fault met the run, and what shows it (None: a plan with nothing that can miss,
    e.g. two syncs started together). Every part of the fault must have met it: each proxy rule its
    request (the re-run's too: a kill during read-back), a CPU-second kill its moment, Tally's armed
    fault an import, the count a `probe` reads a rise (a request refused for it), a full disk a write
    (the first run's output names the refused write, and the product's frame that made it)."""
    checks: list[tuple[bool, str]] = []
    if plan.kill_at is not None:
        killed = any(w.killed for w in watches)
        checks.append((killed, "killed at that CPU second" if killed else "ended before it"))
    rules = [r for rules in (*plan.rules.values(), *(plan.then or {}).values()) for r in rules]
    if rules:
        missed = sum(1 for r in rules if not r.fired)
        said = (f"{sum(p.kills for p in world.proxies.values())} kill(s) fired" if plan.name.startswith("kill")
                else f"injected {sum(r.fired for r in rules)}x")
        checks.append((not missed, said + (f" ({missed} of {len(rules)} never met their request)" if missed else "")))
    if plan.tally:
        checks.append((tally_fired > 0, f"Tally's fault fired {tally_fired}x"))
    if plan.probe is not None:
        checks.append((probed > 0, f"{probed} request(s) refused for it"))
    if plan.fsize or plan.room:
        refused = refused_write(first)
        checks.append((refused is not None, f"a write refused: {refused}" if refused else "no write refused"))
    if not checks:
        return None, []
    met = all(ok for ok, _ in checks)
    return met, [said for _, said in checks] + ([] if met else ["fault not met"])


OUR_FRAME = re.compile(r'File "[^"]*/((?:state|pipelines|connectors|ml_connector)/[^"]+)", line \d+, in (\w+)')


def refused_write(outcomes: list[Outcome]) -> str | None:
    """The first line of the runs' output that says a write was refused for the file cap, and the product's
    own frame that made it, when a traceback shows one (None: no write was refused)."""
    for outcome in outcomes:
        lines = outcome.output.splitlines()
        for n, line in enumerate(lines):
            if any(sign in line for sign in DISK_SIGNS):
                said = " ".join(line.split())[:160]
                # The traceback that follows, up to the error it ends with: its deepest frame of ours.
                until = next((k for k in range(n + 1, len(lines)) if any(sign in lines[k] for sign in DISK_SIGNS)),
                             len(lines))
                frames = [m for later in lines[n + 1:until] for m in [OUR_FRAME.search(later)] if m]
                return said + (f" (in {frames[-1][1]} {frames[-1][2]})" if frames else "")
    return None


def tally_log(world: World) -> int:
    """How many faults Tally's control plane has fired so far in this world."""
    return len(world.tally_control("GET", "/__sandbox/faults")["fired"])


def race(world: World, args: list[str]) -> tuple[list[Outcome], frozenset[str]]:
    """New orders arrive by webhook; the webhook-driven run and a polling sync start together."""
    with receiver(world):
        imported = world.sandbox.import_orders(RACE_ORDERS)["orderIds"]
        wait_for_events(world, 1)
        procs = [world.start(argv=DRAIN), world.start("sync", *args)]
        return [world.finish(proc) for proc in procs], frozenset(f"ss-order-{i}" for i in imported)


def ledger_integrity(world: World) -> str:
    """SQLite's own verdict on the ledger file the faulted run left behind."""
    path = world.home / "ledger.sqlite3"
    if not path.exists():
        return "ok"
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def verdict(outcome: Outcome) -> str:
    return "killed" if outcome.code is None else "ok" if outcome.succeeded else "failed"


def all_failed(world: World) -> int:
    """Records failed with a reason in any ledger flow (a flow may post another's records first, e.g.
    shipments sync their orders' vouchers, so a refused order voucher fails in the orders' flow)."""
    return len(world.ledger().entries(None, "failed"))


def failed_keys(world: World, case: FlowCase) -> set[str]:
    return {e.external_key for e in world.ledger().entries(case.ledger_flow, "failed")}


def recover(world: World, case: FlowCase, plan: Plan, args: list[str]) -> tuple[list[Outcome], int]:
    """Re-run without faults until clean (a sync re-drives records that failed before), then, if the
    plan says so, `replay` what still failed: (the runs it took, records failed with a reason before any replay).

    A plan's `then` rules arm the first re-run (a kill during its read-back)."""
    if plan.then:
        world.arm(plan.then)
    runs: list[Outcome] = []
    for _ in range(MAX_RECOVERY):
        runs.append(world.sync(*args))
        world.disarm()
        if runs[-1].succeeded and not world.ledger().counts(case.ledger_flow).get("pending", 0):
            break
    failed = len(failed_keys(world, case))
    if plan.replay and failed:
        runs.append(world.replay(case.name))
    return runs, failed


def count(world: World, case: FlowCase, base: Baseline, before: Counter[str], seconds: float,
          first: list[Outcome]) -> Row:
    """The row of a finished run (`runs`, `failed` and `permanent` are the caller's to set)."""
    found = held(case, world.sandbox, before)
    ledger = world.ledger()
    failed_ids = failed_keys(world, case)
    lost = base.keys - set(found) - failed_ids
    notes = [f"first run {verdict(o)}" for o in first]
    pending = ledger.counts(case.ledger_flow).get("pending", 0)
    if pending:
        notes.append(f"{pending} still pending")
    if extra := set(found) - base.keys:
        notes.append(f"{len(extra)} not in baseline")
    if lost:
        notes.append("lost e.g. " + ", ".join(sorted(lost)[:3]))
    return Row(case.name, "", len(base.keys), len(set(found) & base.keys), sum(n - 1 for n in found.values()),
               len(lost), len(failed_ids), 0, seconds, note="; ".join(notes))

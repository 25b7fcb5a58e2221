"""The fault scenarios: for one flow, what each run injects, where, and what it means to have recovered.

Kill points are placed from the fault-free baseline's traffic (how many writes and read-backs a run
makes), spread evenly through the run, in four kinds:
- ``before write``: SIGKILL as the k-th write leaves, before it reaches the target;
- ``after commit``: the target commits the k-th write, the sync dies before the answer reaches it
  (between the write and the ledger update);
- ``mid-batch``: TallyPrime commits only the first half of the k-th batch and drops the connection,
  and the sync dies then (other targets take one request per record or a bulk upsert, so there it is
  a kill after a write half-way between two of the `after commit` points);
- ``read-back``: the sync dies after the k-th write; the re-run that resolves its claims is killed
  at its first read-back (the lookup by key), and a third run recovers.

A flow whose run makes too few writes for 20 distinct points of those kinds (a Walmart return batch, a
settlement, ShipStation's bulk order creation) gets the rest at other moments, spread the same way:
``SIGKILL at read n`` of its target (Tally exports, Zoho/Acumatica/ShipStation GETs: the masters and
lookups it reads between writes) and of its source (the pages of orders, labels, returns it reads);
and a run with fewer requests than that (a settlement) at moments spread through its fault-free run's
CPU seconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.faults import disk
from bench.faults.flows import FlowCase
from bench.faults.proxy import Rule

KILL_KINDS = ("before write", "after commit", "mid-batch", "read-back")


@dataclass(frozen=True)
class Baseline:
    """What a fault-free run did: the oracle every faulty run is compared with."""

    keys: frozenset[str]
    failed: int
    writes: int
    read_backs: int
    ledger_bytes: int
    seconds: float
    duplicates: int
    failed_anywhere: int = 0  # failed records in every ledger flow, not only this flow's
    target_reads: int = 0  # requests of the target's `read` kind a fault-free run makes
    source_reads: int = 0  # GETs to the source system a fault-free run makes
    cpu_seconds: float = 0.0  # CPU the fault-free run's process group used
    disk_cap: int = 0  # bytes no file may pass for the state directory to fill up half-way through (`disk_cap`)
    disk_room: int = 0  # bytes the state directory grew by half-way through the run's writing (`disk.disk_room`)


@dataclass
class Plan:
    name: str
    kind: str  # the column "fault"
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    tally: dict[str, Any] | None = None  # knobs for sandbox/tally/faults.py, armed before the run
    twins: int = 1  # syncs started together
    fsize: int | None = None  # RLIMIT_FSIZE of the sync (disk full, where no tmpfs can be mounted)
    room: int | None = None  # disk full: the state directory a tmpfs with this many bytes free (bench/faults/disk.py)
    then: dict[str, list[Rule]] | None = None  # rules for the first recovery run
    replay: bool = False  # recovery also re-drives failed records (`ml-connector replay`)
    # Refusals the fault injected (the fault-free baseline's own failures aside): each must leave its
    # record failed with a reason after the faulted run (`refusals`), and a later run post it.
    permanent: Callable[[Any], int] = field(default=lambda world: 0)
    refusals: bool = False
    race_webhook: bool = False  # new orders by webhook: a webhook-driven run races a polling sync
    kill_at: float | None = None  # SIGKILL the faulted run once it has used this many CPU seconds (off the wire)
    world: Any = None  # the World it runs in, set by the harness (hooks reach the simulators through it)
    # A count a simulator keeps that the fault raises when it meets the run (e.g. Walmart's 401s): read before
    # and after the faulted run; unchanged means the fault never reached the product.
    probe: Callable[[Any], int] | None = None

    def hook(self, system: str, path: str, body: Any = None) -> Callable[[], None]:
        """An `on_hit` that posts `body` to a simulator's control plane (`system` as in World.sandbox_url)."""

        def call() -> None:
            url = self.world.sandbox_url(system)
            httpx.post(f"{url}{path}", json=body if body is not None else {}, timeout=30).raise_for_status()

        return call


def spread(count: int, total: int) -> list[int]:
    """`count` positions spread evenly over 1..total (fewer when the run has fewer writes)."""
    if total <= 1 or count <= 1:
        return [(total + 1) // 2 or 1] * min(count, 1)  # one point: half-way through the run
    return sorted({1 + round(i * (total - 1) / (count - 1)) for i in range(count)})


def target_proxy(case: FlowCase) -> str:
    return {"tally": "tally_agent", "zoho": "zoho", "shipstation": "shipstation",
            "acumatica": "acumatica"}[case.target.kind]


SOURCE_READ = {"method": "GET"}


def kill_plans(case: FlowCase, base: Baseline, per_kind: int) -> list[Plan]:
    """`per_kind` points of each kind (`KILL_KINDS`) where the run has that many writes; the rest of the
    `4 * per_kind` at reads of the target and of the source."""
    plans = write_kills(case, base, per_kind)
    return plans + read_kills(case, base, per_kind * len(KILL_KINDS) - len(plans))


def read_kills(case: FlowCase, base: Baseline, need: int) -> list[Plan]:
    """`need` kills before the n-th read, half at the target's reads and half at the source's (either
    takes the other's share when it reads too little), each spread through the run."""
    if need <= 0:
        return []
    on_target = min(base.target_reads, (need + 1) // 2)
    on_source = min(base.source_reads, need - on_target)
    on_target = min(base.target_reads, need - on_source)
    target, name = target_proxy(case), case.target.kind
    plans = [Plan(f"kill-read-{name}-{n}", f"SIGKILL at {name} read {n} of {base.target_reads}",
                  {target: [Rule("kill_before", nth=n, **case.target.read)]})
             for n in spread(on_target, base.target_reads)]
    plans += [Plan(f"kill-read-{case.source}-{n}", f"SIGKILL at {case.source} read {n} of {base.source_reads}",
                   {case.source: [Rule("kill_before", nth=n, **SOURCE_READ)]})
              for n in spread(on_source, base.source_reads)]
    return plans + timed_kills(base, need - len(plans))


def timed_kills(base: Baseline, count: int) -> list[Plan]:
    """A run too short on the wire for its share of points (a few returns, one settlement) is killed at
    moments spread through the fault-free run's CPU seconds: between requests (starting up, staging,
    mapping, writing the ledger). CPU seconds are the run's own progress, whatever the machine's load
    (wall-clock moments drifted past the end of a run once the load dropped)."""
    plans = []
    for i in range(max(count, 0)):
        share = (i + 1) / (count + 1)
        plans.append(Plan(f"kill-at-{round(share * 100)}pct", f"SIGKILL at {share:.0%} of the run's CPU "
                          f"({share * base.cpu_seconds:.1f} of {base.cpu_seconds:.1f} s)",
                          kill_at=share * base.cpu_seconds))
    return plans


def write_kills(case: FlowCase, base: Baseline, per_kind: int) -> list[Plan]:
    target, write, read = target_proxy(case), case.target.write, case.target.read_back
    points = spread(per_kind, base.writes)
    plans = []
    for n in points:
        plans.append(Plan(f"kill-before-{n}", f"SIGKILL before write {n}",
                          {target: [Rule("kill_before", nth=n, **write)]}))
        plans.append(Plan(f"kill-after-{n}", f"SIGKILL after write {n} committed",
                          {target: [Rule("kill_after", nth=n, **write)]}))
        plans.append(Plan(f"kill-read-back-{n}", f"SIGKILL during read-back after write {n}",
                          {target: [Rule("kill_after", nth=n, **write)]},
                          then={target: [Rule("kill_before", nth=1, **read)]}))
    if case.target.kind == "tally":
        return plans + [mid_batch(n, target, write) for n in spread(per_kind, max(1, base.writes - 1))]
    # Targets written one record per request (or one bulk request): kills after a write half-way between
    # two `after commit` points, so they are moments of their own.
    taken, mids = set(points), []
    for i in range(per_kind):
        want = 1 + (i + 0.5) * (base.writes - 1) / per_kind
        free = sorted((n for n in range(1, base.writes + 1) if n not in taken), key=lambda n: (abs(n - want), n))
        if free:
            taken.add(free[0])
            mids.append(free[0])
    return plans + [Plan(f"kill-mid-batch-{n}", f"SIGKILL mid-batch (after write {n})",
                         {target: [Rule("kill_after", nth=n, **write)]}) for n in sorted(mids)]


def mid_batch(n: int, target: str, write: dict[str, str]) -> Plan:
    """TallyPrime commits the first half of the n-th batch, drops the connection, and the sync dies."""
    plan = Plan(f"kill-mid-batch-{n}", f"SIGKILL mid-batch {n} (half the batch committed)")
    # Half the poster's first batch (25); a later, larger batch is cut before its middle.
    plan.rules = {target: [Rule("kill_after", nth=n, **write, on_hit=plan.hook("tally", PARTIAL, HALF))]}
    return plan


PARTIAL, HALF = "/__sandbox/faults", {"partial": 12}


def moments(base: Baseline | None) -> tuple[int, Callable[[int], int]]:
    """The write a fault hits (the 2nd, or the only one) and the n-th source read capped at the reads the
    run makes: a flow of one write and one read (a return batch) still meets every fault."""
    write = 1 if base is not None and base.writes < 2 else 2
    reads = base.source_reads if base is not None and base.source_reads else None
    return write, (lambda n: max(1, min(n, reads)) if reads else n)


def transport_plans(case: FlowCase, quick: bool, base: Baseline | None = None) -> list[Plan]:
    target, write, source = target_proxy(case), case.target.write, case.source
    stall = 2.0 if quick else 35.0  # past ShipStation's and Zoho's 30 s client timeout at full size
    nth, read = moments(base)
    return [
        Plan("429-storm", "429 storm (Retry-After 1) on writes and reads",
             {target: [Rule("status", nth=nth, times=6, status=429, retry_after=1, **write)],
              source: [Rule("status", method="GET", nth=read(2), times=4, status=429, retry_after=1)]}),
        Plan("5xx-burst", "5xx burst on writes and reads",
             {target: [Rule("status", nth=nth, times=3, status=503, **write)],
              source: [Rule("status", method="GET", nth=1, times=3, status=500)]}),
        Plan("timeout", f"stall {stall:g} s (write delivered late; read dropped)",
             {target: [Rule("stall", nth=nth, seconds=stall, forward=True, **write)],
              source: [Rule("stall", method="GET", nth=read(2), seconds=stall)]}),
        Plan("reset", "connection reset mid-response (write committed)",
             {target: [Rule("reset", nth=nth, **write)], source: [Rule("reset", method="GET", nth=read(3))]}),
        Plan("two-syncs", "two syncs started together", twins=2),
    ] + ([Plan("webhook-race", "webhook-driven run racing a polling run", race_webhook=True)]
         if case.name == "shipstation-to-tally" else [])


def tally_plans(case: FlowCase, quick: bool, base: Baseline | None = None) -> list[Plan]:
    write = case.target.write
    short, long_ = (3.0, 40.0) if quick else (5.0, 90.0)
    nth, _ = moments(base)
    return [
        Plan("tally-unreachable", f"Tally refuses connections for {short:g} s (the agent retries)",
             {"tally": [Rule("refuse", nth=nth, seconds=short, **write)]}),
        Plan("tally-down-long", f"Tally refuses connections for {long_:g} s (past the agent's retries)",
             {"tally": [Rule("refuse", nth=nth, seconds=long_, **write)]}),
        Plan("tally-blank", "Tally answers blank EXCEPTIONS (3 imports)", tally={"blank": 3, "blank_kind": "vouchers"},
             permanent=blanked_singles, refusals=True),
        partial(write, nth),
        closed(case, base),
    ]


def closed(case: FlowCase, base: Baseline | None = None) -> Plan:
    """The company closed in the GUI mid-run. A run of more imports than `moments`' write meets it at the
    import after that one (Tally closes it then). A run of one or two imports (a return batch, a
    settlement) would end first: its company is closed during the read-back after its first write, so
    that read-back exports nothing and every later import is refused; with no read-back, before its
    first import."""
    nth, _ = moments(base)
    if base is None or base.writes > nth:
        return Plan("tally-closed", "Tally company closed mid-run", tally={"close_after": nth})
    if base.read_backs:
        plan = Plan("tally-closed", "Tally company closed mid-run (at the read-back after write 1)")
        plan.rules = {target_proxy(case): [Rule("pass", nth=1, **case.target.read_back,
                                                on_hit=plan.hook("tally", "/__sandbox/company", {"loaded": False}))]}
        return plan
    return Plan("tally-closed", "Tally company closed mid-run (before its first import)", tally={"close_after": 0})


def partial(write: dict[str, str], nth: int = 2) -> Plan:
    plan = Plan("tally-partial", "Tally imports half a batch, drops the connection")
    plan.rules = {"tally_agent": [Rule("pass", nth=nth, **write, on_hit=plan.hook("tally", PARTIAL, HALF))]}
    return plan


def blanked_singles(world: Any) -> int:
    """Each blanked import of a single voucher is a record Tally refused with no reason: failed, kept for replay."""
    fired = world.tally_control("GET", "/__sandbox/faults")["fired"]
    return sum(1 for f in fired if f["fault"] == "blank" and f["objects"] == 1)


def token_plans(case: FlowCase, base: Baseline | None = None) -> list[Plan]:
    """Credentials lost mid-run: Walmart's token revoked, Zoho's clock past the token's hour, Acumatica's
    session dropped.

    Walmart's token is revoked after it was issued, as the run's 2nd read leaves (its only one, for a run
    of one read: a return batch), so that read meets the revoked token (a 401) and the client must get a
    new one; the row counts Walmart's 401s to show it did. Without a baseline to say how many reads the run
    makes (the CI check's `combined`: 80 purchase orders are one page), as its first read leaves."""
    if case.source == "walmart":
        nth = moments(base)[1](2) if base is not None else 1
        plan = Plan("token-revoked", "Walmart token revoked mid-run", probe=walmart_401s)
        plan.rules = {"walmart": [Rule("pass", method="GET", path="^/v3/", nth=nth,
                                       on_hit=plan.hook("walmart", "/__sandbox/tokens/revoke"))]}
    elif case.target.kind == "zoho":
        plan = Plan("token-expired", "Zoho token expires mid-run (clock +1 h)")
        plan.rules = {"zoho": [Rule("pass", nth=5, **case.target.write,
                                    on_hit=plan.hook("zoho", "/__sandbox/clock/advance", {"seconds": 3700}))]}
    elif "acumatica" in (case.source, case.target.kind):
        plan = Plan("session-dropped", "Acumatica session dropped mid-run")
        # Between the reads of its orders, or (Acumatica the target) between its shipment writes.
        moment = dict(case.target.write, nth=5) if case.target.kind == "acumatica" else {"method": "GET", "nth": 2}
        plan.rules = {"acumatica": [Rule("pass", **moment,
                                         on_hit=plan.hook("acumatica", "/AcumaticaERP/__sandbox/sessions/drop"))]}
    else:
        return []
    return [plan]


def walmart_401s(world: Any) -> int:
    """Walmart's count of the requests it refused for their token (the sandbox's stats)."""
    stats = httpx.get(f"{world.sandbox_url('walmart')}/__sandbox/stats", timeout=30).json()
    return int(stats["by_status"].get("401", 0))


DISK_FLOOR = 64 * 1024  # below this the sync could not start at all: a disk full at start, not mid-run


def ours(name: str) -> bool:
    """A file of the product's own state (the ledger, staging, tokens), not Dagster's run storage."""
    return not name.startswith("dagster/")


def disk_cap(samples: Sequence[tuple[float, Mapping[str, int]]], floor: int = DISK_FLOOR,
             prefer: Callable[[str], bool] = ours) -> int:
    """The size no file may pass (whole KiB) for the state directory to fill up half-way through a run.

    `samples` are a fault-free run's (CPU seconds, {file: bytes}) from before it started to its end. With
    the cap C, the run's first write that takes a file past C fails: at the first sample where a file
    that grew is larger than C (a file already past C fails as it grows at all). The cap chosen is the
    one whose first failing write comes nearest the middle of the run's CPU seconds, whatever the files
    held before: a flow run after others finds the ledger already large and grows mostly its WAL, so
    half the ledger's size is no measure of what it writes. Caps whose first failing write is in a
    `prefer` file (the product's own: the ledger, staging) come first; Dagster's event log only when
    no such cap exists (its writes fail as the job ends, after the product's work is done). 0 when no
    file grew past `floor`."""
    if len(samples) < 2:
        return 0
    high = dict(samples[0][1])
    grown: list[tuple[int, float, bool]] = []  # (size, moment, a preferred file) of every growth seen
    for moment, sizes in samples[1:]:
        for name, size in sizes.items():
            if size > high.get(name, 0):
                high[name] = size
                grown.append((size, moment, prefer(name)))
    grown.sort()
    sizes = [size for size, _, _ in grown]
    inf = float("inf")
    first_any, first_preferred = [inf] * (len(grown) + 1), [inf] * (len(grown) + 1)
    for i in range(len(grown) - 1, -1, -1):  # [i]: the earliest moment a file reached a size of grown[i:]
        _, moment, preferred = grown[i]
        first_any[i] = min(first_any[i + 1], moment)
        first_preferred[i] = min(first_preferred[i + 1], moment if preferred else inf)
    middle = samples[-1][0] / 2
    caps = {(size - 1) // 1024 * 1024 for size in sizes if size - 1 >= floor}
    fails = {cap: bisect_right(sizes, cap) for cap in caps}
    mine = {cap for cap, i in fails.items() if first_preferred[i] <= first_any[i] < inf}
    return min(mine or caps, key=lambda cap: (abs(first_any[fails[cap]] - middle), -cap), default=0)


def disk_full(base: Baseline) -> Plan:
    """The state directory's disk fills up half-way through the run's writing: as root, a tmpfs with the room
    the baseline's run had used by then (`Baseline.disk_room`); elsewhere, files capped where the baseline's
    run was half-way through (`Baseline.disk_cap`; a baseline measured without file sizes: at half the
    ledger's size)."""
    if base.disk_room and disk.can_mount():
        return Plan("disk-full", f"state directory's disk full mid-run ({base.disk_room // 1024} KiB free at "
                                 "the start; Dagster's storage elsewhere)", room=base.disk_room)
    limit = base.disk_cap or max(DISK_FLOOR, base.ledger_bytes // 2)
    return Plan("disk-full", f"state directory full mid-run (no file past {limit // 1024} KiB)", fsize=limit)


def combined(case: FlowCase, base: Baseline | None = None) -> Plan:
    """One run with this flow's credential fault and a kill after a write: the reduced check for CI."""
    [token] = token_plans(case, base) or [Plan("none", "")]
    target = target_proxy(case)
    nth = {"zoho": 15, "acumatica": 8}.get(case.target.kind, 1)  # past the credential fault's moment
    kill = Rule("kill_after", nth=nth, **case.target.write)
    plan = Plan(f"{token.name}+kill", f"{token.kind or 'no credential fault'}, then SIGKILL after write {nth}")
    plan.rules = {name: list(rules) for name, rules in token.rules.items()}
    plan.rules.setdefault(target, []).append(kill)
    for rules in plan.rules.values():  # the token hooks post through their own plan's world: point them at ours
        for rule in rules:
            if rule.on_hit is not None:
                rule.on_hit = _rebound(rule.on_hit, token, plan)
    return plan


def _rebound(hook: Callable[[], None], old: Plan, new: Plan) -> Callable[[], None]:
    def call() -> None:
        old.world = new.world
        hook()

    return call

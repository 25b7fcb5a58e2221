"""One fresh world per run: the sandbox, a fault proxy in front of every system, the LAN agent, a state directory.

Our sync reaches every system through a proxy; TallyPrime through two (sync -> `tally_agent` proxy ->
LAN agent -> `tally` proxy -> TallyPrime), so a fault can sit where the sync sees it or where the
agent does (Tally unreachable: the agent queues and retries).
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.faults import disk
from bench.faults.proxy import FaultProxy, Rule
from bench.procs import group_cpu
from connectors.tally.agent import create_agent_app
from sandbox.acumatica import Licence
from sandbox.merchant_acumatica import ACUMATICA_SITE
from sandbox.merchant_walmart import sku_map_csv, start_walmart
from sandbox.runner import serve
from sandbox.stack import Sandbox, start_sandbox
from state.ledger import SyncLedger

SYNC = [sys.executable, "-m", "ml_connector.cli", "sync"]
RUN_TIMEOUT = 900.0


@dataclass
class Outcome:
    code: int | None  # None: killed (by a fault or the timeout)
    output: str

    @property
    def succeeded(self) -> bool:
        return self.code is not None and " succeeded" in self.output


@dataclass
class World:
    sandbox: Sandbox
    home: Path
    proxies: dict[str, FaultProxy]
    env: dict[str, str]
    agent: Any
    procs: list[subprocess.Popen] = field(default_factory=list)

    # --- faults -------------------------------------------------------------------------------
    def arm(self, rules: dict[str, list[Rule]]) -> None:
        for name, proxy in self.proxies.items():
            proxy.set_rules(rules.get(name, []))

    def disarm(self) -> None:
        self.arm({})
        self.tally_faults({"blank": 0, "partial": None, "close_after": None})
        self.tally_control("POST", "/__sandbox/company", {"loaded": True})

    def tally_faults(self, knobs: dict[str, Any]) -> dict[str, Any]:
        return self.tally_control("POST", "/__sandbox/faults", knobs)

    def tally_control(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.sandbox.tally.base_url}{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    # --- running the product --------------------------------------------------------------------
    def sandbox_url(self, system: str) -> str:
        """A simulator's own base URL (not its proxy): its control plane."""
        return self.proxies[system].upstream

    def start(self, *args: str, fsize: int | None = None, argv: list[str] | None = None) -> subprocess.Popen:
        """`ml-connector <args>` (or `argv`) in its own process group; every proxy may kill that group.

        `fsize` caps every file the process writes (RLIMIT_FSIZE, SIGXFSZ ignored so a write fails with
        EFBIG): the state directory's disk is full for it.
        """
        proc = subprocess.Popen(argv or [*SYNC[:-1], *args], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=None if fsize is None else lambda: _cap_files(fsize))
        self.procs.append(proc)
        for proxy in self.proxies.values():
            proxy.victim = proc.pid
        return proc

    def finish(self, proc: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> Outcome:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            return Outcome(None, (output or "") + f"\n[harness] killed after {timeout:.0f} s")
        return Outcome(None if proc.returncode == -signal.SIGKILL else proc.returncode, output or "")

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL a run's process group now (if it is still running)."""
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def watch_cpu(self, proc: subprocess.Popen, kill_at: float | None = None, files: bool = False) -> CpuWatch:
        """Follow the CPU seconds a run's process group has used (its own progress, whatever the machine's
        load); SIGKILL it once they reach `kill_at`. With `files`, also the size of every file in the state
        directory at each sample (`CpuWatch.sizes`: where a full disk would stop the run)."""
        watch = CpuWatch(proc, kill_at, self.kill, self.home if files else None)
        watch.start()
        return watch

    def sync(self, *args: str) -> Outcome:
        return self.finish(self.start("sync", *args))

    def replay(self, flow: str) -> Outcome:
        return self.finish(self.start("replay", flow, "--yes"))

    def ledger(self) -> SyncLedger:
        return SyncLedger(self.home / "ledger.sqlite3")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for proxy in self.proxies.values():
            proxy.stop()
        self.agent.stop()
        self.sandbox.stop()
        if disk.mounted(self.home):  # a disk-full row's tmpfs
            disk.unmount(self.home)
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class CpuWatch(threading.Thread):
    """Samples a run's CPU seconds every 50 ms until it ends (`used`), killing it at `kill_at` if given; with
    a `home`, also each file under it (`sizes`: (CPU seconds, {path: size}); `blocks`: the bytes each takes
    on disk), the first sample taken before the run's first CPU second counts."""

    def __init__(self, proc: subprocess.Popen, kill_at: float | None, kill: Callable[[subprocess.Popen], None],
                 home: Path | None = None):
        super().__init__(daemon=True)
        self.proc, self.kill_at, self._kill, self.used, self.killed = proc, kill_at, kill, 0.0, False
        self.home, self.sizes, self.blocks = home, [], []
        if home is not None:
            self._sample(0.0)

    def run(self) -> None:
        while self.proc.poll() is None:
            self.used = max(self.used, group_cpu(self.proc.pid))
            if self.home is not None:
                self._sample(self.used)
            if self.kill_at is not None and self.used >= self.kill_at:
                self.killed = True
                self._kill(self.proc)
                return
            time.sleep(0.05)
        if self.home is not None:  # what it wrote as it closed (a checkpoint of the ledger's WAL)
            self._sample(self.used)

    def _sample(self, moment: float) -> None:
        sizes, blocks = file_sizes(self.home)
        self.sizes.append((moment, sizes))
        self.blocks.append((moment, blocks))


def _cap_files(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def file_sizes(home: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Every file under the state directory: its size, and the bytes it takes on disk (a sparse or mapped
    file, e.g. SQLite's -shm, takes less than its size). Files vanish while we walk: skipped."""
    sizes, blocks = {}, {}
    for path in home.rglob("*"):
        try:
            if path.is_file():
                stat, name = path.stat(), str(path.relative_to(home))
                sizes[name], blocks[name] = stat.st_size, stat.st_blocks * 512
        except OSError:
            continue
    return sizes, blocks


def ledger_bytes(home: Path) -> int:
    """The size of the sync ledger's file: half of it is a disk that fills up mid-run."""
    path = home / "ledger.sqlite3"
    return path.stat().st_size if path.exists() else 0


ZOHO_PLAN = "premium"
WALMART_SEEDED = 40  # the sandbox's own Walmart account: 40 purchase orders, one refunded return


def open_world(size: int, seed: int = 7) -> World:
    """A sandbox merchant of `size` orders with every system behind a fault proxy.

    Walmart's account is seeded with `size` purchase orders too (and one refunded return per 40, as
    the sandbox's own account has), in place of the sandbox's fixed 40.
    """
    sandbox = start_sandbox(seed=seed, orders=size, rate_limit=0, zoho_per_minute=0, webhook_drop_rate=0.0,
                            acumatica_licence=Licence(requests_per_minute=None))
    if size != WALMART_SEEDED:
        sandbox.walmart.stop()
        sandbox.walmart, sandbox.walmart_state = start_walmart(
            sandbox.merchant, seed, rate_limits=False, n_orders=size, refunds=max(1, size // WALMART_SEEDED))
    upstreams = {"shipstation": sandbox.shipstation.base_url, "tally": sandbox.tally.base_url,
                 "walmart": sandbox.walmart.base_url, "zoho_accounts": sandbox.zoho_accounts.base_url,
                 "zoho": sandbox.zoho_books.base_url, "acumatica": sandbox.acumatica.base_url}
    proxies = {name: FaultProxy(url).start() for name, url in upstreams.items()}
    token = secrets.token_urlsafe(24)
    agent = serve(create_agent_app(proxies["tally"].base_url, token))
    proxies["tally_agent"] = FaultProxy(agent.base_url).start()
    sandbox.zoho_state.api_domains["us"] = proxies["zoho"].base_url  # the token's api_domain: Books via its proxy
    # A thousand orders a day is past Zoho Books' Standard plan (2,000 API calls a day: invoices, then label
    # journals and tracking, then the recovery runs): the merchant is on Premium (10,000).
    plan = httpx.post(f"{sandbox.zoho_books.base_url}/__sandbox/limits", json={"plan": ZOHO_PLAN}, timeout=30)
    plan.raise_for_status()
    home = Path(tempfile.mkdtemp(prefix="ml-faults-"))
    (home / "walmart_sku_map.csv").write_text(sku_map_csv(sandbox.merchant), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALLY_", "SHIPSTATION_", "WALMART_", "ZOHO_",
                                                                    "ACUMATICA_"))}
    env |= sandbox.env() | {
        "SHIPSTATION_BASE_URL": proxies["shipstation"].base_url, "WALMART_BASE_URL": proxies["walmart"].base_url,
        "ZOHO_ACCOUNTS_URL": proxies["zoho_accounts"].base_url,
        "ACUMATICA_URL": proxies["acumatica"].base_url + ACUMATICA_SITE,
        "TALLY_URL": proxies["tally_agent"].base_url, "TALLY_AGENT_TOKEN": token,
        "ML_CONNECTOR_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
        "WALMART_SKU_MAP": str(home / "walmart_sku_map.csv"), "ZOHO_REQUESTS_PER_MINUTE": "0",
        "PYTHONUNBUFFERED": "1"}
    return World(sandbox, home, proxies, env, agent)

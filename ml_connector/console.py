"""`ml-connector ui` (`make ui`): the Dagster UI on the embedded sandbox, holding the demo's runs.

The sandbox and the LAN agent start as for the demo, the demo's runs are made (so the UI opens on a
history: runs, materialisations, checks, a reconciled month and its report), every sensor and
schedule is switched on (the sandbox is the only thing they reach), and `dagster dev` serves the UI
on the demo's `DAGSTER_HOME` until Ctrl-C. Everything lives under `<ML_CONNECTOR_HOME>/ui`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

WORKSPACE = Path(__file__).resolve().parent.parent / "workspace.yaml"


def dagster_command(*args: str) -> list[str]:
    """`dagster <args>` from this environment (the venv's own entry point, whatever PATH says)."""
    return [sys.executable, "-m", "dagster", *args]


def switch_on_automation(env: dict[str, str], out: Callable[[str], None] = print) -> None:
    """Start every sensor and schedule of the code location on the instance in `env["DAGSTER_HOME"]`."""
    for kind in ("sensor", "schedule"):
        done = subprocess.run(dagster_command(kind, "start", "--start-all", "-w", str(WORKSPACE)), env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            out(f"Could not switch the {kind}s on: {done.stderr.strip()[-500:]}")


def wait_for_ui(url: str, process: subprocess.Popen, timeout: float = 180.0) -> bool:
    """True once the UI answers at `url`; False if `dagster dev` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def start_ui(env: dict[str, str], port: int, host: str = "127.0.0.1") -> subprocess.Popen:
    """`dagster dev` (webserver and daemon) for the workspace, on `host:port`, in its own process group."""
    return subprocess.Popen(dagster_command("dev", "-w", str(WORKSPACE), "-h", host, "-p", str(port)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop_ui(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run_ui(port: int = 3000, seed: int = 7, orders: int = 200, out: Callable[[str], None] = print) -> int:
    from ml_connector.demo import demo_environment, tell_story

    with demo_environment("ui", seed, orders) as (sandbox, agent, state_dir):
        out("Making the demo's runs first, so the UI has a history to show...")
        tell_story(sandbox, agent, state_dir, out)
        env = dict(os.environ)
        switch_on_automation(env, out)
        ui = start_ui(env, port)
        url = f"http://127.0.0.1:{port}"
        try:
            if not wait_for_ui(url, ui):
                out("The Dagster UI did not start (is the port taken? try `make ui PORT=3001`).")
                return 1
            out(f"\nThe Dagster UI is at {url}  (sensors and schedules on, against the sandbox; Ctrl-C stops)")
            out(f"Its instance: DAGSTER_HOME={state_dir / 'dagster'}")
            try:
                ui.wait()
            except KeyboardInterrupt:
                pass
        finally:
            stop_ui(ui)
    return 0

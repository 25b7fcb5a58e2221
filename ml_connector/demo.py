"""`ml-connector demo` and `ml-connector sandbox`: the product against the embedded simulators.

This module (with the tests) is the only place where the simulators and our own code meet.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from ml_connector.runner import RunSummary

JOB = "shipstation_to_tally"


def run_demo(orders: int = 200, seed: int = 7, out: Callable[[str], None] = print) -> int:
    """Sandbox + LAN agent + two syncs (before and after edits and cancellations), with a summary."""
    from connectors.tally.agent import create_agent_app
    from ml_connector.config import Settings
    from ml_connector.runner import instance_for, run_job
    from pipelines.definitions import build_definitions
    from sandbox.runner import serve
    from sandbox.stack import start_sandbox

    state_dir = Path(os.environ.get("ML_CONNECTOR_HOME", ".ml-connector")).resolve() / "demo"
    shutil.rmtree(state_dir, ignore_errors=True)  # the sandbox starts empty, so must the ledger
    with start_sandbox(seed=seed, orders=orders) as sandbox:
        token = secrets.token_urlsafe(24)
        agent = serve(create_agent_app(sandbox.tally.base_url, token))
        try:
            os.environ.update(sandbox.env() | {"TALLY_URL": agent.base_url, "TALLY_AGENT_TOKEN": token,
                                               "ML_CONNECTOR_HOME": str(state_dir),
                                               "DAGSTER_HOME": str(state_dir / "dagster")})
            settings = Settings.from_env()
            defs, instance = build_definitions(settings), instance_for(state_dir)
            out(f"Sandbox: ShipStation {sandbox.shipstation.base_url}, TallyPrime {sandbox.tally.base_url} "
                f"behind the LAN agent {agent.base_url}; company {settings.tally_company!r}")
            first = run_job(defs, JOB, instance)
            print_summary(first, "First sync", out)
            changed = sandbox.advance()
            out(f"\nShipStation: {changed['edited']} orders edited and {changed['cancelled']} cancelled since.")
            second = run_job(defs, JOB, instance)
            print_summary(second, "Second sync", out)
            _print_tally_state(sandbox.vouchers(), settings.tally_order_voucher_type, out)
            out(f"\nState (ledger, audit trail, DuckDB snapshots): {state_dir}")
            out(f"See the runs in the Dagster UI: DAGSTER_HOME={state_dir / 'dagster'} .venv/bin/dagster dev")
        finally:
            agent.stop()
    return 0 if first.success and second.success else 1


def print_summary(summary: RunSummary, title: str = "Sync", out: Callable[[str], None] = print) -> None:
    """What a person wants to know after a run: counts, failures with reasons, checks."""
    out(f"\n{title}: run {summary.run_id} {'succeeded' if summary.success else 'FAILED'}")
    if summary.error:
        out(f"  error: {summary.error}")
    m = summary.metric
    out(f"  orders read:       {m('shipstation/orders', 'orders_read')}")
    out(f"  customer ledgers:  created {m('tally/customer_ledgers', 'ledgers_created')}, "
        f"failed {m('tally/customer_ledgers', 'ledgers_failed')}")
    out(f"  order vouchers:    created {m('tally/order_vouchers', 'created')}, "
        f"altered {m('tally/order_vouchers', 'altered')}, cancelled {m('tally/order_vouchers', 'cancelled')}, "
        f"skipped {m('tally/order_vouchers', 'skipped')}, failed {m('tally/order_vouchers', 'failed')}")
    reasons = m("tally/order_vouchers", "skipped_because", {}) or {}
    if reasons:
        out("  skipped because:   " + "; ".join(f"{why} ({n})" for why, n in sorted(reasons.items())))
    for failure in m("tally/order_vouchers", "failures", []) or []:
        out(f"    - {failure.get('error')}")
    for failure in m("tally/customer_ledgers", "failures", []) or []:
        out(f"    - ledger {failure.get('ledger')}: {failure.get('error')}")
    if summary.checks:
        out("  checks:            " + ", ".join(f"{name} {_verdict(ok, name in summary.warnings)}"
                                              for name, ok in sorted(summary.checks.items())))


def _verdict(passed: bool, warning_only: bool) -> str:
    if passed:
        return "passed"
    return "warning" if warning_only else "FAILED"


def _print_tally_state(vouchers: list[dict], voucher_type: str, out: Callable[[str], None]) -> None:
    orders = [v for v in vouchers if v.get("type") == voucher_type]
    cancelled = sum(1 for v in orders if v.get("cancelled"))
    out(f"\nTallyPrime now holds {len(orders)} {voucher_type} vouchers ({cancelled} cancelled).")


def serve_sandbox(orders: int, seed: int, rate_limit: int, ports_file: str | None,
                  out: Callable[[str], None] = print) -> int:
    """Serve the simulators until Ctrl-C, printing (and optionally writing) how to reach them."""
    from sandbox.stack import start_sandbox

    with start_sandbox(seed=seed, orders=orders, rate_limit=rate_limit) as sandbox:
        env = sandbox.env()
        out(f"ShipStation V1 sandbox: {sandbox.shipstation.base_url}")
        out(f"TallyPrime sandbox:     {sandbox.tally.base_url}")
        out("Point ml-connector at them with:")
        for key, value in env.items():
            out(f"  export {key}={_shell_quote(value)}")
        if ports_file:
            Path(ports_file).write_text(json.dumps({"shipstation": sandbox.shipstation.base_url,
                                                    "tally": sandbox.tally.base_url, "env": env}, indent=2))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"

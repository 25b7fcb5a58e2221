"""`ml-connector`: demo, sandbox, agent, sync, check."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ml_connector.credentials_cmd import add_parser as add_credentials_parser
from ml_connector.webhooks.commands import add_parser as add_webhooks_parser
from ml_connector.zoho_cmd import add_parser as add_zoho_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ml-connector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole ShipStation -> TallyPrime flow on the embedded sandbox")
    demo.add_argument("--orders", type=int, default=200, help="orders the sandbox merchant has (default 200)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    ui = sub.add_parser("ui", help="the Dagster UI on the embedded sandbox, holding the demo's runs")
    ui.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    ui.add_argument("--orders", type=int, default=200)
    ui.add_argument("--seed", type=int, default=7)
    ui.set_defaults(func=cmd_ui)

    sandbox = sub.add_parser("sandbox", help="serve the simulators until interrupted")
    sandbox.add_argument("--orders", type=int, default=200)
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--rate-limit", type=int, default=40, help="ShipStation requests per minute (0 = off)")
    sandbox.add_argument("--ports-file", help="also write the base URLs and credentials as JSON to this file")
    sandbox.set_defaults(func=cmd_sandbox)

    agent = sub.add_parser("agent", help="run the TallyPrime LAN agent beside TallyPrime")
    agent.add_argument("--host", default=os.environ.get("TALLY_AGENT_HOST", "0.0.0.0"))
    agent.add_argument("--port", type=int, default=int(os.environ.get("TALLY_AGENT_PORT", "9100")))
    agent.add_argument("--upstream", default=os.environ.get("TALLY_UPSTREAM_URL", "http://127.0.0.1:9000"),
                       help="TallyPrime's HTTP server (default http://127.0.0.1:9000)")
    agent.add_argument("--make-cert", metavar="DIR",
                       help="write a self-signed TLS certificate and key for the LAN into DIR, print what to set, exit")
    agent.add_argument("--cert-host", action="append", metavar="HOST",
                       help="a name or IP the certificate is for (repeat; default this computer's name)")
    agent.set_defaults(func=cmd_agent)

    sync = sub.add_parser("sync", help="run a flow's job once on the configured Dagster instance")
    sync.add_argument("flow", choices=_flow_names())
    sync.add_argument("--start", help="window start (ISO): order modifyDate, label create/void date;"
                                      " default SHIPSTATION_SYNC_START")
    sync.add_argument("--end", help="window end (ISO); default now")
    sync.add_argument("--date", help="the day, as YYYY-MM-DD, for flows that work by day (e.g. a settlement)")
    sync.set_defaults(func=cmd_sync)

    replay = sub.add_parser("replay", help="re-drive failed records of a flow (fetched fresh from the source), "
                                           "after showing what will be sent")
    replay.add_argument("flow", choices=_flow_names(replayable=True))
    replay.add_argument("--id", dest="record_ids", action="append", default=[], metavar="ID",
                        help="only this record: its source id or its number, e.g. an order number (repeatable)")
    replay.add_argument("--kind", dest="kinds", action="append", default=[],
                        choices=["mapping", "refused", "transient"],
                        help="only failures of this kind: mapping (never sent), refused (the target said no), "
                             "transient (the target was unreachable or busy); repeatable")
    replay.add_argument("--since", default="", help="only records that last failed at or after this "
                                                    "(YYYY-MM-DD or an ISO time; UTC unless it says)")
    replay.add_argument("--until", default="", help="only records that last failed before this")
    replay.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    replay.add_argument("--yes", action="store_true", help="send without asking (a terminal is asked first)")
    replay.set_defaults(func=cmd_replay)

    ledger = sub.add_parser("ledger", help="list sync-ledger entries: what was sent where, and what failed")
    ledger.add_argument("--state", choices=["pending", "posted", "failed", "skipped", "waiting"])
    ledger.add_argument("--flow", default=None,
                        help="a sync-ledger flow (default: every flow): " + ", ".join(_ledger_flows()))
    ledger.add_argument("--csv", action="store_true", help="write CSV to standard output")
    ledger.set_defaults(func=cmd_ledger)

    check = sub.add_parser("check", help="ping each configured system and say what works")
    check.set_defaults(func=cmd_check)

    report = sub.add_parser("report", help="write a month's reconciliation report: HTML page, CSV and .xlsx")
    report.add_argument("--month", required=True, help="the month, as YYYY-MM")
    report.add_argument("--out", help="folder for the files (default <ML_CONNECTOR_HOME>/reports/<month>)")
    report.set_defaults(func=cmd_report)

    add_webhooks_parser(sub)
    add_credentials_parser(sub)
    add_zoho_parser(sub)
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    from ml_connector.demo import run_demo

    return run_demo(orders=args.orders, seed=args.seed)


def cmd_ui(args: argparse.Namespace) -> int:
    from ml_connector.console import run_ui

    return run_ui(port=args.port, seed=args.seed, orders=args.orders)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from ml_connector.demo import serve_sandbox

    return serve_sandbox(orders=args.orders, seed=args.seed, rate_limit=args.rate_limit, ports_file=args.ports_file)


def cmd_agent(args: argparse.Namespace) -> int:
    if args.make_cert:
        import socket

        from connectors.tally.agent_tls import make_cert_files

        print("\n".join(make_cert_files(args.make_cert, args.cert_host or [socket.gethostname()])))
        return 0
    from connectors.tally.agent import options_from_env, run_agent

    token = os.environ.get("TALLY_AGENT_TOKEN", "")
    if len(token) < 16:
        print("TALLY_AGENT_TOKEN must be set to a random secret of at least 16 characters", file=sys.stderr)
        return 2
    try:
        options = options_from_env(os.environ)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    run_agent(args.host, args.port, args.upstream, token, **options)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from ml_connector.config import Settings
    from ml_connector.demo import print_summary
    from ml_connector.runner import instance_for, run_job
    from pipelines.definitions import build_definitions
    from pipelines.registry import flow
    from pipelines.shipstation_tally.window import parse_instant, resolve_window

    settings, spec = Settings.from_env(), flow(args.flow)
    config: dict = {}
    if args.date:
        from datetime import date

        if spec.date_config is None:
            print(f"{args.flow} does not work by day: use --start/--end", file=sys.stderr)
            return 2
        try:
            config = spec.date_config(date.fromisoformat(args.date))
        except ValueError:
            print(f"--date {args.date!r} is not a day as YYYY-MM-DD, e.g. 2026-03-14", file=sys.stderr)
            return 2
    elif (args.start or args.end) and spec.window_config is not None:
        window = resolve_window(args.start, args.end, settings.shipstation_sync_start,
                                parse_instant(args.end) if args.end else _now())
        config = spec.window_config(window.start, window.end)
    defs = build_definitions(settings)
    if spec.job not in {job.name for job in defs.jobs or ()}:
        print(f"{args.flow}: its system is not configured (set its connection variables; see README, "
              "Configuration)", file=sys.stderr)
        return 2
    summary = run_job(defs, spec.job, instance_for(settings.state_dir), config, progress=True)
    print_summary(summary)
    return 0 if summary.success and summary.failed_records == 0 else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from ml_connector.config import Settings
    from ml_connector.demo import print_summary
    from ml_connector.runner import instance_for, run_job
    from pipelines.definitions import build_definitions
    from pipelines.flow import PreviewSources
    from pipelines.registry import flow
    from pipelines.replay import describe, failed_filter, plan_replay
    from state.ledger import SyncLedger
    from state.staging import StagingStore

    settings, spec = Settings.from_env(), flow(args.flow)
    assert spec.replay is not None  # argparse offers only replayable flows
    try:
        where = failed_filter(args.record_ids, args.kinds, args.since, args.until)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    plan = plan_replay(spec, SyncLedger(settings.state_dir / "ledger.sqlite3"), where)
    print("\n".join(describe(plan, PreviewSources(settings, StagingStore(settings.state_dir / "staging.duckdb")))))
    if plan.empty or args.dry_run:
        return 0
    if not args.yes and sys.stdin.isatty() and input("Send these now? [y/N] ").strip().lower() not in ("y", "yes"):
        print("Nothing sent.")
        return 1
    print(f"Replaying {len(plan.entries)} failed {spec.replay.what}.")
    summary = run_job(build_definitions(settings), spec.job, instance_for(settings.state_dir), plan.run_config,
                      progress=True)
    print_summary(summary, "Replay")
    return 0 if summary.success and summary.failed_records == 0 else 1


def cmd_ledger(args: argparse.Namespace) -> int:
    import csv

    from ml_connector.config import Settings
    from state.ledger import SyncLedger

    ledger = SyncLedger(Settings.from_env().state_dir / "ledger.sqlite3")
    columns = ["flow", "source_id", "order_number", "state", "target_id", "attempts", "last_error"]
    rows = [[e.flow, e.source_id, e.detail.get("order_number", ""), e.state, e.target_id or "", e.attempts,
             e.last_error or ""] for e in ledger.entries(args.flow, args.state)]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerows([columns, *rows])
        return 0
    for name in [args.flow] if args.flow else _ledger_flows():
        counts = ledger.counts(name)
        if counts or args.flow:
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for row in rows:
        print("  " + " | ".join(str(v) for v in row))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ml_connector.checkup import run_checks

    return run_checks()


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import datetime
    from pathlib import Path

    from ml_connector.config import Settings
    from pipelines.reconciliation.report import month_report_data, write_report

    try:
        month = datetime.strptime(args.month, "%Y-%m").strftime("%Y-%m")
    except ValueError:
        print(f"--month {args.month!r} is not a month as YYYY-MM, e.g. 2026-03", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    data = month_report_data(settings.state_dir / "staging.duckdb", month, company=settings.tally_company)
    if data is None:
        print(f"Nothing is reconciled for {month} yet. Backfill the month's partitions of the reconciliation "
              "assets in the Dagster UI (or run the reconciliation job for those days), then run this again.",
              file=sys.stderr)
        return 1
    files = write_report(data, Path(args.out) if args.out else settings.state_dir / "reports" / month)
    print(f"Reconciliation report for {month}:")
    for path in (files.html, files.csv, files.xlsx):
        print(f"  {path}")
    return 0


def _flow_names(*, replayable: bool = False) -> list[str]:
    from pipelines.registry import FLOWS

    return sorted(f.name for f in FLOWS if f.replay is not None or not replayable)


def _ledger_flows() -> list[str]:
    from pipelines.registry import ledger_flows

    return ledger_flows()


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    sys.exit(main())

"""Replay a person can trust: pick failed records, show what will be sent, then re-drive them.

A replay picks a flow's failed ledger entries by record id (the source id or the number people
see, e.g. an order number), error kind (`mapping`: held before anything was sent; `refused`: the
target said no; `transient`: the target was unreachable or busy) and when they last failed. The
plan says, per record, what the run will do in the target (alter the record it already has,
or look the deterministic key up first and create only if it is not there, so nothing is posted
twice), what it will send (the flow's `Replay.preview`, else the source record the ledger kept,
which the run re-reads fresh from the source), and the exact run config of the flow's job.

`ml-connector replay` prints the plan before running (only the plan with `--dry-run`); the
Dagster job `replay` does the same from the launchpad: `dry_run: true` (the default) puts the
plan in the run's metadata, `dry_run: false` then runs the flow's job with that run config.

Every replayable flow has a preview (`pipelines/<pair>/previews.py`), built from what previews share
here: the flow's own poster prepares the stored record on a `DryLedger` (reads the real ledger, writes
nothing: a record it would hold raises `WouldFail`, one it would leave waiting or pass over `NotSent`),
`claim_action` says what the ledger's claim would make of it (create, alter, cancel, or nothing), and
the body is rendered as its target sends it (`tally_import`, `json_request`); a value only the target
knows at send time is an `at_send_time` placeholder. A preview never calls a system.
"""

import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
from lxml import etree

from connectors.tally.xml_build import build_voucher_import
from connectors.tally.xml_parse import parse_xml
from pipelines.flow import FlowSpec, PreviewSources
from pipelines.posting import Poster, PostItem
from pipelines.sides.tally.target import TallyTarget
from resources import StateResource
from state.ledger import Candidate, Claim, Entry, decide
from state.ledger_queries import FAILURE_KINDS, FailedFilter, FailureKind, LedgerQueries

MAX_SHOWN_CHARS = 20_000  # one record's body in a plan; longer ones say how much was left out
RunFlow = Callable[[FlowSpec, dict, dg.DagsterInstance], tuple[str, bool]]


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of `spec` will do: these failed entries, re-driven by one run with `run_config`."""

    spec: FlowSpec
    entries: tuple[Entry, ...]
    run_config: dict
    ledger: LedgerQueries | None = field(default=None, compare=False, repr=False)  # what previews may read

    @property
    def empty(self) -> bool:
        return not self.entries


def parse_when(text: str) -> float:
    """`2026-03-14` (midnight UTC) or an ISO instant (naive = UTC) as epoch seconds."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value) if "T" in value or " " in value else \
            datetime.combine(date.fromisoformat(value), datetime.min.time())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def failed_filter(record_ids: Sequence[str] = (), kinds: Sequence[str] = (), since: str = "",
                  until: str = "") -> FailedFilter:
    """A ledger filter from what a person typed; unknown kinds and bad times raise ValueError."""
    unknown = sorted(set(kinds) - set(FAILURE_KINDS))
    if unknown:
        raise ValueError(f"unknown error kind(s) {', '.join(unknown)}: use {', '.join(FAILURE_KINDS)}")
    chosen: tuple[FailureKind, ...] = tuple(k for k in FAILURE_KINDS if k in kinds)
    return FailedFilter(tuple(str(r).strip() for r in record_ids if str(r).strip()), chosen,
                        parse_when(since) if since else None, parse_when(until) if until else None)


def plan_replay(spec: FlowSpec, ledger: LedgerQueries, where: FailedFilter) -> ReplayPlan:
    """The failed entries of `spec`'s ledger flow that `where` picks, and the run config for them."""
    if spec.replay is None:
        raise ValueError(f"{spec.name} has no replay")
    entries = tuple(ledger.failed(spec.replay.ledger_flow, where))
    return ReplayPlan(spec, entries, spec.replay.run_config(entries) if entries else {}, ledger)


def describe(plan: ReplayPlan, sources: PreviewSources | None = None) -> list[str]:
    """The plan as lines for a person: every record, what happens to it, what is sent (rendered by the flow's
    preview from `sources` when it has one, with the plan's ledger unless `sources` bring their own), the run
    config."""
    spec, replay = plan.spec, plan.spec.replay
    assert replay is not None
    if plan.empty:
        return ["Nothing to replay: no failed records match."]
    if sources is not None and sources.ledger is None:
        sources = replace(sources, ledger=plan.ledger)
    lines = [f"Replay {spec.name}: {len(plan.entries)} failed {replay.what}, re-read from the source by one run "
             f"of job {spec.job}."]
    for entry in plan.entries:
        preview = (lambda e, show=replay.preview: show(e, sources)) if replay.preview and sources is not None else None
        lines += _describe_entry(entry, replay.target or entry.target, preview)
    lines.append("Run config: " + json.dumps(plan.run_config, sort_keys=True))
    return lines


def _describe_entry(entry: Entry, target: str, preview: Callable[[Entry], str | None] | None) -> list[str]:
    number = next((str(v) for k, v in entry.detail.items() if k.endswith("number")), "")
    failed_at = datetime.fromtimestamp(entry.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    head = (f"- {entry.source_id}{f' ({number})' if number else ''}: {entry.failure_kind}, "
            f"{entry.attempts} attempt(s), last failed {failed_at}: {entry.last_error or 'no reason recorded'}")
    if entry.target_id:
        action = f"  will alter {target} record {entry.target_id} (key {entry.external_key})"
    else:
        action = f"  will look key {entry.external_key} up in {target} and create it only if it is not there"
    try:
        body = preview(entry) if preview is not None else None
    except NotSent as why:
        return [head, action, f"  will send nothing now: {why}"]
    except Exception as exc:  # noqa: BLE001 - the record's own problem, shown: the run would hold it again
        return [head, action, f"  would fail again as stored: {exc}",
                "  source record kept by the ledger (re-read before sending):",
                *("    " + line for line in _clip(_pretty(entry.source_payload)))]
    label = "  will send:" if body is not None else "  source record kept by the ledger (re-read before sending):"
    return [head, action, label, *("    " + line for line in _clip(body or _pretty(entry.source_payload)))]


def _pretty(payload: str | None) -> str:
    if not payload:
        return "(none kept)"
    try:
        return json.dumps(json.loads(payload), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return payload


def _clip(text: str) -> list[str]:
    if len(text) <= MAX_SHOWN_CHARS:
        return text.splitlines()
    return [*text[:MAX_SHOWN_CHARS].splitlines(), f"... ({len(text) - MAX_SHOWN_CHARS} more characters)"]


# --- what every flow's preview shares ---------------------------------------------------------------
class WouldFail(Exception):
    """The run would hold this record again; the message names the record and the field."""


class NotSent(Exception):
    """The run would send nothing for this record now (it waits for another record, or is passed over): why."""


class DryLedger:
    """The sync ledger as a preview lends it to a flow's own poster, so `Poster.prepare` runs unchanged.

    Reads go to the real ledger (read-only; with none, nothing is known). A write `prepare` makes for a
    record it cannot post becomes what it means for the dry run: a held record raises `WouldFail` with
    its reason, a waiting or skipped one `NotSent`. Nothing is ever written.
    """

    def __init__(self, ledger: LedgerQueries | None) -> None:
        self.ledger = ledger

    def get(self, flow: str, source_id: str, target: str) -> Entry | None:
        return self.ledger.get(flow, source_id, target) if self.ledger is not None else None

    def outcomes(self, flow: str, target: str, source_ids: Sequence[str], **kw: Any) -> dict[str, Entry]:
        return self.ledger.outcomes(flow, target, source_ids, **kw) if self.ledger is not None else {}

    def by_group(self, flow: str, target: str, group_keys: Sequence[str], **kw: Any) -> list[Entry]:
        return self.ledger.by_group(flow, target, group_keys, **kw) if self.ledger is not None else []

    def entries(self, flow: str | None = None, state: str | None = None) -> list[Entry]:
        return self.ledger.entries(flow, state) if self.ledger is not None else []

    def counts(self, flow: str) -> dict[str, int]:
        return self.ledger.counts(flow) if self.ledger is not None else {}

    def record_failed_unclaimed(self, flow: str, target: str, cand: Candidate, error: str, payload: str) -> None:
        raise WouldFail(error)

    def record_waiting(self, flow: str, target: str, cand: Candidate, reason: str, payload: str) -> None:
        raise NotSent(f"it waits: {reason}")

    def claim(self, flow: str, target: str, candidates: Sequence[Candidate], owner: str) -> list[Claim]:
        return [Claim(c.source_id, "create") for c in candidates]  # only ever followed by `record_skipped`

    def record_skipped(self, flow: str, target: str, skips: Iterable[tuple[str, str]]) -> None:
        raise NotSent("it is passed over: " + "; ".join(reason for _, reason in skips))


def prepared(poster: Poster, record: Any, passed_over: str = "the run passes it over") -> PostItem:
    """`record` as the flow's own `poster` (on a `DryLedger`) prepares it and its target checks it before a claim."""
    item = poster.prepare(record)
    if item is None:
        raise NotSent(passed_over)
    error = poster.target.check(item) if item.payload is not None else None
    if error is not None:
        raise WouldFail(f"{item.label}: {error}")
    return item


def unseen(flow: str, source_id: str, target: str, key: str) -> Entry:
    """A ledger entry for a record the ledger has never recorded (the run's claim creates it)."""
    return Entry(flow, source_id, target, key, "new", None, None, None, False, 0, None, None, {}, None, None, 0.0)


def claim_action(entry: Entry, item: PostItem) -> str:
    """What the run's claim decides for this failed entry: create, alter, cancel (else `NotSent`), by the
    ledger's own rule (`state.ledger.decide`)."""
    claim = decide(asdict(entry), item.candidate, lease_seconds=0)
    if claim.action not in ("create", "alter", "cancel"):
        raise NotSent(f"it is passed over: {claim.reason or claim.action}")
    return claim.action


def offline_tally(voucher_type: str) -> TallyTarget:
    """A `TallyTarget` with no client: its checks and its alter and cancel vouchers need none, and a preview
    never sends."""
    return TallyTarget(None, voucher_type)  # type: ignore[arg-type]


def tally_import(company: str, target: TallyTarget, entry: Entry, item: PostItem) -> str:
    """The import the run sends TallyPrime for `item`: the voucher created, or altered or cancelled by the
    MasterId the ledger holds (`TallyTarget`'s own alter and cancel vouchers), indented."""
    verb = claim_action(entry, item)
    voucher = item.payload if verb == "create" else target.identity_voucher(
        item, int(entry.target_id or 0), verb.capitalize())
    return pretty_xml(build_voucher_import(company, [voucher]))


def pretty_xml(text: str) -> str:
    return etree.tostring(parse_xml(text), encoding="unicode", pretty_print=True)


def json_request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> str:
    """A JSON request as a dry run shows it: method and path, any headers, the body indented with every
    `Decimal` written as the exact number it is (as `connectors.common.jsonwire` sends it)."""
    lines = [f"{method} {path}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return "\n".join(lines if body is None else [*lines, _indented_json(body)])


def _indented_json(body: Any) -> str:
    marker = f"\u0000{secrets.token_hex(8)}:"  # fresh each call: no string in the body can pose as a number

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return marker + format(value, "f")
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(body, default=mark, indent=2, ensure_ascii=False, allow_nan=False)
    return re.sub('"' + re.escape(json.dumps(marker)[1:-1]) + r'(-?[0-9]+(?:\.[0-9]+)?)"', r"\1", text)


def at_send_time(what: str) -> str:
    """A placeholder for a value only the target knows, looked up when the run sends the record."""
    return f"<{what} at send time>"


class ReplayConfig(dg.Config):
    """Which failed records of which flow; `dry_run` (default) only shows the plan."""

    flow: str
    record_ids: list[str] = []
    kinds: list[str] = []
    since: str = ""
    until: str = ""
    dry_run: bool = True


def build_replay_job(flows: Sequence[FlowSpec], run_flow: RunFlow, settings: Any = None) -> dg.JobDefinition:
    """The Dagster `replay` job over `flows`; `run_flow(spec, run_config, instance)` runs a flow's job
    and answers (run id, success): the application supplies it, as it owns the definitions, and the
    `settings` flows' previews read."""
    by_name = {spec.name: spec for spec in flows if spec.replay is not None}

    @dg.op(name="replay_failed_records", description="Show, then (dry_run: false) re-drive, failed records.")
    def replay_failed_records(context: dg.OpExecutionContext, config: ReplayConfig, state: StateResource) -> int:
        spec = by_name.get(config.flow)
        if spec is None:
            raise dg.Failure(f"no replayable flow {config.flow!r}: one of {', '.join(sorted(by_name))}")
        try:
            where = failed_filter(config.record_ids, config.kinds, config.since, config.until)
        except ValueError as exc:
            raise dg.Failure(str(exc)) from None
        ledger = state.ledger()
        try:
            plan = plan_replay(spec, ledger, where)
            text = "\n".join(describe(plan, PreviewSources(settings, state.staging(), ledger)
                                      if settings is not None else None))
        finally:
            ledger.close()
        context.log.info(text)
        metadata: dict = {"records": len(plan.entries), "dry_run": config.dry_run,
                          "plan": dg.MetadataValue.md(f"```\n{text}\n```")}
        if not plan.empty and not config.dry_run:
            run_id, success = run_flow(spec, plan.run_config, context.instance)
            metadata |= {"replay_run_id": run_id, "replay_succeeded": success}
            if not success:
                context.add_output_metadata(metadata)
                raise dg.Failure(f"the replay run {run_id} of {spec.job} failed", metadata=metadata)
        context.add_output_metadata(metadata)
        return len(plan.entries)

    @dg.job(name="replay", description="Re-drive failed records of a flow, after showing what will be sent.",
            tags={"ml-connector/flow": "replay"})
    def replay() -> None:
        replay_failed_records()

    return replay

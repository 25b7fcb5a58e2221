"""Transient failures retry themselves: one sensor re-drives them for any ledger flow.

A record the ledger holds as failed *transiently* (the target was unreachable, rate-limited past
the retry budget, or answered 5xx) is asked for again in a run of its flow's job, after a backoff
that grows with its attempts (counted from its `updated_at`), until `max_attempts` claims. A
permanent failure (bad data) is never retried here: it keeps its reason until `replay`.

Run keys are deterministic from the records and their attempts, so one set is asked for once. A
retry run that fails before it claims anything (the target still down) leaves the records as they
were; the sensor then asks again under `<key>:retry-N`, with the same backoff, at most
`max_attempts` times for that set. One retry run per flow is outstanding at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from pipelines import polling
from pipelines.polling import Backoff, RunState, failed_at, instance_of, run_states
from resources import StateResource
from state.ledger import Entry

CURSOR_VERSION = 1
DEFAULT_BACKOFF = Backoff(base=timedelta(minutes=2), cap=timedelta(hours=1))


@dataclass(frozen=True)
class RetrySpec:
    """Which ledger flow to re-drive, with which job, and how its failed entries become run config."""

    name: str
    flow: str
    job: Any  # a job definition (or unresolved asset job) the sensor may target
    run_config: Callable[[Sequence[Entry]], dict]
    max_attempts: int = 8
    backoff: Backoff = field(default=DEFAULT_BACKOFF)
    batch: int = 200


@dataclass(frozen=True)
class Asked:
    """The last retry run asked for one spec: `key` names the record set, `round` counts asks of that set."""

    key: str
    round: int
    requested_at: datetime

    @property
    def run_key(self) -> str:
        return self.key if self.round == 0 else f"{self.key}:retry-{self.round}"


# --- the rules (pure) ---------------------------------------------------------------------------
def due(entries: Sequence[Entry], now: datetime, backoff: Backoff) -> list[Entry]:
    """Entries whose backoff (from their last update, growing with attempts) is over, oldest first."""
    return [e for e in sorted(entries, key=lambda e: (e.updated_at, e.source_id))
            if datetime.fromtimestamp(e.updated_at, UTC) + backoff.delay(e.attempts) <= now]


def retry_key(name: str, entries: Sequence[Entry]) -> str:
    """A run key from the records and their attempts: the same set at the same attempts is asked once."""
    digest = hashlib.sha256(json.dumps(sorted((e.source_id, e.attempts) for e in entries)).encode())
    return f"transient-retry:{name}:{digest.hexdigest()[:16]}"


def plan(spec: RetrySpec, asked: Asked | None, state: RunState, ready: Sequence[Entry],
         now: datetime) -> tuple[Asked | None, str]:
    """The next ask for one spec (None: nothing now) and why; `state` is the run of `asked`."""
    key = retry_key(spec.name, ready) if ready else None
    if asked is not None:
        failed = failed_at(asked.requested_at, state, now, spec.backoff)
        if state.status != "success" and failed is None:
            return None, f"{spec.name}: retry run {asked.run_key} still queued or running"
        if failed is not None and key == asked.key:  # failed before claiming: the same records, as they were
            if asked.round + 1 >= spec.max_attempts:
                return None, f"{spec.name}: gave up on {asked.key} after {asked.round + 1} runs"
            when = failed + spec.backoff.delay(asked.round + 1)
            if now < when:
                return None, f"{spec.name}: retry run failed; asking again after {when.isoformat()}"
            return Asked(asked.key, asked.round + 1, now), f"{spec.name}: asking again ({asked.round + 1})"
        if key == asked.key:
            return None, f"{spec.name}: {key} already retried"
    if key is None:
        return None, f"{spec.name}: no transient failure due"
    return Asked(key, 0, now), f"{spec.name}: retrying {len(ready)} record(s)"


def load_asked(text: str | None) -> dict[str, Asked]:
    if not text:
        return {}
    data = json.loads(text)
    if data.get("v") != CURSOR_VERSION:
        raise ValueError(f"unsupported retry cursor {text!r}: reset it with `dagster sensor cursor`")
    return {name: Asked(a["key"], int(a["round"]), datetime.fromisoformat(a["requested_at"]))
            for name, a in data.get("asked", {}).items()}


def dump_asked(asked: dict[str, Asked]) -> str:
    return json.dumps({"v": CURSOR_VERSION, "asked": {
        name: {"key": a.key, "round": a.round, "requested_at": a.requested_at.astimezone(UTC).isoformat()}
        for name, a in sorted(asked.items())}})


# --- the Dagster part ---------------------------------------------------------------------------
def build_transient_retry_sensor(name: str, specs: Sequence[RetrySpec], *, minimum_interval_seconds: int = 120,
                                 default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
                                 ) -> dg.SensorDefinition:
    """A sensor re-driving the transient failures of each spec's ledger flow through the spec's job."""

    @dg.sensor(name=name, jobs=list({id(s.job): s.job for s in specs}.values()),
               minimum_interval_seconds=minimum_interval_seconds, default_status=default_status,
               description="Re-drives records that failed because a system was unavailable (bounded, with backoff).")
    def _sensor(context: dg.SensorEvaluationContext, state: StateResource) -> dg.SensorResult:
        asked, now, instance = load_asked(context.cursor), polling.utcnow(), instance_of(context)
        ledger = state.ledger()
        requests, notes = [], []
        for spec in specs:
            previous = asked.get(spec.name)
            run = run_states(instance, [previous.run_key])[previous.run_key] if previous else RunState("missing")
            ready = due(ledger.transient_failures(spec.flow, spec.max_attempts), now, spec.backoff)[:spec.batch]
            ask, note = plan(spec, previous, run, ready, now)
            notes.append(note)
            if ask is not None:
                asked[spec.name] = ask
                requests.append(_request(spec, ask, ready))
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=dump_asked(asked))
        return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=dump_asked(asked))

    return _sensor


def _request(spec: RetrySpec, ask: Asked, entries: Sequence[Entry]) -> dg.RunRequest:
    return dg.RunRequest(run_key=ask.run_key, job_name=spec.job.name, run_config=spec.run_config(entries),
                         tags={"ml-connector/retry": "transient", "ml-connector/retry-flow": spec.flow})

"""Polling that never skips a window: cursors advance only past windows whose run succeeded.

A polling sensor keeps, per stream (e.g. ShipStation order `modifyDate`, label `createDate`), a
*confirmed* position (every record dated up to it was read by a successful run) and the windows it
requested but has not seen succeed. Each tick looks those runs up on the Dagster instance:

- a succeeded run confirms its window: the position moves to the window's end;
- a failed or canceled run (or one never seen long after it was asked for) has its window asked
  again under `<key>:retry-N`, after a backoff from the failed run's end, for as long as it takes
  (an outage of any length must not lose a window);
- while a window's run is queued or running nothing else is asked for, so there is one run per
  stream at a time; only then does the sensor probe for news and open the next window, starting
  an overlap before the *confirmed* position, so nothing between is skipped.

Every window starts at or before the confirmed position at the time it is asked for, and that
position never moves back, so a success always joins up with what is confirmed: it simply moves
the position to `max(position, end)`. The pure functions below hold the rules; `poll_stream` is
the thin Dagster part. The cursor is a small versioned JSON value (`PollCursor`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import dagster as dg

from pipelines.windows import parse_instant

CURSOR_VERSION = 2
RUN_KEY_TAG = "dagster/run_key"
Status = Literal["success", "failure", "in_flight", "missing"]
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class Backoff:
    """Wait `base * 2**(attempt-1)`, at most `cap`, before asking again; a run unseen for `lost_after` failed."""

    base: timedelta = timedelta(minutes=2)
    cap: timedelta = timedelta(minutes=30)
    lost_after: timedelta = timedelta(minutes=15)

    def delay(self, attempt: int) -> timedelta:
        return min(self.cap, self.base * 2 ** min(max(0, attempt - 1), 30))  # attempts are unbounded


@dataclass(frozen=True)
class RunState:
    """What the instance says about the run(s) of one run key."""

    status: Status
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Requested:
    """A window asked for and not yet confirmed: `key` is the window's own run key, `attempt` 0 the first ask."""

    start: datetime
    end: datetime
    key: str
    attempt: int
    requested_at: datetime

    @property
    def run_key(self) -> str:
        return self.key if self.attempt == 0 else f"{self.key}:retry-{self.attempt}"

    def to_json(self) -> dict:
        return {"start": _iso(self.start), "end": _iso(self.end), "key": self.key, "attempt": self.attempt,
                "requested_at": _iso(self.requested_at)}

    @classmethod
    def from_json(cls, data: dict) -> Requested:
        return cls(parse_instant(data["start"]), parse_instant(data["end"]), data["key"], int(data["attempt"]),
                   parse_instant(data["requested_at"]))


@dataclass(frozen=True)
class Stream:
    """One polled stream: the confirmed position and the windows asked for beyond it."""

    confirmed: datetime | None = None
    outstanding: tuple[Requested, ...] = ()

    def to_json(self) -> dict:
        return {"confirmed": _iso(self.confirmed) if self.confirmed else None,
                "outstanding": [r.to_json() for r in self.outstanding]}

    @classmethod
    def from_json(cls, data: dict) -> Stream:
        confirmed = data.get("confirmed")
        return cls(parse_instant(confirmed) if confirmed else None,
                   tuple(Requested.from_json(r) for r in data.get("outstanding") or []))


@dataclass(frozen=True)
class PollCursor:
    """A sensor's cursor: named streams. Version 1 cursors are migrated by the sensor's `legacy` reader."""

    streams: dict[str, Stream] = field(default_factory=dict)

    def stream(self, name: str) -> Stream:
        return self.streams.get(name, Stream())

    def with_stream(self, name: str, stream: Stream) -> PollCursor:
        return PollCursor({**self.streams, name: stream})

    def dump(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, "streams": {k: s.to_json() for k, s in sorted(self.streams.items())}})

    @classmethod
    def load(cls, text: str | None, legacy: Callable[[dict], PollCursor] | None = None) -> PollCursor:
        """Parse a cursor; a v1 cursor goes through `legacy`. Unknown versions are refused loudly."""
        if not text:
            return cls()
        data = json.loads(text)
        if data.get("v") == CURSOR_VERSION:
            return cls({k: Stream.from_json(v) for k, v in data.get("streams", {}).items()})
        if data.get("v") == 1 and legacy is not None:
            return legacy(data)
        raise ValueError(f"unsupported cursor {text!r}: reset it with `dagster sensor cursor`")


# --- the rules (pure) ---------------------------------------------------------------------------
def settle(stream: Stream, states: dict[str, RunState]) -> Stream:
    """Confirm windows whose run succeeded; drop windows a confirmed one already covers."""
    confirmed = stream.confirmed
    for req in stream.outstanding:
        if states.get(req.run_key, RunState("missing")).status == "success":
            confirmed = req.end if confirmed is None else max(confirmed, req.end)
    left = tuple(r for r in stream.outstanding
                 if states.get(r.run_key, RunState("missing")).status != "success"
                 and (confirmed is None or r.end > confirmed))
    return Stream(confirmed, left)


def failed_at(requested_at: datetime, state: RunState, now: datetime, backoff: Backoff) -> datetime | None:
    """When a run asked for at `requested_at` failed (or was given up as lost), or None while it may succeed."""
    if state.status == "failure":
        return state.ended_at or requested_at
    if state.status == "missing" and now - requested_at >= backoff.lost_after:
        return requested_at + backoff.lost_after
    return None


def retry_due(stream: Stream, states: dict[str, RunState], now: datetime,
              backoff: Backoff) -> tuple[Stream, Requested | None, str | None]:
    """After `settle`: a re-request that is due, else why to wait; (stream, None, None) leaves the stream free.

    While any window's run may still succeed, nothing is asked. Otherwise the failed window reaching
    furthest is asked again (it covers the others, which all start at or before the position) once
    its backoff is over, and the others are dropped: one re-request at a time.
    """
    if not stream.outstanding:
        return stream, None, None
    failures = {r.run_key: failed_at(r.requested_at, states.get(r.run_key, RunState("missing")), now, backoff)
                for r in stream.outstanding}
    if any(when is None for when in failures.values()):
        return stream, None, "a window's run is still queued or running"
    widest = max(stream.outstanding, key=lambda r: (r.end, r.attempt))
    due = failures[widest.run_key] + backoff.delay(widest.attempt + 1)
    if now < due:
        return stream, None, f"window {widest.key} failed; asking again after {_iso(due)}"
    again = replace(widest, attempt=widest.attempt + 1, requested_at=now)
    return Stream(stream.confirmed, (again,)), again, None


def open_window(stream: Stream, newest: datetime | None, default_start: datetime, overlap: timedelta,
                key_for: Callable[[datetime, datetime], str], now: datetime) -> tuple[Stream, Requested | None]:
    """A new window from an overlap before the confirmed position up to `newest`, if anything is newer."""
    if newest is None or (stream.confirmed is not None and newest <= stream.confirmed):
        return stream, None
    start = default_start if stream.confirmed is None else max(default_start, stream.confirmed - overlap)
    req = Requested(start, newest, key_for(start, newest), 0, now)
    return Stream(stream.confirmed, (*stream.outstanding, req)), req


def probe_since(stream: Stream, default_start: datetime) -> datetime:
    """Where the cheap "anything new?" probe starts: the confirmed position, else the sync start."""
    return stream.confirmed or default_start


# --- the Dagster part ---------------------------------------------------------------------------
def run_state(records: Iterable[dg.RunRecord]) -> RunState:
    """One run key's state from its runs (a key may have several, e.g. a manual re-execution)."""
    runs = list(records)
    if not runs:
        return RunState("missing")
    if any(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs):
        return RunState("success")
    if all(r.dagster_run.status in _FAILED for r in runs):
        ends = [r.end_time or r.update_timestamp.timestamp() for r in runs]
        return RunState("failure", datetime.fromtimestamp(max(ends), UTC))
    return RunState("in_flight")


def run_states(instance: dg.DagsterInstance | None, run_keys: Iterable[str]) -> dict[str, RunState]:
    """The state of each run key on the instance; without an instance (a bare test context) all are missing."""
    if instance is None:
        return {key: RunState("missing") for key in run_keys}
    return {key: run_state(instance.get_run_records(dg.RunsFilter(tags={RUN_KEY_TAG: key})))
            for key in run_keys}


def instance_of(context: dg.SensorEvaluationContext) -> dg.DagsterInstance | None:
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:
        return None


@dataclass(frozen=True)
class StreamTick:
    stream: Stream
    request: Requested | None
    note: str


def poll_stream(instance: dg.DagsterInstance | None, stream: Stream, *, now: datetime, default_start: datetime,
                probe: Callable[[datetime], datetime | None], key_for: Callable[[datetime, datetime], str],
                overlap: timedelta, backoff: Backoff = Backoff()) -> StreamTick:
    """One tick of one stream: settle finished runs, re-ask a failed window when due, else probe and open one."""
    states = run_states(instance, [r.run_key for r in stream.outstanding])
    stream = settle(stream, states)
    stream, again, wait = retry_due(stream, states, now, backoff)
    if again is not None:
        return StreamTick(stream, again, f"asking again for window {again.key} (retry {again.attempt})")
    if wait is not None:
        return StreamTick(stream, None, wait)
    stream, req = open_window(stream, probe(probe_since(stream, default_start)), default_start, overlap, key_for, now)
    return StreamTick(stream, req, "new window" if req else "nothing newer than the confirmed position")


def run_request(req: Requested, run_config: dict, *, job_name: str | None = None,
                tags: Mapping[str, str] | None = None) -> dg.RunRequest:
    """The run asked for a window: keyed by the window (and attempt), tagged with both (and any `tags`)."""
    return dg.RunRequest(run_key=req.run_key, run_config=run_config, job_name=job_name, tags={
        "ml-connector/window": f"{req.start.isoformat()}..{req.end.isoformat()}",
        "ml-connector/attempt": str(req.attempt), **(tags or {})})


def sensor_result(requests: list[dg.RunRequest], cursor: PollCursor, notes: Iterable[str]) -> dg.SensorResult:
    """The runs to ask for and the cursor, saved even on a skip (confirmations move it too)."""
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
    return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=cursor.dump())


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def utcnow() -> datetime:
    """The polling sensors' clock (a test moves it forward to simulate hours passing)."""
    return datetime.now(UTC)

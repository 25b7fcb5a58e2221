"""The polling rules with hand-built run states: no window is ever skipped, failed ones are asked again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.polling import (
    Backoff,
    PollCursor,
    Requested,
    RunState,
    Stream,
    open_window,
    retry_due,
    settle,
)
from pipelines.shipstation_tally.window import legacy_orders_cursor, legacy_shipments_cursor

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
OVERLAP = timedelta(hours=2)
BACKOFF = Backoff(base=timedelta(minutes=2), cap=timedelta(minutes=30), lost_after=timedelta(minutes=15))


def key(start: datetime, end: datetime) -> str:
    return f"w:{start:%H%M}-{end:%H%M}"


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def asked(start: datetime, end: datetime, attempt: int = 0, at: datetime = T0) -> Requested:
    return Requested(start, end, key(start, end), attempt, at)


def test_first_window_starts_at_the_sync_start_and_later_ones_an_overlap_before_the_position():
    stream, req = open_window(Stream(), h(0), START, OVERLAP, key, T0)
    assert (req.start, req.end, req.run_key) == (START, h(0), key(START, h(0)))
    assert stream.outstanding == (req,) and stream.confirmed is None
    stream, req = open_window(Stream(h(0)), h(1), START, OVERLAP, key, T0)
    assert req.start == h(-2) and req.end == h(1)


def test_nothing_newer_opens_no_window():
    assert open_window(Stream(h(1)), h(1), START, OVERLAP, key, T0) == (Stream(h(1)), None)
    assert open_window(Stream(h(1)), None, START, OVERLAP, key, T0) == (Stream(h(1)), None)


def test_success_confirms_the_window_and_failure_keeps_it():
    req = asked(h(-2), h(1))
    assert settle(Stream(h(0), (req,)), {req.run_key: RunState("success")}) == Stream(h(1), ())
    failed = {req.run_key: RunState("failure", h(1.1))}
    assert settle(Stream(h(0), (req,)), failed) == Stream(h(0), (req,))


def test_a_run_still_running_or_just_asked_for_blocks_everything_else():
    req = asked(h(-2), h(1))
    for state in (RunState("in_flight"), RunState("missing")):
        stream, again, wait = retry_due(Stream(h(0), (req,)), {req.run_key: state}, h(0.1), BACKOFF)
        assert again is None and "queued or running" in wait


def test_failed_window_is_asked_again_after_backoff_under_a_retry_key():
    req = asked(h(-2), h(1))
    states = {req.run_key: RunState("failure", h(1))}
    _, again, wait = retry_due(Stream(h(0), (req,)), states, h(1) + timedelta(minutes=1), BACKOFF)
    assert again is None and "asking again after" in wait
    stream, again, wait = retry_due(Stream(h(0), (req,)), states, h(1) + timedelta(minutes=2), BACKOFF)
    assert wait is None and again.run_key == f"{req.key}:retry-1"
    assert (again.start, again.end) == (req.start, req.end) and stream.outstanding == (again,)


def test_backoff_grows_to_its_cap_and_never_gives_up():
    assert [BACKOFF.delay(n) for n in (1, 2, 3, 4, 5, 6, 50)] == [
        timedelta(minutes=m) for m in (2, 4, 8, 16, 30, 30, 30)]
    req = asked(h(-2), h(1), attempt=500)
    _, again, _ = retry_due(Stream(h(0), (req,)), {req.run_key: RunState("failure", h(1))}, h(2), BACKOFF)
    assert again.run_key == f"{req.key}:retry-501"


def test_a_run_never_seen_is_given_up_as_lost_and_asked_again():
    req = asked(h(-2), h(1), at=h(1))
    _, again, _ = retry_due(Stream(h(0), (req,)), {}, h(1) + timedelta(minutes=16), BACKOFF)
    assert again is None
    _, again, _ = retry_due(Stream(h(0), (req,)), {}, h(1) + timedelta(minutes=17), BACKOFF)
    assert again is not None and again.attempt == 1


def test_the_widest_failed_window_is_the_one_re_asked_and_covers_the_others():
    a, b = asked(h(-2), h(1)), asked(h(-2), h(3))
    states = {a.run_key: RunState("failure", h(3)), b.run_key: RunState("failure", h(3))}
    stream, again, _ = retry_due(Stream(h(0), (a, b)), states, h(4), BACKOFF)
    assert again.key == b.key and stream.outstanding == (again,)


def test_a_later_success_covers_earlier_failed_windows():
    a, b = asked(h(-2), h(1)), asked(h(-2), h(3))
    stream = settle(Stream(h(0), (a, b)), {a.run_key: RunState("failure", h(2)), b.run_key: RunState("success")})
    assert stream == Stream(h(3), ())


def test_six_hour_outage_then_recovery_skips_nothing():
    """Runs fail for six hours while news keeps coming; afterwards the position covers everything seen."""
    stream, clock, news, reads = Stream(), T0, T0, []
    for _ in range(60):
        clock, news = clock + timedelta(minutes=10), news + timedelta(minutes=10)
        up = clock >= T0 + timedelta(hours=6)
        states = {r.run_key: RunState("success" if up else "failure", clock) for r in stream.outstanding}
        stream = settle(stream, states)
        stream, again, wait = retry_due(stream, states, clock, BACKOFF)
        if again is None and wait is None:
            stream, again = open_window(stream, news, START, OVERLAP, key, clock)
        if again is not None:
            reads.append((again.start, again.end))
    assert stream.confirmed is not None and stream.confirmed >= news - timedelta(minutes=10)
    covered = START
    for start, end in reads:  # every window starts at or before what earlier windows reached
        assert start <= covered
        covered = max(covered, end)


def test_cursor_round_trips_and_migrates_v1():
    req = asked(h(-2), h(1), attempt=3)
    cursor = PollCursor({"modify": Stream(h(0), (req,))})
    assert PollCursor.load(cursor.dump()) == cursor and json.loads(cursor.dump())["v"] == 2
    v1 = json.dumps({"v": 1, "modify_date": h(0).isoformat()})
    assert PollCursor.load(v1, legacy_orders_cursor) == PollCursor({"modify": Stream(h(0))})
    shipments_v1 = json.dumps({"v": 1, "kind": "shipments", "create_date": h(0).isoformat(), "void_date": None})
    assert PollCursor.load(shipments_v1, legacy_shipments_cursor) == PollCursor(
        {"create": Stream(h(0)), "void": Stream(None)})
    with pytest.raises(ValueError):
        PollCursor.load(v1, legacy_shipments_cursor)
    with pytest.raises(ValueError):
        PollCursor.load('{"v": 9}')

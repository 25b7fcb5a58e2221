"""Sensors that tell operations about exceptions as they appear, and about failed runs."""

import json
import time

import dagster as dg

from pipelines.reconciliation.alerts import AlertDeliveryError, exception_alerts, ledger_alerts, message, send
from resources import AlertResource, StateResource
from state.ledger import Entry

ALERT_STATES = ("failed", "waiting")  # changes seen through the cursor; stuck `pending` is looked for each tick


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def operations_alerts_sensor(context: dg.SensorEvaluationContext, state: StateResource,
                             alerts: AlertResource) -> dg.SensorResult:
    """New failed, waiting or stuck sync records and new unexplained reconciliation exceptions, as one alert."""
    cursor = {"ledger": time.time() - 3600, "exceptions": 0.0, "stuck": [],
              **(json.loads(context.cursor) if context.cursor else {})}
    ledger = state.ledger()
    changed = ledger.changed_since(cursor["ledger"], ALERT_STATES)
    stuck, stuck_keys = new_stuck(ledger.stuck_pending(), set(cursor["stuck"]))
    rows = new_exceptions(state, cursor["exceptions"])
    found = [*ledger_alerts([*changed, *stuck]), *exception_alerts(rows)]
    advanced = {"ledger": max([cursor["ledger"], *(e.updated_at for e in changed)]),
                "exceptions": max([cursor["exceptions"], *(float(r["detected_epoch"]) for r in rows)]),
                "stuck": stuck_keys}
    if not found:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new exceptions"), cursor=json.dumps(advanced))
    deliver(context.log, alerts.url(), message(found))
    return dg.SensorResult(skip_reason=dg.SkipReason(f"alerted {len(found)} new exception(s)"),
                           cursor=json.dumps(advanced))


def stuck_key(entry: Entry) -> str:
    """One claim of one record: a later claim of the same record that gets stuck is a new problem."""
    return f"{entry.flow}|{entry.source_id}|{entry.target}|{entry.claimed_at or entry.updated_at}"


def new_stuck(stuck: list[Entry], alerted: set[str]) -> tuple[list[Entry], list[str]]:
    """Stuck entries not alerted yet, and the keys to remember: every one still stuck (the rest are settled).

    A run that dies never updates its `pending` entries again, so they are found by state, not by time.
    """
    keys = {stuck_key(e): e for e in stuck}
    return [e for key, e in keys.items() if key not in alerted], sorted(keys)


def new_exceptions(state: StateResource, after: float) -> list[dict]:
    """Unexplained reconciliation exceptions detected after `after` (epoch seconds)."""
    with state.staging().connect() as conn:
        exists = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'recon_exceptions'")
        if not exists.fetchone()[0]:
            return []
        frame = conn.execute("SELECT *, epoch(detected_at) AS detected_epoch FROM recon_exceptions"
                             " WHERE NOT explained AND epoch(detected_at) > ? ORDER BY detected_at LIMIT 1000",
                             [after]).df()
    return frame.to_dict("records")


def deliver(log, url: str, text: str) -> None:
    if not url:
        log.warning(text)
        return
    try:
        send(url, text)
    except AlertDeliveryError as exc:  # the cursor still moves: the same alert must not repeat every minute
        log.error(f"{exc}; the alert was:\n{text}")


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.STOPPED)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertResource) -> None:
    """A failed run, with its error, to the same place as the other alerts."""
    run = context.dagster_run
    error = context.failure_event.message if context.failure_event else "no error message"
    deliver(context.log, alerts.url(), f"ml-connector: run {run.run_id} of {run.job_name} failed: {error}")

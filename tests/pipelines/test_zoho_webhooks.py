"""Zoho Books webhooks end to end: the Zoho simulator delivers to our running receiver, the sensor wakes the
contacts run, and the new contact shows up where the contacts flow reports it.

Everything over real HTTP on loopback: the simulator's delivery thread POSTs signed contact events to
the receiver; the sensor is evaluated on a real Dagster instance and its run request executed as the
daemon would (job, run config, asset selection, tags).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.test_utils import create_run_for_test

from ml_connector.runner import instance_for
from ml_connector.webhooks.app import create_receiver_app
from ml_connector.webhooks.zoho import ZOHO_PATH, ZohoSource
from pipelines.shipstation_zoho import jobs, webhook_sensor
from pipelines.shipstation_zoho.contact_assets import FROM_ZOHO
from pipelines.shipstation_zoho.webhook_sensor import WOKEN_BY, WOKEN_TAG, zoho_contacts_webhook_sensor
from resources import StateResource
from sandbox.runner import ServedApp
from state.webhook_queue import WebhookStore, queue_path
from tests.pipelines.test_shipstation_zoho_flow import Stack, stack  # noqa: F401  (the pair's fixture)

SECRET = "ZohoHookSecret2026"
NEW_EMAIL = "meera.iyer@example.org"


@pytest.fixture
def receiver(stack: Stack) -> Iterator[tuple[ServedApp, WebhookStore]]:  # noqa: F811
    """Our receiver with the Zoho source only (no ShipStation secret), on the stack's queue."""
    with WebhookStore(queue_path(stack.home)) as store:
        app = create_receiver_app(store=store, secret=None, secret_header=None, jwks=None,
                                  shipstation_base_url=stack.sandbox.shipstation.base_url,
                                  sources=[ZohoSource(SECRET)])
        with ServedApp(app) as served:
            yield served, store


def control(stack: Stack, path: str, body: dict[str, Any] | None = None) -> Any:  # noqa: F811
    answer = httpx.post(f"{stack.books.base_url}/__sandbox/{path}", json=body or {}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def new_contact_in_zoho_ui(stack: Stack, name: str = "Meera Iyer", email: str = NEW_EMAIL) -> dict:  # noqa: F811
    first, last = name.split(" ", 1)
    return control(stack, "contacts", {"contact_name": name, "contact_persons": [
        {"first_name": first, "last_name": last, "email": email, "is_primary_contact": True}]})


def tick(stack: Stack, instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:  # noqa: F811
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"state": StateResource(home=str(stack.home))}) as context:
        return zoho_contacts_webhook_sensor(context)


def execute(stack: Stack, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:  # noqa: F811
    job = stack.definitions().resolve_job_def(request.job_name or jobs.CONTACTS_JOB)
    return job.execute_in_process(instance=instance, run_config=request.run_config, tags=request.tags,
                                  asset_selection=request.asset_selection, raise_on_error=False)


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """Each materialised asset's metadata, tables as lists of rows."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out["/".join(mat.asset_key.path)] = {key: [dict(r.data) for r in value.records]
                                             if isinstance(value, dg.TableMetadataValue) else value.value
                                             for key, value in mat.metadata.items()}
    return out


def test_a_contact_created_in_zoho_wakes_the_contacts_run_once_and_is_reported(stack, receiver):  # noqa: F811
    served, store = receiver
    instance = instance_for(stack.home)
    assert stack.run(jobs.CONTACTS_JOB).success  # ShipStation's customers are staged, as after any poll
    url = served.base_url + ZOHO_PATH
    for _ in range(2):  # two hooks on one URL: the same signed delivery arrives twice
        control(stack, "webhooks", {"url": url, "secret": SECRET})
    control(stack, "webhooks", {"url": url, "secret": "SomeoneElses2026"})
    contact = new_contact_in_zoho_ui(stack)
    log = control(stack, "webhooks/flush")
    assert sorted(entry["status"] for entry in log) == [200, 200, 401]
    [event] = store.after(0)
    assert (event.source, event.resource_type) == ("zoho", "ZOHO_CONTACT")
    assert event.resource_url == f"zoho:contacts/{contact['contact_id']}"

    woke = tick(stack, instance)
    [request] = woke.run_requests
    assert request.asset_selection == [FROM_ZOHO] and request.run_key == f"zoho-webhooks:{event.id}-{event.id}"
    assert store.after(0)[0].run_key == request.run_key  # drained with the run's key
    contacts_before = len(stack.org().contacts)
    result = execute(stack, instance, request)
    assert result.success
    assets = materialized(result)
    assert list(assets) == ["zoho_books/contacts_from_zoho"]  # only the read of Zoho: ShipStation untouched
    assert NEW_EMAIL in {row["email"] for row in assets["zoho_books/contacts_from_zoho"]["not_pushed"]}
    assert len(stack.org().contacts) == contacts_before  # the woken run wrote nothing to Zoho

    assert not tick(stack, instance, woke.cursor).run_requests  # drained: never a second run


@pytest.mark.parametrize("released_by", ["the run ending", "the run being stuck past the limit"])
def test_events_arriving_while_a_woken_run_is_in_flight_wait_and_coalesce(stack, receiver, released_by,  # noqa: F811
                                                                          monkeypatch):
    served, store = receiver
    instance = instance_for(stack.home)
    control(stack, "webhooks", {"url": served.base_url + ZOHO_PATH, "secret": SECRET})
    in_flight = create_run_for_test(instance, job_name=jobs.CONTACTS_JOB, status=dg.DagsterRunStatus.STARTED,
                                    tags={WOKEN_TAG: WOKEN_BY})
    for n in range(3):
        new_contact_in_zoho_ui(stack, f"Guest Number{n}", f"guest{n}@example.org")
    control(stack, "webhooks/flush")
    assert store.count() == 3
    waiting = tick(stack, instance)
    assert not waiting.run_requests and store.count(undrained_only=True) == 3
    if released_by == "the run ending":
        instance.report_run_failed(in_flight)
    else:  # a dead worker's run stays STARTED; past the limit it holds nothing back
        monkeypatch.setattr(webhook_sensor, "IN_FLIGHT_LIMIT", timedelta(0))
    [request] = tick(stack, instance, waiting.cursor).run_requests
    assert request.run_key == "zoho-webhooks:1-3" and store.count(undrained_only=True) == 0
    assert execute(stack, instance, request).success


def test_without_a_zoho_secret_the_receiver_refuses_and_polling_still_finds_the_contact(stack):  # noqa: F811
    with WebhookStore(queue_path(stack.home)) as store:
        app = create_receiver_app(store=store, secret="shipstation-secret-0123456789", secret_header=None,
                                  jwks=None, shipstation_base_url=stack.sandbox.shipstation.base_url)
        with ServedApp(app) as served:
            control(stack, "webhooks", {"url": served.base_url + ZOHO_PATH, "secret": SECRET})
            new_contact_in_zoho_ui(stack)
            [entry] = control(stack, "webhooks/flush")
        assert (entry["status"], store.count()) == (404, 0)
    result = stack.run(jobs.CONTACTS_JOB)  # the lost webhook changes nothing: the poll's run reports it
    assert result.success
    assert NEW_EMAIL in {row["email"] for row in result.assets["zoho_books/contacts_from_zoho"]["not_pushed"]}


def test_a_hook_url_with_a_query_string_is_signed_over_its_pairs_and_still_verifies(stack, receiver):  # noqa: F811
    served, store = receiver
    control(stack, "webhooks", {"url": served.base_url + ZOHO_PATH + "?org=acme&b=2", "secret": SECRET})
    new_contact_in_zoho_ui(stack)
    assert [entry["status"] for entry in control(stack, "webhooks/flush")] == [200]
    assert [e.resource_type for e in store.after(0)] == ["ZOHO_CONTACT"]

"""The ml-connector code location: one Definitions object for every flow."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg
from dagster._core.definitions.partitions.partitioned_schedule import UnresolvedPartitionedAssetScheduleDefinition
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._record import replace as record_replace

from connectors.common.timezones import local_date
from ml_connector.config import Settings
from pipelines.acumatica_shipstation import definitions as acumatica_shipstation
from pipelines.flow import PairDefinitions
from pipelines.reconciliation import assets as reconciliation
from pipelines.reconciliation.alert_sensors import operations_alerts_sensor, run_failure_alerts
from pipelines.registry import FLOWS
from pipelines.replay import build_replay_job
from pipelines.shipstation_tally import definitions as shipstation_tally
from pipelines.shipstation_zoho import definitions as shipstation_zoho
from pipelines.walmart_tally import definitions as walmart_tally
from resources import (
    AcumaticaResource,
    AlertResource,
    ShipStationResource,
    ShipStationV2Resource,
    StateResource,
    TallyResource,
    WalmartResource,
    ZohoBooksResource,
    stored,
)

MERCHANT_TAG = "ml-connector/merchant"


def pairs(settings: Settings) -> list[PairDefinitions]:
    """Every system pair the merchant has configured: adding a pair adds one line here."""
    candidates = [
        (True, lambda: shipstation_tally.definitions(settings, settings)),  # the default pair
        (bool(settings.walmart_client_id), lambda: walmart_tally.definitions(settings, settings)),
        (bool(settings.zoho_organization_id), lambda: shipstation_zoho.definitions(settings)),
        (bool(settings.acumatica_url), lambda: acumatica_shipstation.definitions(settings)),
    ]
    # A pair whose system is not configured adds nothing: no assets, sensors or exceptions for a system the
    # merchant does not use.
    return [build() for configured, build in candidates if configured]


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Connection resources from settings, and each pair's own; secrets stay `EnvVar`s or credential-store names,
    read at run time, never shown."""
    def secret(name: str) -> dg.EnvVar | str:
        if not getattr(settings, name.lower()).get_secret_value():
            return ""
        return dg.EnvVar(name) if os.environ.get(name) else stored(name)

    return {
        "shipstation": ShipStationResource(base_url=settings.shipstation_base_url,
                                           api_key=secret("SHIPSTATION_API_KEY") or dg.EnvVar("SHIPSTATION_API_KEY"),
                                           api_secret=secret("SHIPSTATION_API_SECRET")
                                           or dg.EnvVar("SHIPSTATION_API_SECRET")),
        "shipstation_v2": ShipStationV2Resource(
            base_url=settings.shipstation_v2_base_url, api_key=secret("SHIPSTATION_V2_API_KEY"),
            location_id=settings.shipstation_inventory_location_id),
        "tally": TallyResource(url=settings.tally_url, company=settings.tally_company,
                               agent_token=secret("TALLY_AGENT_TOKEN"), username=secret("TALLY_USERNAME"),
                               password=secret("TALLY_PASSWORD"), ca_cert=settings.tally_ca_cert,
                               timeout_seconds=settings.tally_timeout_seconds),
        "state": StateResource(home=str(settings.ml_connector_home.resolve())),
        "alerts": AlertResource(webhook_url=secret("ALERT_WEBHOOK_URL")),
        "walmart": WalmartResource(base_url=settings.walmart_base_url, client_id=settings.walmart_client_id,
                                   client_secret=secret("WALMART_CLIENT_SECRET") or stored("WALMART_CLIENT_SECRET"),
                                   svc_name=settings.walmart_svc_name,
                                   state_home=str(settings.ml_connector_home.resolve())),
        "acumatica": AcumaticaResource(
            url=settings.acumatica_url, endpoint_version=settings.acumatica_endpoint_version,
            endpoint_name=settings.acumatica_endpoint_name, tenant=settings.acumatica_tenant,
            branch=settings.acumatica_branch, username=settings.acumatica_username,
            password=secret("ACUMATICA_PASSWORD") or stored("ACUMATICA_PASSWORD"),
            client_id=settings.acumatica_client_id, client_secret=secret("ACUMATICA_CLIENT_SECRET")),
        "zoho_books": ZohoBooksResource(
            data_centre=settings.zoho_data_centre, accounts_url=settings.zoho_accounts_url,
            client_id=settings.zoho_client_id,
            client_secret=secret("ZOHO_CLIENT_SECRET") or stored("ZOHO_CLIENT_SECRET"),
            refresh_token=secret("ZOHO_REFRESH_TOKEN") or stored("ZOHO_REFRESH_TOKEN"),
            organization_id=settings.zoho_organization_id, daily_limit=settings.zoho_daily_limit,
            concurrency=settings.zoho_concurrency, requests_per_minute=settings.zoho_requests_per_minute),
        **{key: resource for part in pairs(settings) for key, resource in part.resources.items()},
    }


def reconciliation_definitions(settings: Settings, packs: list) -> tuple[list, list, list]:
    """Reconciliation assets, jobs and schedules; partitions start on the sync start's day in the books' zone."""
    start = local_date(settings.shipstation_sync_start, settings.tally_timezone)
    assets = reconciliation.build_reconciliation_assets(start, settings.tally_timezone, packs)
    tags = {MERCHANT_TAG: settings.merchant} if settings.merchant else {}
    daily = dg.define_asset_job(
        "reconciliation", selection=dg.AssetSelection.groups(reconciliation.GROUP) - dg.AssetSelection.assets(
            reconciliation.REPORT),
        description="Snapshot both sides for the day(s) and find every exception, record by record.", tags=tags)
    monthly = dg.define_asset_job("month_end_report", selection=dg.AssetSelection.assets(reconciliation.REPORT),
                                  description="The month's reconciliation report: HTML, CSV, .xlsx.", tags=tags)
    schedules = [
        dg.build_schedule_from_partitioned_job(daily, hour_of_day=2, default_status=dg.DefaultScheduleStatus.STOPPED),
        dg.build_schedule_from_partitioned_job(monthly, day_of_month=1, hour_of_day=6,
                                               default_status=dg.DefaultScheduleStatus.STOPPED),
    ]
    return assets, [daily, monthly], schedules


def merchant_tagged(jobs: list, schedules: list, sensors: list, merchant: str) -> tuple[list, list, list]:
    """Every job's runs tagged with the merchant (ML_CONNECTOR_MERCHANT, else the Tally company), so the UI
    filters one merchant's runs and failures; a job's own tags (its flow) stay. Schedules and sensors are
    pointed at the tagged jobs."""
    if not merchant:
        return jobs, schedules, sensors
    return rebuild_jobs(jobs, schedules, sensors, lambda job: {
        "tags": {**(job.tags or {}), MERCHANT_TAG: merchant},
        "run_tags": {**(job.run_tags or job.tags or {}), MERCHANT_TAG: merchant}})


def rebuild_jobs(jobs: list, schedules: list, sensors: list,
                 change: Callable[[Any], dict[str, Any]]) -> tuple[list, list, list]:
    """Asset jobs rebuilt with the attributes `change(job)` returns (tags, selection), other jobs as they are;
    schedules and sensors pointed at the rebuilt jobs. Dagster has no "same job, other tags": a job is
    defined again with every attribute it had."""
    rebuilt = {job.name: dg.define_asset_job(**{
        "name": job.name, "selection": job.selection, "config": job.config, "description": job.description,
        "tags": job.tags, "run_tags": job.run_tags, "metadata": job.metadata, "partitions_def": job.partitions_def,
        "executor_def": job.executor_def, "hooks": job.hooks, "op_retry_policy": job.op_retry_policy, **change(job)})
        for job in jobs if isinstance(job, UnresolvedAssetJobDefinition)}
    schedules = [_repointed(s, rebuilt) for s in schedules]
    with warnings.catch_warnings():  # a copied sensor passes on its `owners`, a beta parameter: nothing to act on
        warnings.simplefilter("ignore", dg.BetaWarning)
        sensors = [s.with_updated_jobs([rebuilt.get(j.name, j) for j in s.jobs]) if s.has_jobs else s
                   for s in sensors]
    return [rebuilt.get(job.name, job) for job in jobs], schedules, sensors


def _repointed(schedule: Any, jobs: dict[str, Any]) -> Any:
    """`schedule` pointed at its job in `jobs` (rebuilt), or as it is."""
    if isinstance(schedule, UnresolvedPartitionedAssetScheduleDefinition):  # built from a partitioned asset job
        return record_replace(schedule, job=jobs[schedule.job.name]) if schedule.job.name in jobs else schedule
    return schedule.with_updated_job(jobs[schedule.job.name]) if schedule.has_job and schedule.job.name in jobs \
        else schedule


def _replay_runner(settings: Settings):
    """How the `replay` job runs a flow's job: in its own process's instance, like `ml-connector replay`."""
    def run_flow(spec, config: dict, instance: dg.DagsterInstance) -> tuple[str, bool]:
        from ml_connector.runner import run_job

        summary = run_job(build_definitions(settings), spec.job, instance, config)
        return summary.run_id, summary.success and summary.failed_records == 0
    return run_flow


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    parts = pairs(settings)
    recon_assets, recon_jobs, recon_schedules = reconciliation_definitions(
        settings, [pack for part in parts for pack in part.rule_packs])
    jobs, schedules, sensors = merchant_tagged(
        [j for part in parts for j in part.jobs], [s for part in parts for s in part.schedules],
        [*(s for part in parts for s in part.sensors), operations_alerts_sensor, run_failure_alerts], settings.merchant)
    return dg.Definitions(
        assets=[*(a for part in parts for a in part.assets), *recon_assets],
        jobs=[*jobs, *recon_jobs, build_replay_job(FLOWS, _replay_runner(settings), settings)],
        schedules=[*schedules, *recon_schedules], sensors=sensors,
        resources=build_resources(settings),
    )


defs = build_definitions()

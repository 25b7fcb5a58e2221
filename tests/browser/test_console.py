"""The merchant's console in a real browser: Playwright drives Debian's Chromium through the Dagster UI.

The sandbox and the LAN agent start as for `make ui` (a small demo merchant, no runs made beforehand),
`dagster dev` serves the UI, and a person's clicks are replayed: find the ShipStation -> TallyPrime asset
graph, launch `shipstation_to_tally` and watch it succeed, launch a backfill of March 2026's
reconciliation partitions from the launch dialog and watch it complete, then open `recon/exceptions`,
follow its "report 2026-03" link and read the report finance signs off. Outcomes are checked against
the instance (GraphQL at /graphql) and the TallyPrime simulator, not only that pages loaded; the
screenshots land in docs/screenshots/, which the README shows.

Chromium is Debian's (`executable_path`, nothing downloaded); `--no-sandbox` because CI runs as root.
CI installs it (.ci/run) and sets ML_CONNECTOR_REQUIRE_BROWSER=1, so a missing Chromium or Playwright
fails there; elsewhere this module skips, saying why.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.test_report_browser import chromium  # skips without Chromium, or fails where CI requires it

# `make screenshots` refreshes the README's pictures; an ordinary test run writes its own beside the test's files.
SCREENSHOTS = Path(os.environ.get("ML_CONNECTOR_SCREENSHOTS") or tempfile.mkdtemp(prefix="ml-connector-screens-"))
VIEWPORT = {"width": 1280, "height": 900}
MONTH, DAYS = "2026-03", [f"2026-03-{day:02d}" for day in range(1, 32)]
LOCATION, PAIR_GROUP, JOB, RECON_JOB = "ml_connector", "shipstation_tally", "shipstation_to_tally", "reconciliation"
# Generous: the machine may have two busy cores. Nothing is asserted about how long anything took.
UI_TIMEOUT_S, RUN_TIMEOUT_S, BACKFILL_TIMEOUT_S = 240, 420, 600
STEP_TIMEOUT_MS = 120_000
FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def require(reason: str) -> None:
    """Skip with `reason`, or fail where CI promised a browser (ML_CONNECTOR_REQUIRE_BROWSER=1)."""
    if os.environ.get("ML_CONNECTOR_REQUIRE_BROWSER"):
        pytest.fail(f"The browser test needs {reason}.", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Console:
    url: str
    sandbox: Any
    state_dir: Path

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """`make ui`'s set-up on a fresh ML_CONNECTOR_HOME, without the demo's runs: the test makes its own."""
    from ml_connector.console import start_ui, stop_ui, wait_for_ui
    from ml_connector.demo import demo_environment
    from ml_connector.runner import instance_for

    saved = dict(os.environ)
    os.environ["ML_CONNECTOR_HOME"] = str(tmp_path / "home")
    try:
        with demo_environment("ui", seed=7, orders=40) as (sandbox, _agent, state_dir):
            instance_for(state_dir).dispose()  # DAGSTER_HOME with ml-connector's instance config, as the demo makes
            url = f"http://127.0.0.1:{free_port()}"
            # The merchant of this test uses ShipStation and TallyPrime only: the other pairs stay unconfigured.
            env = {k: v for k, v in os.environ.items() if not k.startswith(("WALMART_", "ZOHO_", "ACUMATICA_"))}
            ui = start_ui(env, int(url.rsplit(":", 1)[1]))
            try:
                assert wait_for_ui(url, ui, timeout=UI_TIMEOUT_S), f"`dagster dev` did not answer at {url}"
                yield Console(url, sandbox, state_dir)
            finally:
                stop_ui(ui)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A 1280x900 tab of Debian's Chromium; what it last showed is kept as <tmp_path>/last-page.png."""
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("Playwright for Python (a dev dependency: `pip install -e '.[dev]'`)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's own sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(STEP_TIMEOUT_MS)
            # Dagster's first-visit "Join the Dagster community" modal: skip it whenever it shows.
            tab.add_locator_handler(tab.get_by_role("button", name="Skip"), lambda skip: skip.click())
            yield tab
            tab.screenshot(path=tmp_path / "last-page.png")
        finally:
            browser.close()


def test_a_person_syncs_backfills_a_month_and_opens_its_report_from_the_dagster_ui(page, console):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # each step saves its screenshot once its outcome is asserted
    page.goto(console.url)

    find_the_asset_graph(page, console)
    launch_the_sync(page, console)
    vouchers = order_vouchers_in(console, MONTH)
    assert vouchers, "the sync posted no order voucher dated in March 2026 to the TallyPrime simulator"
    find_the_asset_graph(page, console, screenshot="console-asset-graph.png")  # now showing what the run made

    backfill_the_month(page, console)
    assert materialised_ranges(console) == [(DAYS[0], DAYS[-1])]  # every day of March, nothing else

    report_url, metadata = open_the_exceptions_and_their_report_link(page, console)
    read_the_report(page, report_url, metadata, vouchers)


def find_the_asset_graph(page: Any, console: Console, screenshot: str | None = None) -> None:
    """The pair's asset group and its lineage, zoomed out until every asset of the pair shows."""
    page.goto(f"{console.url}/locations/{LOCATION}/asset-groups/{PAIR_GROUP}/lineage")
    page.get_by_text("Asset Group in").wait_for()
    page.get_by_role("button", name="Materialize all").wait_for()
    zoom_out = page.locator("button:has([aria-label='zoom_out'])")
    for _ in range(8):
        zoom_out.click()
    page.wait_for_timeout(1000)  # the zoom animates
    for asset in ("orders", "order_vouchers", "customer_ledgers", "ledgers", "shipments", "delivery_notes"):
        page.get_by_text(asset, exact=True).first.wait_for()
    if screenshot:
        page.screenshot(path=SCREENSHOTS / screenshot)


def launch_the_sync(page: Any, console: Console) -> None:
    """Jobs -> shipstation_to_tally -> Materialize all; the toast's View opens the run, watched until it ends."""
    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("link").filter(has_text=re.compile(f"^{JOB}$")).click()
    page.get_by_role("button", name="Materialize all").click()
    page.get_by_text(re.compile(r"^Launched run")).wait_for()
    open_from_toast(page, re.compile(r"/runs/[0-9a-f-]{36}"))
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first.wait_for(timeout=RUN_TIMEOUT_S * 1000)
    run = console.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { jobName status "
                          "tags { key value } } } }", id=run_id)["runOrError"]
    assert run["jobName"] == JOB and run["status"] == "SUCCESS", f"{run['status']}: {failures(console, run_id)}"
    assert {"key": "dagster/from_ui", "value": "true"} in run["tags"]  # launched by the click, not by a sensor
    page.get_by_text("RUN_SUCCESS").first.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "console-run-succeeded.png")


def backfill_the_month(page: Any, console: Console) -> None:
    """Jobs -> reconciliation -> Materialize all… -> a custom range of March's days -> Launch backfill."""
    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("link").filter(has_text=re.compile(f"^{RECON_JOB}$")).click()
    page.get_by_role("button", name=re.compile(r"Materialize all")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(re.compile(r"^\d{4}-\d\d-\d\d$")).first.wait_for()  # the partitions' axis: they have loaded
    show_all = dialog.get_by_text("Show all partitions")
    if show_all.count():  # the dialog first offers only the last 90 days; March may be older
        show_all.click()
        dialog.get_by_text("All time").wait_for()
    dialog.get_by_role("textbox").first.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
    dialog.get_by_role("textbox").first.press("Tab")
    dialog.get_by_text("31 partitions", exact=True).wait_for()
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"^Created backfill"))
    toast.wait_for()
    backfill_id = re.search(r"Created backfill\s+(\w+)", toast.inner_text()).group(1)
    open_from_toast(page, re.compile(f"/runs/b/{backfill_id}"))
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while (backfill := backfill_state(console, backfill_id))["status"] not in FINISHED_BACKFILL:
        assert time.monotonic() < deadline, f"the backfill did not finish: {backfill}"
        page.wait_for_timeout(3000)
    runs = backfill["runs"]
    assert backfill["status"] == "COMPLETED_SUCCESS", [failures(console, r["runId"]) for r in runs]
    assert sorted(backfill["partitionNames"]) == DAYS
    assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
    page.reload()
    page.get_by_text("100% completed").wait_for()
    page.screenshot(path=SCREENSHOTS / "console-backfill.png")


def open_from_toast(page: Any, url: re.Pattern) -> None:
    """The launch toast's View; the pointer then leaves it, so the toast fades before the screenshot."""
    page.get_by_role("link", name="View", exact=True).last.click()
    page.wait_for_url(url)
    page.mouse.move(0, VIEWPORT["height"] - 1)
    page.get_by_role("link", name="View", exact=True).wait_for(state="detached")


def failures(console: Console, run_id: str) -> list[str]:
    """The run's step failures, `step: error`, to say why a run the test waited for did not succeed."""
    events = console.graphql("query($id: ID!) { logsForRun(runId: $id, limit: 100000) { ... on EventConnection { "
                             "events { ... on ExecutionStepFailureEvent { stepKey error { message "
                             "errorChain { error { message } } } } } } } }", id=run_id)["logsForRun"]["events"]
    return [f"{e['stepKey']}: " + " <- ".join(m["message"].strip() for m in [e["error"]] + [
        link["error"] for link in e["error"]["errorChain"]]) for e in events if e.get("error")]


def backfill_state(console: Console, backfill_id: str) -> dict[str, Any]:
    return console.graphql("query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on "
                           "PartitionBackfill { status partitionNames runs { runId status } } } }",
                           id=backfill_id)["partitionBackfillOrError"]


def materialised_ranges(console: Console) -> list[tuple[str, str]]:
    node = console.graphql("{ assetNodeOrError(assetKey: {path: [\"recon\", \"exceptions\"]}) { ... on AssetNode { "
                           "assetPartitionStatuses { ... on TimePartitionStatuses { ranges { startKey endKey status } "
                           "} } } } }")["assetNodeOrError"]
    return [(r["startKey"], r["endKey"]) for r in node["assetPartitionStatuses"]["ranges"]
            if r["status"] == "MATERIALIZED"]


def exceptions_metadata(console: Console) -> dict[str, Any]:
    """The latest `recon/exceptions` materialisation's metadata, as the instance holds it."""
    node = console.graphql("{ assetNodeOrError(assetKey: {path: [\"recon\", \"exceptions\"]}) { ... on AssetNode { "
                           "assetMaterializations(limit: 1) { metadataEntries { label ... on UrlMetadataEntry { url } "
                           "... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } "
                           "... on JsonMetadataEntry { jsonString } } } } } }"
                           )["assetNodeOrError"]
    entries = node["assetMaterializations"][0]["metadataEntries"]
    return {e["label"]: json.loads(e["jsonString"]) if "jsonString" in e
            else e.get("url", e.get("intValue", e.get("text"))) for e in entries}


def open_the_exceptions_and_their_report_link(page: Any, console: Console) -> tuple[str, dict[str, Any]]:
    """Catalog -> recon / exceptions; its metadata filtered to the report link, whose address is returned."""
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link").filter(has_text="recon / exceptions").first.click()
    page.get_by_placeholder("Filter metadata keys").fill("report")
    page.get_by_text(f"report {MONTH}", exact=True).wait_for()
    link = page.locator("a[href^='file:']").filter(has_text=MONTH)
    link.wait_for()
    report_url, metadata = link.get_attribute("href"), exceptions_metadata(console)
    assert report_url == metadata[f"report {MONTH}"]  # the link the page shows is the asset's own
    report_path = Path(report_url.removeprefix("file://"))
    assert report_path.is_file() and console.state_dir in report_path.parents
    page.screenshot(path=SCREENSHOTS / "console-exceptions.png")
    return report_url, metadata


def read_the_report(page: Any, report_url: str, metadata: dict[str, Any], vouchers: list[dict]) -> None:
    """The report opens from its file:// address with no server; its totals are the month's, pair by pair."""
    page.goto(report_url)  # an http page may not follow a file:// link, so the address is opened as a person would
    assert page.locator("h1").inner_text().startswith("Reconciliation · March 2026")
    assert "31 of 31 days reconciled" in page.locator("header").inner_text()
    tables = page.locator("#totals table.totals")
    pairs = {tables.nth(i).get_attribute("data-pair") for i in range(tables.count())}
    assert pairs == set(metadata["per_pair"]), f"totals for {pairs}, reconciled {metadata['per_pair']}"
    tally = page.locator("#totals table.totals[data-pair='shipstation_tally']")
    orders = row_cells(tally, "Orders / order vouchers")
    assert orders[1] == f"{len(vouchers):,}", orders  # TallyPrime's column: what the simulator holds for March
    assert int(orders[2].replace(",", "")) == int(orders[1].replace(",", "")) - int(orders[0].replace(",", ""))
    shipstation, tallyprime, difference, _why = (money(cell) for cell in row_cells(tally, "Order amount"))
    assert difference == tallyprime - shipstation and shipstation > 0
    exceptions = page.locator("#exceptions h2").inner_text()
    assert re.fullmatch(r"Exceptions \((\d[\d,]*)\)", exceptions), exceptions
    assert page.locator("#exception-table tbody tr").count() == int(exceptions[12:-1].replace(",", ""))
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the report scrolls sideways at 1280 px: {width}"
    page.screenshot(path=SCREENSHOTS / "console-report.png")


def money(cell: str) -> Decimal | None:
    """A rupee amount as the report prints it (₹1,234.50, -₹5.00), or None for a text cell."""
    found = re.fullmatch(r"(-?)₹([\d,]+\.\d\d)", cell)
    return Decimal(found.group(1) + found.group(2).replace(",", "")) if found else None


def row_cells(table: Any, label: str) -> list[str]:
    row = table.locator("tr").filter(has=table.page.get_by_role("rowheader", name=label, exact=True))
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def order_vouchers_in(console: Console, month: str) -> list[dict[str, Any]]:
    """The order vouchers (not cancelled) the TallyPrime simulator holds dated in `month`."""
    from ml_connector.config import Settings

    kind = Settings.from_env().tally_order_voucher_type
    day_prefix = month.replace("-", "")  # the simulator's dates are ISO; compare them without dashes
    return [v for v in console.sandbox.vouchers()
            if v["type"] == kind and not v["cancelled"] and v["date"].replace("-", "").startswith(day_prefix)]

"""`ml-connector check`: ping every configured system and say, in plain words, what works."""

from __future__ import annotations

from collections.abc import Callable

from ml_connector.config import Settings


def run_checks(settings: Settings | None = None, out: Callable[[str], None] = print) -> int:
    """Print one line per system; exit code 0 only if everything answered as it should."""
    settings = settings or Settings.from_env()
    results = [check_shipstation(settings), check_tally(settings), check_state(settings)]
    if settings.shipstation_v2_api_key.get_secret_value():  # optional: only the inventory push needs it
        results.insert(1, check_shipstation_v2(settings))
    for name, ok, message in results:
        out(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
    return 0 if all(ok for _, ok, _ in results) else 1


def check_shipstation(settings: Settings) -> tuple[str, bool, str]:
    from connectors.shipstation.client import ShipStationClient

    key, secret = settings.shipstation_api_key.get_secret_value(), settings.shipstation_api_secret.get_secret_value()
    if not key or not secret:
        return "ShipStation", False, "SHIPSTATION_API_KEY / SHIPSTATION_API_SECRET are not set"
    try:
        with ShipStationClient(base_url=settings.shipstation_base_url, api_key=key, api_secret=secret,
                               timeout=15) as client:
            info = client.ping()
    except Exception as exc:  # report any failure in words, never a traceback
        return "ShipStation", False, f"{settings.shipstation_base_url}: {exc}"
    if not info.get("ok"):
        hint = " (check SHIPSTATION_API_KEY / SHIPSTATION_API_SECRET)" if info.get("status") in (401, 403) else ""
        return "ShipStation", False, f"{settings.shipstation_base_url}: {info.get('message')}{hint}"
    return "ShipStation", True, (f"{settings.shipstation_base_url} answered; {info.get('orders_total')} orders; "
                                 f"rate limit {info.get('rate_limit')}")


def check_shipstation_v2(settings: Settings) -> tuple[str, bool, str]:
    from connectors.shipstation.v2 import ShipStationV2Client

    try:
        with ShipStationV2Client(base_url=settings.shipstation_v2_base_url, timeout=15,
                                 api_key=settings.shipstation_v2_api_key) as client:
            info = client.ping()
    except Exception as exc:  # report any failure in words, never a traceback
        return "ShipStation V2", False, f"{settings.shipstation_v2_base_url}: {exc}"
    if not info.get("ok"):
        hint = " (check SHIPSTATION_V2_API_KEY)" if info.get("status") in (401, 403) else ""
        return "ShipStation V2", False, f"{settings.shipstation_v2_base_url}: {info.get('message')}{hint}"
    return "ShipStation V2", True, f"{settings.shipstation_v2_base_url} answered (inventory API)"


def check_tally(settings: Settings) -> tuple[str, bool, str]:
    from connectors.tally.client import TallyClient

    token = settings.tally_agent_token.get_secret_value() or None
    try:
        # Ask without naming a company: naming one that is not loaded hides the ones that are.
        status = TallyClient(settings.tally_url, "", token=token, timeout=15).ping()
    except Exception as exc:
        return "TallyPrime", False, f"{settings.tally_url}: {exc}"
    if not status.running:
        return "TallyPrime", False, f"{settings.tally_url} answered, but not as TallyPrime's HTTP server"
    if not status.companies:
        return "TallyPrime", False, "TallyPrime is running but no company is loaded (Company > Select)"
    wanted = settings.tally_company
    if wanted and wanted not in status.companies:
        return "TallyPrime", False, f"company {wanted!r} is not loaded; loaded: {', '.join(status.companies)}"
    return "TallyPrime", True, f"{settings.tally_url} answered; loaded: {', '.join(status.companies)}"


def check_state(settings: Settings) -> tuple[str, bool, str]:
    from state.ledger import SyncLedger

    try:
        ledger = SyncLedger(settings.state_dir / "ledger.sqlite3")
        counts = ledger.counts("shipstation_tally.orders")
        ledger.close()
    except Exception as exc:
        return "State", False, f"{settings.state_dir}: {exc}"
    return "State", True, f"{settings.state_dir.resolve()} writable; orders in ledger: {counts or 'none yet'}"


"""`ml-connector check`: ping every configured system and say, in plain words, what works."""

from __future__ import annotations

from collections.abc import Callable

from ml_connector.config import Settings

Check = Callable[[Settings], tuple[str, bool, str]]


def run_checks(settings: Settings | None = None, out: Callable[[str], None] = print) -> int:
    """Print one line per system; exit code 0 only if everything answered as it should."""
    settings = settings or Settings.from_env()
    results = [check(settings) for check, wanted in SYSTEM_CHECKS if wanted(settings)]
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
    """Tells apart: Tally not running, no/other company open, company needs a login, ready."""
    from connectors.tally.client import TallyClient
    from connectors.tally.errors import CompanyLoginRequired, CompanyNotLoaded, TallyAuthError, TallyUnavailable

    url, wanted = settings.tally_url, settings.tally_company
    username, password = settings.tally_username.get_secret_value(), settings.tally_password.get_secret_value()
    client = TallyClient(url, wanted, token=settings.tally_agent_token.get_secret_value() or None,
                         username=username or None, password=password or None, timeout=15,
                         ca_cert=settings.tally_ca_cert or None)
    try:
        # The company list names no company: naming one that is not open hides the ones that are.
        status = client.ping()
        if not status.running:
            return "TallyPrime", False, (f"TallyPrime is not running or cannot be reached at {url}: start it and "
                                         "turn on its HTTP server (F1 > Settings > Connectivity, port 9000)")
        if not status.companies:
            return "TallyPrime", False, ("TallyPrime is running but no company is open (no company is loaded): "
                                         "open one in TallyPrime (Company > Select)")
        if wanted and wanted not in status.companies:
            return "TallyPrime", False, (f"company {wanted!r} is not open (not loaded) in TallyPrime; open: "
                                         f"{', '.join(status.companies)}. Open it there (Company > Select); a "
                                         "company with a password must be opened by a person")
        client.check_login()
    except CompanyLoginRequired:
        if not (username and password):
            return "TallyPrime", False, (f"company {wanted or '(the active one)'!r} is open but needs a login: "
                                         "set TALLY_USERNAME and TALLY_PASSWORD "
                                         "(ml-connector credentials set TALLY_PASSWORD)")
        return "TallyPrime", False, (f"company {wanted or '(the active one)'!r} is open but TallyPrime refused "
                                     "the login: check TALLY_USERNAME and TALLY_PASSWORD")
    except TallyAuthError:
        return "TallyPrime", False, f"the Tally agent at {url} refused TALLY_AGENT_TOKEN"
    except (CompanyNotLoaded, TallyUnavailable) as exc:
        return "TallyPrime", False, f"{url}: {exc}"
    except Exception as exc:  # report any failure in words, never a traceback
        return "TallyPrime", False, f"{url} answered, but not as TallyPrime's HTTP server would: {exc}"
    finally:
        client.close()
    login = " with our login" if username else ""
    return "TallyPrime", True, f"ready: {url} answered{login}; open: {', '.join(status.companies)}"


def check_walmart(settings: Settings) -> tuple[str, bool, str]:
    from connectors.walmart.client import WalmartClient

    try:
        with WalmartClient.from_settings(settings, timeout=15) as client:
            info = client.ping()
    except Exception as exc:  # report any failure in words, never a traceback
        return "Walmart", False, f"{settings.walmart_base_url}: {exc}"
    if not info.get("ok"):
        hint = " (check WALMART_CLIENT_ID / WALMART_CLIENT_SECRET)" if info.get("status") in (401, 403) else ""
        return "Walmart", False, f"{settings.walmart_base_url}: {info.get('message')}{hint}"
    return "Walmart", True, (f"{settings.walmart_base_url} answered; {info.get('orders_last_7_days')} orders "
                             "in the last 7 days")


def check_acumatica(settings: Settings) -> tuple[str, bool, str]:
    """Signs in (and always out), lists the instance's endpoint versions, says whether ours is one."""
    from connectors.acumatica.client import AcumaticaClient

    client = AcumaticaClient(
        url=settings.acumatica_url, endpoint_version=settings.acumatica_endpoint_version,
        endpoint_name=settings.acumatica_endpoint_name, tenant=settings.acumatica_tenant,
        branch=settings.acumatica_branch, username=settings.acumatica_username,
        password=settings.acumatica_password.get_secret_value(), client_id=settings.acumatica_client_id,
        client_secret=settings.acumatica_client_secret.get_secret_value(), timeout=15)
    try:
        with client:
            info = client.ping()
    except Exception as exc:  # report any failure in words, never a traceback
        return "Acumatica", False, f"{settings.acumatica_url}: {exc}"
    versions = ", ".join(info.get("versions") or []) or "none listed"
    if not info.get("ok"):
        return "Acumatica", False, f"{settings.acumatica_url}: {info.get('message')} (endpoint versions: {versions})"
    return "Acumatica", True, (f"{settings.acumatica_url} answered; endpoint {settings.acumatica_endpoint_version} "
                               f"is offered (versions: {versions})")


def check_zoho(settings: Settings) -> tuple[str, bool, str]:
    from connectors.zoho_books.client import ZohoBooksClient

    try:
        with ZohoBooksClient.from_settings(settings, timeout=15) as client:
            info = client.ping()
    except Exception as exc:  # report any failure in words, never a traceback
        return "Zoho Books", False, f"data centre {settings.zoho_data_centre}: {exc}"
    if not info.get("ok"):
        return "Zoho Books", False, (f"data centre {settings.zoho_data_centre}: {info.get('message')} "
                                     "(check ZOHO_ORGANIZATION_ID; `ml-connector zoho authorize` connects again)")
    return "Zoho Books", True, (f"{info.get('base_url')} answered; organisation {info.get('name')!r} "
                                f"({info.get('currency_code')})")


def check_state(settings: Settings) -> tuple[str, bool, str]:
    from state.ledger import SyncLedger

    try:
        ledger = SyncLedger(settings.state_dir / "ledger.sqlite3")
        counts = ledger.counts("shipstation_tally.orders")
        ledger.close()
    except Exception as exc:
        return "State", False, f"{settings.state_dir}: {exc}"
    return "State", True, f"{settings.state_dir.resolve()} writable; orders in ledger: {counts or 'none yet'}"



# Every system `check` pings, in order, with when it is wanted: a new system adds an entry here.
SYSTEM_CHECKS: tuple[tuple[Check, Callable[[Settings], bool]], ...] = (
    (check_shipstation, lambda s: True),
    # optional: only the inventory push needs V2
    (check_shipstation_v2, lambda s: bool(s.shipstation_v2_api_key.get_secret_value())),
    (check_tally, lambda s: True),
    (check_walmart, lambda s: bool(s.walmart_client_id)),
    (check_zoho, lambda s: bool(s.zoho_organization_id)),
    (check_acumatica, lambda s: bool(s.acumatica_url)),
    (check_state, lambda s: True),
)

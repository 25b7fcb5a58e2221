"""`ml-connector zoho authorize`: connect a Zoho Books organisation (OAuth authorization code, once).

Prints the consent URL of the configured data centre, reads the code (or the whole redirect URL)
the moment the person pastes it, exchanges it once and keeps the refresh token in the encrypted
credential store as ZOHO_REFRESH_TOKEN. A grant code works once and for two minutes: the command
says so before the person fetches one, and refuses an expired one before spending it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def add_parser(sub: argparse._SubParsersAction) -> None:
    zoho = sub.add_parser("zoho", help="Zoho Books: connect an organisation")
    cmds = zoho.add_subparsers(dest="zoho_command", required=True)
    authorize = cmds.add_parser("authorize", help="print the consent URL, take the code, store the refresh token")
    authorize.add_argument("--code", help="the grant code or redirect URL (default: asked for after the URL)")
    authorize.set_defaults(func=cmd_authorize)


def cmd_authorize(args: argparse.Namespace, read: Callable[[str], str] = input,
                  out: Callable[[str], None] = print) -> int:
    from connectors.common.errors import ConnectorError
    from connectors.zoho_books import onboarding
    from ml_connector.config import Settings
    from state.credentials import CredentialError, CredentialStore

    settings = Settings.from_env()
    if not settings.zoho_client_id or not settings.zoho_client_secret.get_secret_value():
        print("Set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET (from api-console.zoho.<your data centre>) first; the "
              "secret may live in the credential store: ml-connector credentials set ZOHO_CLIENT_SECRET",
              file=sys.stderr)
        return 2
    out(f"Zoho data centre: {settings.zoho_data_centre}. Open this URL, sign in and accept:")
    out("  " + onboarding.consent_url(settings.zoho_client_id, data_centre=settings.zoho_data_centre,
                                      accounts_url=settings.zoho_accounts_url, redirect_uri=settings.zoho_redirect_uri))
    out("The code Zoho sends back works ONCE and only for TWO MINUTES: paste it (or the whole redirect URL) at once.")
    try:
        code = onboarding.receive_code(args.code or read("code or redirect URL: "))
        grant = onboarding.exchange_code(code, client_id=settings.zoho_client_id,
                                         client_secret=settings.zoho_client_secret,
                                         redirect_uri=settings.zoho_redirect_uri,
                                         data_centre=settings.zoho_data_centre,
                                         accounts_url=settings.zoho_accounts_url)
    except (ConnectorError, ValueError) as error:
        print(f"Not connected: {error}", file=sys.stderr)
        return 1
    try:
        CredentialStore.open().set("ZOHO_REFRESH_TOKEN", grant.refresh_token.get_secret_value())
    except CredentialError as error:
        print(f"Zoho answered, but the refresh token could not be stored: {error}", file=sys.stderr)
        return 1
    out(f"Connected: ZOHO_REFRESH_TOKEN is in the credential store; your organisation's API is at {grant.api_domain}.")
    return 0

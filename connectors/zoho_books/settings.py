"""Zoho Books endpoints, data centres, versions and limits: changing one is a one-line diff here.

Section numbers refer to /work/shared/reference/zoho-books.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

SYSTEM = "zoho_books"
API_PATH = "/books/v3"  # §1: the API root is {api_domain}/books/v3

DataCentre = Literal["us", "eu", "in", "au", "jp", "ca", "cn", "sa"]

# §1: accounts (OAuth) server and default API domain per data centre. The token reply's
# `api_domain` wins over the default (it names the host this organisation's data lives on).
ACCOUNTS_URLS: dict[str, str] = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
    "cn": "https://accounts.zoho.com.cn",
    "sa": "https://accounts.zoho.sa",
}
API_DOMAINS: dict[str, str] = {
    "us": "https://www.zohoapis.com",
    "eu": "https://www.zohoapis.eu",
    "in": "https://www.zohoapis.in",
    "au": "https://www.zohoapis.com.au",
    "jp": "https://www.zohoapis.jp",
    "ca": "https://www.zohoapis.ca",
    "cn": "https://www.zohoapis.com.cn",
    "sa": "https://www.zohoapis.sa",
}
AUTHORIZE_PATH = "/oauth/v2/auth"
TOKEN_PATH = "/oauth/v2/token"
AUTH_HEADER_FORMAT = "Zoho-oauthtoken {token}"  # §2

# §2: access tokens live an hour; renew at 55 minutes (the seed asks for it) or on a 401.
REFRESH_AFTER_SECONDS = 55 * 60.0
# §2: grant codes are single use and short-lived (60 s on product pages, 2 min in a Books guide):
# refuse to send a code older than this, so a stale code never costs an exchange.
GRANT_CODE_LIFETIME_SECONDS = 120.0
DEFAULT_SCOPES = (
    "ZohoBooks.contacts.ALL", "ZohoBooks.settings.ALL", "ZohoBooks.invoices.ALL",
    "ZohoBooks.customerpayments.READ", "ZohoBooks.accountants.ALL",
)

# §11: 100 requests per minute per organisation, whatever the plan; concurrency 5 (Free) / 10 (paid).
REQUESTS_PER_MINUTE = 100
CONCURRENCY = 5
# §11: 429 body codes.
CODE_PER_MINUTE = 44
CODE_DAILY_CAP = 45
CODE_CONCURRENCY = 1070
DAILY_CAP_RECHECK_SECONDS = 1800.0  # after a code 45, probe again this often (the reset time is undocumented)
PER_MINUTE_WAIT_SECONDS = 60.0  # no Retry-After is sent (§11): sit out a whole window
CONCURRENCY_WAIT_SECONDS = 2.0

PAGE_SIZE = 200  # §4: per_page default and maximum
TIMEOUT_SECONDS = 30.0
MAX_RETRIES = 4
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0

ORGANIZATIONS_PATH = "/organizations"
CONTACTS_PATH = "/contacts"
ITEMS_PATH = "/items"
INVOICES_PATH = "/invoices"
JOURNALS_PATH = "/journals"
ACCOUNTS_PATH = "/chartofaccounts"
# §10: upsert by a unique custom field.
UNIQUE_KEY_HEADER = "X-Unique-Identifier-Key"
UNIQUE_VALUE_HEADER = "X-Unique-Identifier-Value"
UPSERT_HEADER = "X-Upsert"


def accounts_url(data_centre: str, override: str = "") -> str:
    """The accounts (OAuth) server: the override when given, else the data centre's (§1)."""
    if override:
        return override.rstrip("/")
    try:
        return ACCOUNTS_URLS[data_centre]
    except KeyError:
        raise ValueError(f"unknown Zoho data centre {data_centre!r}; one of {', '.join(ACCOUNTS_URLS)}") from None


def api_root(api_domain: str) -> str:
    """``{api_domain}/books/v3`` (§1)."""
    return api_domain.rstrip("/") + API_PATH


class ZohoBooksSettings(BaseModel):
    """The Zoho Books connection. Field names are the env variables.

    ``zoho_refresh_token`` empty: the credential store's ``ZOHO_REFRESH_TOKEN`` (``ml-connector zoho
    authorize`` puts it there). ``zoho_daily_limit`` is the plan's daily call cap (0: not known, only
    Zoho's own code 45 stops a run).
    """

    model_config = ConfigDict(frozen=True)

    zoho_data_centre: DataCentre = "us"
    zoho_accounts_url: str = ""
    zoho_client_id: str = ""
    zoho_client_secret: SecretStr = SecretStr("")
    zoho_refresh_token: SecretStr = SecretStr("")
    zoho_organization_id: str = ""
    zoho_redirect_uri: str = "http://localhost:8765/zoho/callback"
    zoho_daily_limit: int = 0
    zoho_concurrency: int = CONCURRENCY
    zoho_webhook_secret: SecretStr = SecretStr("")
    # Our pace per organisation: Zoho's 100 a minute; lower it to leave room for other integrations
    # (0 = unpaced: only for a simulator with its limit off, e.g. the demo).
    zoho_requests_per_minute: int = REQUESTS_PER_MINUTE

    def token_url(self) -> str:
        return accounts_url(self.zoho_data_centre, self.zoho_accounts_url) + TOKEN_PATH

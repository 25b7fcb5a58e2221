"""Acumatica endpoints, versions and limits (reference §1–§5): changing one is a one-line diff here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

SYSTEM = "acumatica"
ENDPOINT_NAME = "Default"
# §1: the version is per merchant configuration; 23.200.001 is the contract-v4 version the reference documents.
DEFAULT_ENDPOINT_VERSION = "23.200.001"

ENTITY_ROOT = "/entity"  # GET: the build and the endpoints the instance offers (§1)
LOGIN_PATH = "/entity/auth/login"
LOGOUT_PATH = "/entity/auth/logout"
TOKEN_PATH = "/identity/connect/token"  # §2 OAuth 2.0
OAUTH_SCOPE = "api"

# §5: the last-modified field differs per entity in Default/23.200.001.
LAST_MODIFIED = {
    "SalesOrder": "LastModified",
    "Shipment": "LastModifiedDateTime",
    "Customer": "LastModifiedDateTime",
    "StockItem": "LastModified",
}

# §5: $top/$skip paging, no count returned: a short page ends the list.
PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000

# §8: a 202 action is polled at its Location until 204, with a delay between polls.
ACTION_POLL_SECONDS = 1.0
ACTION_TIMEOUT_SECONDS = 600.0

TIMEOUT_SECONDS = 60.0
MAX_RETRIES = 5  # retries after the first attempt
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
# §3: a 429 means the licence's per-minute limit; Acumatica documents no Retry-After, so wait a window.
DEFAULT_RETRY_AFTER_SECONDS = 60.0


class AcumaticaSettings(BaseModel):
    """The Acumatica connection. Field names are the env variables.

    Cookie login (username + password, tenant, branch) unless a client id is set, then OAuth 2.0
    (password grant with the same user; the client id's ``@Tenant`` suffix selects the tenant).
    """

    model_config = ConfigDict(frozen=True)

    acumatica_url: str = ""  # the instance, virtual directory included: https://acme.acumatica.com
    acumatica_endpoint_version: str = DEFAULT_ENDPOINT_VERSION
    acumatica_endpoint_name: str = ENDPOINT_NAME
    acumatica_tenant: str = ""
    acumatica_branch: str = ""
    acumatica_username: str = ""
    acumatica_password: SecretStr = SecretStr("")
    acumatica_client_id: str = ""
    acumatica_client_secret: SecretStr = SecretStr("")

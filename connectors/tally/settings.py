"""TallyPrime endpoints, envelope constants and limits. A version bump is a one-line diff here."""

from __future__ import annotations

from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

DEFAULT_PORT: Final = 9000
DEFAULT_URL: Final = f"http://127.0.0.1:{DEFAULT_PORT}"
ENVELOPE_VERSION: Final = "1"
EXPORT_FORMAT: Final = "$$SysName:XML"

# Reference §7: integrators send UTF-16LE (no BOM) with this charset; UTF-8 stays an option.
Encoding = Literal["utf-16", "utf-8"]
DEFAULT_ENCODING: Final[Encoding] = "utf-16"
CONTENT_TYPES: Final[dict[str, str]] = {
    "utf-16": "text/xml;charset=utf-16",
    "utf-8": "text/xml;charset=utf-8",
}

# Header the client sends so the LAN agent knows which requests are safe to re-send.
REQUEST_KIND_HEADER: Final = "X-ML-Request-Kind"
RequestKind = Literal["export", "import"]

CLIENT_TIMEOUT_SECONDS: Final = 60.0
CLIENT_CONNECT_TIMEOUT_SECONDS: Final = 10.0

# Reference §5: small import chunks keep a partial failure attributable.
MAX_VOUCHERS_PER_IMPORT: Final = 50

AGENT_MAX_BODY_BYTES: Final = 5_000_000
AGENT_REQUEST_TIMEOUT_SECONDS: Final = 120.0
AGENT_RETRY_ATTEMPTS: Final = 6
AGENT_RETRY_BASE_DELAY_SECONDS: Final = 0.5
AGENT_RETRY_MAX_DELAY_SECONDS: Final = 10.0
AGENT_QUEUE_DEPTH: Final = 32
AGENT_HEALTH_CACHE_SECONDS: Final = 5.0
AGENT_HEALTH_TIMEOUT_SECONDS: Final = 10.0
# Per caller address; a sync sends one request per 50 vouchers, so this only stops a runaway client.
AGENT_RATE_PER_MINUTE: Final = 600.0
AGENT_RATE_BURST: Final = 60.0

SERVER_RUNNING_TEXT: Final = "TallyPrime Server is Running"
COMPANY_NOT_FOUND_TEXT: Final = "Could not find Company"
# [U] Tally's wording for a refused company login is not documented: any LINEERROR naming the
# password or access is read as one (the sandbox's text carries "password" and "access denied").
LOGIN_REFUSED_MARKERS: Final = ("password", "access denied", "not authorised", "not authorized")

BATCH_PRIMARY: Final = "Primary Batch"
INVOICE_VIEW: Final = "Invoice Voucher View"
ACCOUNTING_VIEW: Final = "Accounting Voucher View"


class TallySettings(BaseModel):
    """The TallyPrime connection (the LAN agent or port 9000). Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    tally_url: str = DEFAULT_URL
    tally_agent_token: SecretStr = SecretStr("")
    tally_ca_cert: str = ""  # the LAN agent's self-signed certificate (agent_tls): trusted alone when set
    tally_company: str = ""
    tally_username: SecretStr = SecretStr("")  # a company with security (TallyPrime: Company > Alter > Security)
    tally_password: SecretStr = SecretStr("")
    tally_timezone: str = "Asia/Kolkata"  # the books' time zone: voucher dates are local days
    # How long one request to Tally (through the agent) may take: above the agent's own bound
    # (AGENT_REQUEST_TIMEOUT_SECONDS) plus its queue, so the agent answers before we give up.
    tally_timeout_seconds: float = 180.0

    @field_validator("tally_timeout_seconds")
    @classmethod
    def _positive_timeout(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"TALLY_TIMEOUT_SECONDS must be above 0, not {value}")
        return value

    @field_validator("tally_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TALLY_TIMEZONE: unknown time zone {value!r}") from exc
        return value

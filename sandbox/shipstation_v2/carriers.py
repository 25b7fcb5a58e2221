"""The carrier accounts connected to the sandbox account (`GET /v2/carriers`, reference §5.2).

Shapes from the V2 OpenAPI copy (shipstation/mcp-shipstation-api `openapi.yaml`, `carrier`,
`service`, `list_carriers_response_body` = the carriers plus the `error_response_body` fields
`request_id` and `errors`). The accounts match the V1 labels' `carrierCode`s (`fedex`, `ups`,
`stamps_com`) and offer every `serviceCode` those labels use. Carrier ids, account numbers,
nicknames and balances are sandbox values; `carrier_id` in tracking documents is an integer in the
spec (its example: UPS = 3), so each account also has a numeric `tracking_id`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

Record = dict[str, Any]

# carrier_code → (carrier_id, tracking carrier id, friendly name, services [(code, name, domestic, international)])
_CATALOG: dict[str, tuple[str, int, str, tuple[tuple[str, str, bool, bool], ...]]] = {
    "stamps_com": ("se-1640001", 1, "Stamps.com", (
        ("usps_first_class_mail", "USPS First Class Mail", True, False),
        ("usps_ground_advantage", "USPS Ground Advantage", True, False),
        ("usps_priority_mail", "USPS Priority Mail", True, False),
        ("usps_priority_mail_international", "USPS Priority Mail Intl", False, True))),
    "ups": ("se-1640002", 3, "UPS", (
        ("ups_ground", "UPS® Ground", True, False),
        ("ups_2nd_day_air", "UPS 2nd Day Air®", True, False),
        ("ups_next_day_air", "UPS Next Day Air®", True, False),
        ("ups_worldwide_expedited", "UPS Worldwide Expedited®", False, True))),
    "fedex": ("se-1640003", 4, "FedEx", (
        ("fedex_ground", "FedEx Ground®", True, False),
        ("fedex_express_saver", "FedEx Express Saver®", True, False),
        ("fedex_2day", "FedEx 2Day®", True, False),
        ("fedex_international_economy", "FedEx International Economy®", False, True))),
}
TRACKING_URLS = {
    "stamps_com": "https://tools.usps.com/go/TrackConfirmAction.action?tLabels={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
}


def _service(carrier_id: str, code: str, entry: tuple[str, str, bool, bool]) -> Record:
    service_code, name, domestic, international = entry
    return {"carrier_id": carrier_id, "carrier_code": code, "service_code": service_code, "name": name,
            "domestic": domestic, "international": international, "is_multi_package_supported": True}


def carrier(code: str) -> Record:
    """One carrier account as `GET /v2/carriers/{carrier_id}` answers it."""
    carrier_id, _, name, services = _CATALOG[code]
    return {
        "carrier_id": carrier_id, "carrier_code": code, "account_number": f"SBX{carrier_id[3:]}",
        "requires_funded_amount": code == "stamps_com", "balance": Decimal("250.00") if code == "stamps_com" else 0,
        "nickname": f"Sandbox {name}", "friendly_name": name, "funding_source_id": None, "primary": code == "fedex",
        "has_multi_package_supporting_services": True, "supports_label_messages": True,
        "disabled_by_billing_plan": False, "services": [_service(carrier_id, code, s) for s in services],
        "packages": [{"package_id": None, "package_code": "package", "name": "Package", "dimensions": None,
                      "description": "Package. Enter dimensions."}],
        "options": [],
    }


def carriers_body() -> Record:
    """The `GET /v2/carriers` body."""
    return {"carriers": [carrier(code) for code in _CATALOG], "request_id": str(uuid.uuid4()), "errors": []}


def by_id(carrier_id: str) -> Record | None:
    """The account with `carrier_id`, if any."""
    return next((carrier(code) for code, entry in _CATALOG.items() if entry[0] == carrier_id), None)


def carrier_id_of(code: str | None) -> str | None:
    """The V2 `carrier_id` of a V1 `carrierCode` (None for a carrier not connected here)."""
    return _CATALOG[code][0] if code in _CATALOG else None


def tracking_carrier_id(code: str | None) -> int | None:
    """The integer carrier id tracking documents carry."""
    return _CATALOG[code][1] if code in _CATALOG else None


def tracking_url(code: str | None, number: str | None) -> str | None:
    """The carrier's public tracking page for `number`."""
    return TRACKING_URLS[code].format(number) if code in TRACKING_URLS and number else None

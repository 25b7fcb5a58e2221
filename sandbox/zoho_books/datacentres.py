"""The eight Zoho data centres (reference §1): accounts server and API domain of each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataCentre:
    code: str
    name: str
    accounts_url: str
    api_domain: str


DATA_CENTRES: dict[str, DataCentre] = {dc.code: dc for dc in (
    DataCentre("us", "United States", "https://accounts.zoho.com", "https://www.zohoapis.com"),
    DataCentre("eu", "Europe", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    DataCentre("in", "India", "https://accounts.zoho.in", "https://www.zohoapis.in"),
    DataCentre("au", "Australia", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    DataCentre("jp", "Japan", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    DataCentre("ca", "Canada", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    DataCentre("cn", "China", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    DataCentre("sa", "Saudi Arabia", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
)}


def data_centre(code: str) -> DataCentre:
    """The data centre with this code (us, eu, in, au, jp, ca, cn, sa); ValueError otherwise."""
    try:
        return DATA_CENTRES[code.lower()]
    except KeyError:
        raise ValueError(f"unknown Zoho data centre {code!r}; expected one of {', '.join(DATA_CENTRES)}") from None

"""The Tally XML codec: one import point for building requests, encoding bytes and parsing replies.

Building lives in `xml_build` / `xml_export`, parsing in `xml_parse` / `xml_records`, scalar
formats in `xml_values`; this module adds the byte-level encoding (reference §7 "Encoding").
"""

from __future__ import annotations

import codecs
import re

from connectors.tally.errors import TallyProtocolError
from connectors.tally.settings import CONTENT_TYPES, Encoding
from connectors.tally.xml_build import build_master_import, build_voucher_import
from connectors.tally.xml_export import (
    all_of,
    collection_request,
    company_request,
    compare,
    ledgers_request,
    stock_items_request,
    validate_formula,
    voucher_ids_request,
    vouchers_request,
)
from connectors.tally.xml_parse import is_server_running, parse_import_response, parse_xml, sanitise
from connectors.tally.xml_records import (
    parse_companies,
    parse_ledgers,
    parse_stock_items,
    parse_voucher_amounts,
    parse_voucher_ids,
    parse_vouchers,
)
from connectors.tally.xml_values import parse_quantity, parse_rate

__all__ = [
    "all_of", "build_master_import", "build_voucher_import", "collection_request", "company_request",
    "compare", "content_type", "decode_response", "encode_request", "guess_encoding", "is_server_running",
    "ledgers_request", "parse_companies", "parse_import_response", "parse_ledgers", "parse_quantity",
    "parse_rate", "parse_stock_items", "parse_voucher_amounts", "parse_voucher_ids", "parse_vouchers", "parse_xml",
    "sanitise",
    "stock_items_request", "validate_formula", "voucher_ids_request", "vouchers_request",
]

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.-]+)", re.IGNORECASE)


def content_type(encoding: Encoding = "utf-16") -> str:
    """The Content-Type header matching `encode_request(..., encoding)`."""
    return CONTENT_TYPES[encoding]


def encode_request(xml: str, encoding: Encoding = "utf-16") -> bytes:
    """Encode a request body. UTF-16 means little-endian without BOM, as integrators send it (§7)."""
    if encoding == "utf-16":
        return xml.encode("utf-16-le")
    if encoding == "utf-8":
        return xml.encode("utf-8")
    raise ValueError(f"unsupported encoding {encoding!r}")


def guess_encoding(data: bytes, content_type_header: str | None) -> str:
    """The reply's encoding from its first bytes (a BOM, a UTF-16 zero byte) or its Content-Type."""
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if len(data) >= 2 and data[0] != 0 and data[1] == 0:
        return "utf-16-le"
    if len(data) >= 2 and data[0] == 0 and data[1] != 0:
        return "utf-16-be"
    match = _CHARSET.search(content_type_header or "")
    charset = (match.group(1).lower() if match else "utf-8").replace("utf16", "utf-16")
    # A bare "utf-16" label without BOM means little-endian here: TallyPrime runs on Windows.
    return "utf-16-le" if charset == "utf-16" else charset


def decode_response(data: bytes, content_type_header: str | None = None) -> str:
    """Decode a reply in UTF-16 (with or without BOM) or UTF-8; the BOM is dropped."""
    encoding = guess_encoding(data, content_type_header)
    bom = next((len(b) for b in _BOMS if data.startswith(b)), 0)
    try:
        # Skipping the BOM on a view, not stripping it from the text, spares a copy of a large reply.
        return str(memoryview(data)[bom:], encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise TallyProtocolError(f"reply is not valid {encoding}: {exc.reason}") from None
    except LookupError:
        raise TallyProtocolError(f"reply declares an unknown charset {encoding!r}") from None

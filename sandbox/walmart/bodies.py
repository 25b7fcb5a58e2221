"""Request bodies: JSON (money as Decimal), form-encoded token requests, and multipart feed files.

The venv has no python-multipart, so multipart bodies are read with the standard library's MIME parser.
"""

from __future__ import annotations

import json
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.walmart import errors

MAX_FEED_BYTES = 10 * 1024 * 1024  # reference §3/§6: keep feed files under 10 MB


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, service: str) -> Any:
    """The JSON body (415 unless `application/json`, 400 when it does not parse)."""
    if media_type(request) != "application/json":
        raise errors.unsupported_media(request.headers.get("content-type", "(none)"), service)
    try:
        return json.loads(await request.body(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_content("request body is not valid JSON", service, malformed=True) from None


async def form_fields(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (415 otherwise)."""
    if media_type(request) != "application/x-www-form-urlencoded":
        raise errors.unsupported_media(request.headers.get("content-type", "(none)"), "GMP_GATEWAY_API")
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


async def feed_file(request: Request, service: str) -> bytes:
    """The feed file: the multipart part named `file`, or a JSON body sent as is (both seen in use)."""
    raw = await request.body()
    if len(raw) > MAX_FEED_BYTES:
        raise errors.WalmartError(413, f"REQUEST_ENTITY_TOO_LARGE.{service}", "[sandbox] feed file over 10 MB")
    kind = media_type(request)
    if kind == "application/json":
        return raw
    if kind != "multipart/form-data":
        raise errors.unsupported_media(request.headers.get("content-type", "(none)"), service)
    head = f"Content-Type: {request.headers['content-type']}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True) or b""
    raise errors.bad_content("multipart body has no part named file", service, field="file")

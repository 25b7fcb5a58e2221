"""Just enough HTTP/1.1 framing for the fault proxy: read one request, write one (possibly cut) response."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus

MAX_HEAD = 64 * 1024


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name), "")


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """The next request on a connection, or None once the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise
    if len(head) > MAX_HEAD:
        raise ValueError("request head too large")
    line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = line.split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in lines if h)]
    request = HttpRequest(method.upper(), target, headers, b"")
    if request.header("transfer-encoding").lower() == "chunked":
        request.body = await _chunked(reader)
    elif length := int(request.header("content-length") or 0):
        request.body = await reader.readexactly(length)
    return request


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
        pass
    return bytes(body)


async def write_response(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes,
                         *, cut: int | None = None) -> None:
    """Send a response; with `cut`, only the headers and the first `cut` bytes of the body."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), f"content-length: {len(body)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    writer.write(body if cut is None else body[:cut])
    await writer.drain()

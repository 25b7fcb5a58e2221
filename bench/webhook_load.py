"""A burst of webhook deliveries sent concurrently: the receiver's load test and benchmark body.

    from bench.webhook_load import deliver_burst, v1_payloads
    results = deliver_burst(url, v1_payloads(500, "https://ssapi.shipstation.com"), concurrency=500)

Each delivery is one HTTP/1.1 request on its own connection (`Connection: close`), written with
asyncio streams. httpx's async pool costs far more CPU than the receiver at hundreds of concurrent
connections (500 deliveries: ~8 s through httpx, ~0.2 s this way, same process), so a burst sent
through it would time the client, not the receiver.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit


def v1_payloads(n: int, shipstation_base_url: str, *, store_id: int = 77120) -> list[bytes]:
    """`n` distinct V1 deliveries (reference §8.3), alternating ORDER_NOTIFY and SHIP_NOTIFY."""
    base = shipstation_base_url.rstrip("/")
    out = []
    for i in range(n):
        if i % 2:
            body = {"resource_url": f"{base}/shipments?storeID={store_id}&batchId={i}&includeShipmentItems=False",
                    "resource_type": "SHIP_NOTIFY"}
        else:
            body = {"resource_url": f"{base}/orders?storeID={store_id}&importBatch=burst-{i}",
                    "resource_type": "ORDER_NOTIFY"}
        out.append(json.dumps(body).encode())
    return out


async def post_once(url: str, body: bytes, headers: Mapping[str, str] | None = None,
                    timeout: float = 60.0) -> tuple[int, Any]:
    """One POST on a fresh connection; (status, parsed JSON or text)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = {"Host": parts.netloc, "Content-Type": "application/json", **(headers or {}),
            "Content-Length": str(len(body)), "Connection": "close"}
    head = f"POST {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items()) + "\r\n"

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(parts.hostname, port,
                                                       ssl=ssl.create_default_context() if secure else None)
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    raw = await asyncio.wait_for(exchange(), timeout)
    status_line, _, rest = raw.partition(b"\r\n")
    content = rest.partition(b"\r\n\r\n")[2]
    status = int(status_line.split(b" ", 2)[1])
    try:
        return status, json.loads(content)
    except ValueError:
        return status, content.decode("utf-8", "replace")


async def post_burst(url: str, bodies: Sequence[bytes], *, headers: Mapping[str, str] | None = None,
                     concurrency: int = 100, timeout: float = 60.0) -> list[tuple[int, Any]]:
    """POST every body to `url`, at most `concurrency` in flight; results in input order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(body: bytes) -> tuple[int, Any]:
        async with gate:
            return await post_once(url, body, headers, timeout)

    return list(await asyncio.gather(*(one(body) for body in bodies)))


def deliver_burst(url: str, bodies: Sequence[bytes], **options: Any) -> list[tuple[int, Any]]:
    """Synchronous `post_burst` (its own event loop): the function a benchmark times."""
    return asyncio.run(post_burst(url, bodies, **options))

"""JwksClient: the V2 webhook JWKS fetched through the common client (one attempt, errors classified)."""

import httpx
import pytest

from connectors.common.errors import ServerError
from connectors.shipstation.jwks import JwksClient

URL = "https://jwks.test/v1/jwks?kid=a"


def client(*replies: httpx.Response, seen: list[httpx.Request] | None = None) -> JwksClient:
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        (seen if seen is not None else []).append(request)
        return queue.pop(0)

    return JwksClient(URL, transport=httpx.MockTransport(handle))


def test_fetch_returns_the_document_from_the_exact_url() -> None:
    seen: list[httpx.Request] = []
    with client(httpx.Response(200, json={"keys": [{"kid": "a"}]}), seen=seen) as jwks:
        assert jwks.fetch() == {"keys": [{"kid": "a"}]}
    assert str(seen[0].url) == URL and seen[0].headers["Accept"] == "application/json"


@pytest.mark.parametrize("reply", [httpx.Response(503), httpx.Response(200, json=["not", "an", "object"]),
                                   httpx.Response(200, text="<html>")])
def test_failures_are_server_errors_after_one_attempt(reply: httpx.Response) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ServerError):
        client(reply, seen=seen).fetch()
    assert len(seen) == 1


def test_only_absolute_http_urls() -> None:
    with pytest.raises(ValueError):
        JwksClient("/jwks")

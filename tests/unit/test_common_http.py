"""Response classification and the BaseClient retry loop, offline via httpx.MockTransport."""

import pickle
from decimal import Decimal

import httpx
import pytest

from connectors.common.errors import (
    AuthError,
    BadRequest,
    NotFound,
    RateLimited,
    RecordError,
    ServerError,
    TransportError,
    excerpt,
)
from connectors.common.http import BaseClient, classify_response, retry_after_seconds
from connectors.common.retry import RetryPolicy

REQUEST = httpx.Request("GET", "https://api.example.test/orders?page=2")


def response(status: int, body: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers, request=REQUEST)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (400, BadRequest),
        (405, BadRequest),
        (422, BadRequest),
    ],
)
def test_classification(status: int, error_type: type[Exception]) -> None:
    with pytest.raises(error_type) as caught:
        classify_response(response(status, '{"Message": "nope"}'), system="shipstation")
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert caught.value.request == "GET /orders"  # type: ignore[attr-defined]


def test_success_passes() -> None:
    for status in (200, 201, 204):
        classify_response(response(status), system="x")


def test_bad_request_carries_the_api_message() -> None:
    body = '{"Message": "The request is invalid.", "ModelState": {"orderNumber": ["required"]}}'
    with pytest.raises(BadRequest) as caught:
        classify_response(response(400, body), system="shipstation")
    assert caught.value.message == "The request is invalid."
    assert "ModelState" in (caught.value.excerpt or "")
    assert str(caught.value).startswith("shipstation: HTTP 400 on GET /orders: The request is invalid.")


@pytest.mark.parametrize(
    ("headers", "padding", "expected"),
    [
        ({"Retry-After": "12"}, 0.0, 12.0),
        ({"X-Rate-Limit-Reset": "27"}, 1.0, 28.0),
        ({"Retry-After": "5", "X-Rate-Limit-Reset": "27"}, 0.0, 5.0),
        ({}, 0.0, 60.0),  # unannounced 429: a full window
    ],
)
def test_429_is_rate_limited_with_retry_after(headers: dict[str, str], padding: float, expected: float) -> None:
    with pytest.raises(RateLimited) as caught:
        classify_response(
            response(429, '{"message": "Too Many Requests"}', headers), system="x", retry_after_padding=padding
        )
    assert caught.value.retry_after == expected
    assert caught.value.message == "Too Many Requests"


def test_retry_after_http_date() -> None:
    headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"})
    assert retry_after_seconds(headers, now=lambda: 1445412480.0) == 30.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None


def test_excerpt_is_short_and_redacted() -> None:
    text = "key=SEKRET " + "x" * 500
    cut = excerpt(text, ["SEKRET"])
    assert "SEKRET" not in cut and cut.startswith("key=***")
    assert len(cut) == 200


def test_errors_survive_pickling() -> None:
    error = RateLimited("slow", system="shipstation", status=429, excerpt="{}", retry_after=3.0)
    clone = pickle.loads(pickle.dumps(error))
    assert (type(clone), clone.retry_after, clone.status, str(clone)) == (RateLimited, 3.0, 429, str(error))
    record = pickle.loads(pickle.dumps(RecordError("shipstation", "orderId=1", "unitPrice", "bad")))
    assert (record.record_id, record.field) == ("orderId=1", "unitPrice")


def make_client(handler, *, attempts: int = 3, sleeps: list[float] | None = None) -> BaseClient:
    store = sleeps if sleeps is not None else []
    return BaseClient(
        base_url="https://api.example.test",
        auth=None,
        timeout=5.0,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts, 1.0, 10.0),
        secrets=["SEKRET"],
        sleep=store.append,
        rng=lambda: 0.0,
    )


def test_timeouts_are_retried_as_transport_errors() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"price": 1})

    sleeps: list[float] = []
    assert make_client(handler, sleeps=sleeps).get_json("/x") == {"price": 1}
    assert len(calls) == 2 and sleeps == [0.5]


def test_connection_errors_give_up_and_are_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("could not reach SEKRET host", request=request)

    with pytest.raises(TransportError) as caught:
        make_client(handler, attempts=2).get_json("/x")
    assert "SEKRET" not in str(caught.value)
    assert caught.value.__cause__ is None  # the httpx request (and its headers) is not kept


def test_non_json_success_is_a_server_error() -> None:
    client = make_client(lambda request: httpx.Response(200, text="<html>maintenance</html>"), attempts=2)
    with pytest.raises(ServerError, match="not JSON"):
        client.get_json("/x")


def test_json_floats_are_decimal_and_none_params_dropped() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b'{"amount": 41.55}')

    with make_client(handler) as client:
        assert client.get_json("/x", {"a": 1, "b": None}) == {"amount": Decimal("41.55")}
    assert dict(seen[0].url.params) == {"a": "1"}


def _tls_of(http: httpx.Client):
    return http._transport._pool._ssl_context  # httpx's own transport, as each client built it


def test_every_client_shares_one_verifying_tls_context_built_once():
    """Building a TLS context reads the CA bundle (20-40 ms): the clients of a run share one, still verifying."""
    import ssl

    from connectors.common.auth.oauth import OAuth2ClientCredentials
    from connectors.common.http import default_tls
    from connectors.tally.client import TallyClient

    first = BaseClient(base_url="https://a.example.test", auth=None, timeout=5)
    second = BaseClient(base_url="https://b.example.test", auth=None, timeout=5)
    tally = TallyClient("https://tally.example.test", "Co")
    oauth = OAuth2ClientCredentials(token_url="https://auth.example.test/token", client_id="id", client_secret="s")
    contexts = {id(_tls_of(c._http)) for c in (first, second, tally, oauth)}
    assert contexts == {id(default_tls())}
    assert default_tls().verify_mode == ssl.CERT_REQUIRED and default_tls().check_hostname


def test_a_tally_agent_certificate_gets_a_context_of_its_own(tmp_path):
    """TALLY_CA_CERT (the agent's self-signed certificate) is trusted alone, never added to the shared context."""
    from connectors.common.http import default_tls
    from connectors.tally.client import TallyClient

    cert = tmp_path / "agent.pem"
    cert.write_bytes(_self_signed_pem())
    agent = TallyClient("https://agent.example.test", "Co", ca_cert=str(cert))
    assert _tls_of(agent._http) is not default_tls()


def _self_signed_pem() -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)

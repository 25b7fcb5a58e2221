"""V2 webhook signatures (reference §5.4) with RSA keys generated here, and the JWKS cache."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ml_connector.webhooks.signature import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    JwksCache,
    JwksUnavailable,
    MissingSignature,
    StaleTimestamp,
    UnknownKey,
    parse_jwks,
    verify,
)

NOW = 1_780_000_000.0
BODY = b'{"resource_url":"https://api.shipstation.com/v2/batches/se-1","resource_type":"BATCH_PROCESSED_V2"}'


def b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(numbers.n), "e": b64url(numbers.e)}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def signed(key: rsa.RSAPrivateKey, kid: str, body: bytes = BODY, at: float = NOW) -> dict[str, str]:
    """Headers the way ShipStation sends them: RSA-SHA256 over "{timestamp}.{raw body}", base64."""
    timestamp = iso(at)
    signature = key.sign(timestamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return {KEY_ID_HEADER: kid, SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: timestamp}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(key: rsa.RSAPrivateKey) -> dict:
    return parse_jwks({"keys": [jwk(key, "k1")]})


def test_a_valid_signature_verifies_and_names_its_key(key, keys):
    result = verify(signed(key, "k1"), BODY, NOW, keys)
    assert result is not None and result.key_id == "k1"


def test_header_names_are_case_insensitive(key, keys):
    headers = {name.title(): value for name, value in signed(key, "k1").items()}
    assert verify(headers, BODY, NOW, keys) is not None


def test_no_signature_headers_means_unsigned(keys):
    assert verify({"content-type": "application/json"}, BODY, NOW, keys) is None


@pytest.mark.parametrize("dropped", [KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_any_header_missing_or_empty_is_refused(key, keys, dropped):
    headers = signed(key, "k1")
    del headers[dropped]
    with pytest.raises(MissingSignature) as missing:
        verify(headers, BODY, NOW, keys)
    assert missing.value.status == 400
    with pytest.raises(MissingSignature):
        verify(signed(key, "k1") | {dropped: " "}, BODY, NOW, keys)


@pytest.mark.parametrize("offset", [-299.0, 0.0, 299.0])
def test_timestamps_within_five_minutes_either_way_are_accepted(key, keys, offset):
    assert verify(signed(key, "k1", at=NOW + offset), BODY, NOW, keys) is not None


@pytest.mark.parametrize("offset", [-301.0, 301.0, -86400.0 * 30])
def test_stale_or_far_future_timestamps_are_refused_before_any_key_lookup(key, offset):
    def lookup(kid: str):
        raise AssertionError("a stale delivery must not make us look keys up (or fetch the JWKS)")

    with pytest.raises(StaleTimestamp) as stale:
        verify(signed(key, "k1", at=NOW + offset), BODY, NOW, lookup)
    assert stale.value.status == 400


def test_an_unparseable_timestamp_is_refused(key, keys):
    with pytest.raises(StaleTimestamp):
        verify(signed(key, "k1") | {TIMESTAMP_HEADER: "yesterday"}, BODY, NOW, keys)


def test_timestamps_with_offsets_and_fractions_are_signed_as_sent(key, keys):
    timestamp = datetime.fromtimestamp(NOW, UTC).astimezone().isoformat(timespec="microseconds")
    signature = key.sign(timestamp.encode() + b"." + BODY, padding.PKCS1v15(), hashes.SHA256())
    headers = {KEY_ID_HEADER: "k1", SIGNATURE_HEADER: base64.b64encode(signature).decode(),
               TIMESTAMP_HEADER: timestamp}
    assert verify(headers, BODY, NOW, keys) is not None


Forgery = Callable[[dict[str, str]], tuple[dict[str, str], bytes]]
FORGERIES: dict[str, Forgery] = {
    "body changed by one byte": lambda h: (h, BODY.replace(b"se-1", b"se-2")),
    "body re-serialised": lambda h: (h, json.dumps(json.loads(BODY)).encode()),
    "timestamp moved within tolerance": lambda h: (h | {TIMESTAMP_HEADER: iso(NOW + 1)}, BODY),
    "signature truncated": lambda h: (h | {SIGNATURE_HEADER: h[SIGNATURE_HEADER][:-8]}, BODY),
    "signature not base64": lambda h: (h | {SIGNATURE_HEADER: "!!not base64!!"}, BODY),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_deliveries_are_refused(key, keys, forgery):
    headers, body = FORGERIES[forgery](signed(key, "k1"))
    with pytest.raises(BadSignature) as bad:
        verify(headers, body, NOW, keys)
    assert bad.value.status == 401


def test_a_signature_by_another_key_under_our_kid_is_refused(other_key, keys):
    with pytest.raises(BadSignature):
        verify(signed(other_key, "k1"), BODY, NOW, keys)


def test_url_safe_unpadded_base64_is_accepted(key, keys):
    headers = signed(key, "k1")
    raw = base64.b64decode(headers[SIGNATURE_HEADER])
    headers[SIGNATURE_HEADER] = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert verify(headers, BODY, NOW, keys) is not None


def test_an_unknown_kid_is_refused(key, keys):
    with pytest.raises(UnknownKey) as unknown:
        verify(signed(key, "k9"), BODY, NOW, keys)
    assert unknown.value.status == 401


def test_parse_jwks_keeps_only_rsa_signing_keys(key):
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    document = {"keys": [
        jwk(key, "rsa"), jwk(key, "enc") | {"use": "enc"}, {"kty": "EC", "kid": "ec", "crv": "P-256",
                                                             "x": b64url(ec_key.x), "y": b64url(ec_key.y)},
        {"kty": "RSA", "kid": "broken", "n": 5, "e": "AQAB"}, "junk", {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
    ]}
    assert set(parse_jwks(document)) == {"rsa"}
    assert parse_jwks({"nokeys": 1}) == {} and parse_jwks([1, 2]) == {}


class JwksServer:
    """An httpx transport serving a mutable JWKS and counting fetches."""

    def __init__(self, *keys: dict[str, str]) -> None:
        self.keys = list(keys)
        self.status = 200
        self.hits = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.hits += 1
        return httpx.Response(self.status, json={"keys": self.keys})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_for(server: JwksServer, clock: Clock, **options) -> JwksCache:
    return JwksCache("https://jwks.test/jwks", transport=httpx.MockTransport(server.handle), clock=clock, **options)


def test_jwks_is_fetched_once_and_cached(key):
    server, clock = JwksServer(jwk(key, "k1")), Clock()
    cache = cache_for(server, clock)
    for _ in range(5):
        assert cache.verify(signed(key, "k1"), BODY, NOW) is not None
    assert server.hits == 1
    clock.now += 3601  # past the TTL
    cache.verify(signed(key, "k1"), BODY, NOW)
    assert server.hits == 2


def test_an_unknown_kid_refreshes_once_then_is_refused_and_refreshes_at_most_once_a_minute(key, other_key):
    server, clock = JwksServer(jwk(key, "k1")), Clock()
    cache = cache_for(server, clock)
    cache.verify(signed(key, "k1"), BODY, NOW)
    clock.now += 61
    with pytest.raises(UnknownKey):
        cache.verify(signed(other_key, "k2"), BODY, NOW)
    assert server.hits == 2  # one refresh for the unknown kid
    for _ in range(20):  # a flood of made-up kids
        with pytest.raises(UnknownKey):
            cache.verify(signed(other_key, "made-up"), BODY, NOW)
    assert server.hits == 2
    server.keys.append(jwk(other_key, "k2"))  # ShipStation rotates its key
    clock.now += 61
    assert cache.verify(signed(other_key, "k2"), BODY, NOW).key_id == "k2"
    assert server.hits == 3
    assert cache.verify(signed(key, "k1"), BODY, NOW) is not None and server.hits == 3


def test_a_failed_refresh_keeps_the_keys_we_had(key, other_key):
    server, clock = JwksServer(jwk(key, "k1")), Clock()
    cache = cache_for(server, clock)
    cache.verify(signed(key, "k1"), BODY, NOW)
    server.status = 500
    clock.now += 3601
    assert cache.verify(signed(key, "k1"), BODY, NOW) is not None  # stale but known key still verifies
    with pytest.raises(JwksUnavailable) as unavailable:  # a new kid while the JWKS is down: retry later
        clock.now += 61
        cache.verify(signed(other_key, "k2"), BODY, NOW)
    assert unavailable.value.status == 503


def test_an_unreachable_jwks_is_unavailable_not_unknown_and_is_not_hammered(key):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    clock = Clock()
    cache = JwksCache("https://jwks.test/jwks", transport=httpx.MockTransport(refuse), clock=clock)
    for _ in range(3):
        with pytest.raises(JwksUnavailable):
            cache.verify(signed(key, "k1"), BODY, NOW)
    assert cache.fetches == 1

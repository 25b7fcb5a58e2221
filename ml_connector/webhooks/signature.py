"""ShipStation V2 (ShipEngine) webhook signatures: RSA-SHA256 over `"{timestamp}.{raw body}"`.

Reference §5.4: every signed delivery carries a key id, a base64 signature and an ISO-8601 timestamp;
the public key is the JWKS entry whose `kid` is the key id. The signature covers the raw body bytes,
never a re-serialisation. A timestamp more than five minutes off either way is refused, so a captured
delivery cannot be replayed later. `verify()` is pure (keys come from a lookup); `JwksCache` fetches.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from connectors.common.errors import ConnectorError
from connectors.shipstation.jwks import JwksClient

logger = logging.getLogger("ml_connector.webhooks")

KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
SIGNATURE_HEADERS = (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER)
TOLERANCE_SECONDS = 300.0
_MAX_HEADER_CHARS = 2048

KeyLookup = Callable[[str], RSAPublicKey]


class SignatureError(Exception):
    """A signed delivery we refuse; `status` is the HTTP answer the receiver gives."""

    status = 401


class MissingSignature(SignatureError):
    """Some but not all of the three signature headers (or one is empty or oversized)."""

    status = 400


class StaleTimestamp(SignatureError):
    """The timestamp is unparseable or more than the tolerance away from our clock."""

    status = 400


class BadSignature(SignatureError):
    """The signature does not verify with the key named by the key id."""


class UnknownKey(SignatureError):
    """No JWKS key has this key id, even after a refresh."""


class JwksUnavailable(SignatureError):
    """The JWKS could not be fetched and no cached key fits: the sender should retry later."""

    status = 503


@dataclass(frozen=True)
class SignedHeaders:
    key_id: str
    signature: str
    timestamp: str


def signed_headers(headers: Mapping[str, str]) -> SignedHeaders | None:
    """The three signature headers, None when none is present; MissingSignature when only some are."""
    lowered = {str(key).lower(): value for key, value in headers.items()}
    values = [(lowered.get(name) or "").strip() for name in SIGNATURE_HEADERS]
    present = [name in lowered for name in SIGNATURE_HEADERS]
    if not any(present):
        return None
    if not all(values) or any(len(v) > _MAX_HEADER_CHARS for v in values):
        missing = [name for name, value in zip(SIGNATURE_HEADERS, values, strict=True) if not value]
        raise MissingSignature(f"signature headers incomplete: missing {', '.join(missing) or 'none (oversized)'}")
    return SignedHeaders(*values)


def check_timestamp(timestamp: str, now: float, tolerance: float = TOLERANCE_SECONDS) -> float:
    """Epoch seconds of an ISO-8601 `timestamp` within `tolerance` of `now`, else StaleTimestamp."""
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise StaleTimestamp("timestamp is not ISO-8601") from exc
    when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if abs(when - now) > tolerance:
        raise StaleTimestamp(f"timestamp is {when - now:+.0f}s from our clock (tolerance {tolerance:.0f}s)")
    return when


def verify_with_key(key: RSAPublicKey, signed: SignedHeaders, raw_body: bytes) -> None:
    """BadSignature unless `signed.signature` is RSA-SHA256 (PKCS#1 v1.5) of `"{timestamp}.{raw_body}"`."""
    try:
        signature = _b64decode(signed.signature)
        key.verify(signature, signed.timestamp.encode() + b"." + raw_body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise BadSignature("signature does not verify") from exc


def verify(headers: Mapping[str, str], raw_body: bytes, now: float, keys: KeyLookup | Mapping[str, RSAPublicKey],
           *, tolerance: float = TOLERANCE_SECONDS) -> SignedHeaders | None:
    """Check a delivery's signature; None when it carries no signature headers at all.

    The timestamp is checked before any key is looked up, so stale or forged-timestamp deliveries
    never make us fetch the JWKS.
    """
    signed = signed_headers(headers)
    if signed is None:
        return None
    check_timestamp(signed.timestamp, now, tolerance)
    lookup = keys if callable(keys) else _mapping_lookup(keys)
    verify_with_key(lookup(signed.key_id), signed, raw_body)
    return signed


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """RSA signing keys of a JWKS document by kid; other key types and malformed entries are skipped."""
    keys: dict[str, RSAPublicKey] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        kid, n, e = entry.get("kid"), entry.get("n"), entry.get("e")
        if not (isinstance(kid, str) and isinstance(n, str) and isinstance(e, str)):
            continue
        try:
            keys[kid] = RSAPublicNumbers(_b64url_int(e), _b64url_int(n)).public_key()
        except (ValueError, binascii.Error):
            logger.warning("JWKS key %s is not a valid RSA key; skipped", kid)
    return keys


class JwksCache:
    """Public keys from a JWKS URL, cached by kid for `ttl` seconds.

    An unknown kid triggers one refresh, at most once per `refresh_interval` seconds (a stream of
    made-up kids must not turn us into a JWKS hammer). A failed fetch keeps the keys we had.
    """

    def __init__(self, url: str, *, ttl: float = 3600.0, refresh_interval: float = 60.0, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.ttl = ttl
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.transport = transport
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_ok = False
        self._lock = threading.Lock()

    def key(self, kid: str) -> RSAPublicKey:
        """The key with this kid; fetches when the cache is empty or expired, refreshes once if unknown."""
        with self._lock:
            now = self.clock()
            expired = self._fetched_at is None or now - self._fetched_at > self.ttl
            if expired or kid not in self._keys:
                self._refresh(now)
            if kid in self._keys:
                return self._keys[kid]
            if not self._last_ok:
                raise JwksUnavailable("JWKS could not be fetched")
            raise UnknownKey(f"no JWKS key with kid {kid[:64]!r}")

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: float) -> SignedHeaders | None:
        """`verify()` against this JWKS; `now` is epoch seconds (the receiver's clock)."""
        return verify(headers, raw_body, now, self.key)

    def _refresh(self, now: float) -> None:
        if self._attempted_at is not None and now - self._attempted_at < self.refresh_interval:
            return
        self._attempted_at = now
        self.fetches += 1
        try:
            with JwksClient(self.url, timeout=self.timeout, transport=self.transport) as client:
                keys = parse_jwks(client.fetch())
        except (ConnectorError, ValueError) as exc:
            self._last_ok = False
            logger.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            return
        self._keys, self._fetched_at, self._last_ok = keys, now, True
        logger.info("JWKS fetched from %s: %d RSA key(s)", self.url, len(keys))


def _mapping_lookup(keys: Mapping[str, RSAPublicKey]) -> KeyLookup:
    def lookup(kid: str) -> RSAPublicKey:
        if kid not in keys:
            raise UnknownKey(f"no key with kid {kid[:64]!r}")
        return keys[kid]

    return lookup


def _b64decode(text: str) -> bytes:
    # Standard base64 per §5.4; URL-safe accepted too, padding optional.
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)


def _b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

"""Sign webhook bodies the way ShipStation V2 does (reference §5.4), with a key generated here.

Headers on every signed delivery:
- `x-shipengine-rsa-sha256-key-id`: the `kid` of the signing key in the JWKS;
- `x-shipengine-rsa-sha256-signature`: base64 (standard alphabet, padded) RSA-SHA256 PKCS#1 v1.5
  signature over the UTF-8 bytes of `"{timestamp}.{raw_body}"`;
- `x-shipengine-timestamp`: ISO-8601 UTC, e.g. `2024-11-04T08:02:11.103Z`.

The public half is served as a JWKS (`{"keys": [{kty, kid, use, alg, n, e}]}`, `n`/`e` unpadded
base64url big-endian), as at `https://api.shipengine.com/jwks`. The signed-string format and JWKS
URL come from community implementations, not the official page (§5.4: verify in staging).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_ID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"
KEY_BITS = 2048


def b64url_uint(value: int) -> str:
    """An unsigned integer as unpadded base64url of its big-endian bytes (RFC 7518 §6.3.1)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def timestamp(value: datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and `Z` (the format we send; the real one is unverified)."""
    moment = (value or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signed_bytes(stamp: str, body: bytes | str) -> bytes:
    """What is signed: `{timestamp}.{raw_body}` as bytes."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return stamp.encode("utf-8") + b"." + raw


class Signer:
    """An RSA key pair that signs webhook bodies and publishes its public key as a JWKS."""

    def __init__(
        self, private_key: rsa.RSAPrivateKey | None = None, *, kid: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.private_key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        self.public_key = self.private_key.public_key()
        self.kid = kid or self._default_kid()
        self._now = now or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"Signer(kid={self.kid!r})"

    def _default_kid(self) -> str:
        der = self.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "sandbox-" + hashlib.sha256(der).hexdigest()[:16]

    def jwk(self) -> dict[str, str]:
        """The public key as one JWK."""
        numbers = self.public_key.public_numbers()
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document served at `/jwks`."""
        return {"keys": [self.jwk()]}

    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo)."""
        return self.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def signature(self, stamp: str, body: bytes | str) -> str:
        """Base64 RSA-SHA256 (PKCS#1 v1.5) signature of `{stamp}.{body}`."""
        raw = self.private_key.sign(signed_bytes(stamp, body), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")

    def sign(self, body: bytes | str, stamp: str | None = None) -> dict[str, str]:
        """The three webhook headers for `body` (timestamp defaults to now)."""
        stamp = stamp or timestamp(self._now())
        return {KEY_ID_HEADER: self.kid, SIGNATURE_HEADER: self.signature(stamp, body), TIMESTAMP_HEADER: stamp}

"""Verifying Zoho's webhook signatures (reference §13).

Zoho documents the scheme for Billing/Subscriptions ("Securing webhooks",
zoho.com/us/billing/kb/webhooks/securing-webhooks.html; integrators report the same for Books, whose
webhook API takes a 12-50 alphanumeric `secret` "for webhook signature verification"): header
``X-Zoho-Webhook-Signature`` = hex HMAC-SHA256, keyed by the webhook's secret, over the request's
query-string pairs and, for an x-www-form-urlencoded body, its pairs (decoded first), sorted by name
and concatenated as ``name + value``, followed by the raw JSON body (none for a form body). Zoho's
example: query ``subscription_id=90343&name=basic`` and body ``{"created_date":...}`` sign
``namebasicsubscription_id90343{"created_date":...}``. Header names are case-insensitive; the hex
is compared case-insensitively and in constant time. There is no timestamp in what is signed, so a
receiver needs its own replay protection (`ml_connector.webhooks` stores a delivery once).

A webhook only wakes a sync early: the record is read back through the API before anything is
done with it, and polling stays the source of truth.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"


def signed_message(params: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """The bytes Zoho signs: sorted ``name+value`` pairs, then the raw body."""
    joined = "".join(name + value for name, value in sorted(params))
    return joined.encode() + body


def signature(secret: str, params: Iterable[tuple[str, str]], body: bytes) -> str:
    return hmac.new(secret.encode(), signed_message(params, body), hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], params: Iterable[tuple[str, str]], body: bytes) -> bool:
    """True only when a secret is configured and the request's signature matches it (constant time)."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
    if not secret or not given:
        return False
    return hmac.compare_digest(given.strip().lower(), signature(secret, params, body))

"""Zoho webhook signatures: what the simulator signs verifies, anything altered or unsigned does not."""

from __future__ import annotations

from connectors.zoho_books.webhooks import SIGNATURE_HEADER, signature, verify
from sandbox.zoho_books import sign

SECRET = "WebhookSecret123"
BODY = b'{"contact": {"contact_id": "460000000026049", "contact_name": "Asha Rao"}}'


def test_a_delivery_signed_by_the_simulator_verifies():
    headers = {SIGNATURE_HEADER.lower(): sign(SECRET, BODY)}
    assert verify(SECRET, headers, [], BODY)


def test_an_altered_body_a_wrong_secret_or_no_signature_is_refused():
    headers = {SIGNATURE_HEADER: sign(SECRET, BODY)}
    assert not verify(SECRET, headers, [], BODY.replace(b"Asha", b"Ashe"))
    assert not verify("AnotherSecret99", headers, [], BODY)
    assert not verify(SECRET, {}, [], BODY)
    assert not verify("", headers, [], BODY)  # no secret configured: nothing is trusted


def test_query_parameters_are_signed_sorted_before_the_body():
    params = [("b", "2"), ("a", "1")]
    assert signature(SECRET, params, BODY) == sign(SECRET, b"a1b2" + BODY)
    assert verify(SECRET, {SIGNATURE_HEADER: signature(SECRET, params, BODY)}, list(reversed(params)), BODY)

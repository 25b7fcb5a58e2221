"""Operations alerts: message shape, delivery, and that the webhook URL (a token) never shows."""

from __future__ import annotations

import httpx
import pytest

from pipelines.reconciliation.alerts import (
    MAX_LINES,
    AlertDeliveryError,
    exception_alerts,
    ledger_alerts,
    message,
    send,
)
from state.ledger import Entry

URL = "https://hooks.slack.example/services/T000/B000/very-secret-token"


def entry(sid: str, state: str, error: str | None, **detail) -> Entry:
    return Entry("shipstation_tally.orders", sid, "tally", f"ss-order-{sid}", state, None, None, None, False, 1,
                 error, None, detail, None, None, 0.0)


def test_message_groups_by_owner_and_caps_lines():
    alerts = ledger_alerts([entry(str(n), "failed", "SKU 'X' has no stock item", order_number=f"WC-{n}")
                            for n in range(MAX_LINES + 5)])
    alerts += exception_alerts([{"day": "2026-03-02", "category": "voucher_without_order", "owner": "finance",
                                 "reason": "Sales Order SO-9 in Tally matches no ShipStation order",
                                 "source_id": None, "target_id": "77"}])
    text = message(alerts)
    assert text.startswith(f"ml-connector: {MAX_LINES + 6} new exception(s)")
    assert "*finance* (1):" in text and "*operations* (25):" in text
    assert "WC-0 failed: SKU 'X' has no stock item" in text and "… and 5 more" in text


def test_send_posts_slack_style_json():
    seen = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, text="ok"))
    send(URL, "hello", transport=transport)
    assert seen[0].method == "POST" and seen[0].read() == b'{"text":"hello"}'


@pytest.mark.parametrize("answer", [httpx.Response(404), httpx.ConnectError("refused: " + URL)])
def test_failures_name_only_the_host(answer):
    def handler(request):
        if isinstance(answer, Exception):
            raise answer
        return answer
    with pytest.raises(AlertDeliveryError) as caught:
        send(URL, "x", transport=httpx.MockTransport(handler))
    assert "hooks.slack.example" in str(caught.value) and "very-secret-token" not in str(caught.value)

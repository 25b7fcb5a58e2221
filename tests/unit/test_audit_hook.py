"""The audit hook stores a reply the client already compressed as it streamed, and still scrubs secrets from it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from state.audit_hook import AuditHook
from state.ledger import SyncLedger


@dataclass
class Streamed:
    request: bytes
    deflated_response: bytes
    operation: str = "export"
    status: str = "ok"


def test_a_streamed_reply_is_stored_as_compressed_and_read_back_whole(tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    body = b"<ENVELOPE>" + b"<VOUCHER><AMOUNT>12.50</AMOUNT></VOUCHER>" * 1000 + b"</ENVELOPE>"
    AuditHook(ledger.audit, run_id="r1", flow="f")(Streamed(b"<EXPORT/>", zlib.compress(body, 1)))
    [record] = ledger.audit.records("r1")
    assert (record.request, record.response) == (b"<EXPORT/>", body)


def test_a_secret_inside_a_streamed_reply_never_reaches_the_trail(tmp_path):
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    ledger.audit.secrets = ("hunter2-password",)
    body = b"<ENVELOPE><PASSWORD>hunter2-password</PASSWORD><X>1</X></ENVELOPE>"
    AuditHook(ledger.audit, run_id="r2")(Streamed(b"<EXPORT/>", zlib.compress(body, 1)))
    [record] = ledger.audit.records("r2")
    assert b"hunter2-password" not in record.response and b"<X>1</X>" in record.response

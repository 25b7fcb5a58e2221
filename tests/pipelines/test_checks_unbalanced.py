"""A mapping that produces an unbalanced voucher fails that one record, not the step, for both posters.

Two ways a mapping bug shows up: it hands back a voucher object that does not net to zero (built with
`model_copy`, which skips validation), or building the voucher raises the model's own balance check
(pydantic `ValidationError`, what a rounding bug inside `order_to_voucher` would actually raise).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
from pipelines.shipstation_tally import posting, shipments
from pipelines.sides.tally.markers import MARKER_RE
from state.ledger import SyncLedger
from tests.pipelines.conftest import expected_orders

NOTES_JOB = "shipstation_shipments_to_tally"


def unbalanced(voucher):
    """The same voucher with its party line one rupee off: it no longer nets to zero."""
    party, *rest = voucher.ledger_entries
    return voucher.model_copy(update={"ledger_entries": [party.model_copy(update={"amount": party.amount - 1}),
                                                         *rest]})


def rebuilt(voucher):
    """Rebuilding the unbalanced voucher through the model: raises the model's balance check."""
    return type(voucher)(**{k: getattr(voucher, k) for k in type(voucher).model_fields})


def spoil_one(monkeypatch, module, name: str, build) -> list[str]:
    """Make `module.name` (a mapping) spoil the voucher of the first record it maps; returns that record's marker."""
    real, spoiled = getattr(module, name), []

    def mapping(*args, **kwargs):
        voucher = real(*args, **kwargs)
        if getattr(args[0], "voided", False) or (spoiled and spoiled[0] not in (voucher.narration or "")):
            return voucher  # a voided label's note is cancelled, never sent: spoil a live one
        spoiled[:] = MARKER_RE.findall(voucher.narration or "")
        return build(unbalanced(voucher))

    monkeypatch.setattr(module, name, mapping)
    return spoiled


@pytest.mark.parametrize("build", [
    pytest.param(lambda v: v, id="returned-unbalanced"),
    pytest.param(rebuilt, id="raised-by-the-model"),
])
def test_an_unbalanced_order_voucher_fails_only_its_order(env, monkeypatch, build):
    spoiled = spoil_one(monkeypatch, posting, "order_to_voucher", build)
    summary = env.run()
    assert summary.success, summary.error
    [key] = spoiled
    [failure] = [f for f in summary.metric("tally/order_vouchers", "failures") if f"ss-order-{f['order_id']}" == key]
    assert "net" in failure["error"] or "balance" in failure["error"]
    assert set(env.vouchers_per_order()) == set(expected_orders(env.sandbox)) - {key}
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    assert ledger.get(posting.FLOW, key.removeprefix("ss-order-"), "tally").state == "failed"


@pytest.mark.parametrize("build", [
    pytest.param(lambda v: v, id="returned-unbalanced"),
    pytest.param(rebuilt, id="raised-by-the-model"),
])
def test_an_unbalanced_delivery_note_fails_only_its_shipment(env, monkeypatch, build):
    spoiled = spoil_one(monkeypatch, shipments, "shipment_to_delivery_note", build)
    summary = run_job(build_definitions(env.settings()), NOTES_JOB, instance_for(env.home))
    assert summary.success, summary.error
    [key] = spoiled
    sid = key.removeprefix("ss-shipment-")
    failures = summary.metric("tally/delivery_notes", "failures")
    [failure] = [f for f in failures if str(f["shipment_id"]) == sid]
    assert "do not match" in failure["error"] or "balance" in failure["error"] or "net" in failure["error"]
    assert summary.metric("tally/delivery_notes", "created") > 0
    notes = [v for v in env.sandbox.vouchers() if v["type"] == "Delivery Note" and not v["cancelled"]]
    assert not [v for v in notes if key in (v["narration"] or "")]
    assert all(sum(Decimal(e["amount"]) for e in [*v["ledger_entries"], *v["inventory_entries"]]) == 0
               for v in notes)
    assert SyncLedger(env.home / "ledger.sqlite3").get(shipments.FLOW, sid, "tally").state == "failed"

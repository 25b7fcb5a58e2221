"""The order sync with its orders mapped in a helper process (`pipelines.posting.ahead`): the same vouchers,
the same failures kept for replay, edits altering the same voucher, nothing posted twice.

Blocks of 4 orders, so the sandbox's 60 make a run large enough to start a helper, and the helper is
waited for once started (a run this small would otherwise finish before it is up)."""

from __future__ import annotations

import pytest

from pipelines.posting import ahead
from pipelines.shipstation_tally import assets
from tests.pipelines import test_shipstation_tally_flow as flow


@pytest.fixture
def helper_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the blocks the helper mapped (a block it died holding is mapped here and not counted)."""
    mapped: list[int] = []
    monkeypatch.setattr(assets, "BLOCK", 4)
    ready, result = ahead._Helper.ready, ahead._Helper.result

    def ready_once_up(self) -> bool:
        if self.warm is not None:
            self.warm.result(timeout=120)
        return ready(self)

    def counted(self, block, future):
        out = result(self, block, future)
        mapped.append(int(future is not None and not self.broken))
        return out

    monkeypatch.setattr(ahead._Helper, "ready", ready_once_up)
    monkeypatch.setattr(ahead._Helper, "result", counted)
    return mapped


def test_every_order_becomes_exactly_one_correct_voucher_mapped_in_a_helper(env, helper_blocks) -> None:
    flow.test_every_order_becomes_exactly_one_correct_voucher(env)
    assert sum(helper_blocks) >= 10 and all(helper_blocks)  # 15 blocks, the first two mapped here


def test_a_failure_mapped_in_a_helper_is_kept_for_replay(env, helper_blocks) -> None:
    flow.test_unknown_sku_fails_alone_and_names_the_sku(env)
    assert sum(helper_blocks) >= 10


def test_edits_mapped_in_a_helper_alter_the_same_voucher(env, helper_blocks) -> None:
    flow.test_edits_alter_and_cancellations_cancel_the_same_voucher(env)
    flow.test_second_run_creates_nothing_new(env)
    assert sum(helper_blocks) >= 30  # three runs

"""The webhook queue's contract (order, drain bookkeeping, killed writers, concurrent writers) on both backends.

The tests are those of `tests/unit/test_webhook_store.py`, run unchanged under the `backend` fixture.
On PostgreSQL "ids come back in order, 1..n, from concurrent processes" is the interesting one: a
sequence alone would let a later-committing smaller id be skipped by the drain cursor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit import test_webhook_store as contract
from tests.unit.test_webhook_store import store  # noqa: F401  (the contract's fixture)

CONTRACT = [name for name in dir(contract) if name.startswith("test_")]


@pytest.mark.parametrize("name", CONTRACT)
def test_webhook_queue_contract(name: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    test = getattr(contract, name)
    args = test.__code__.co_varnames[:test.__code__.co_argcount]
    test(*[request.getfixturevalue("store") if arg == "store" else tmp_path for arg in args])

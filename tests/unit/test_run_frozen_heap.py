"""A run executes with what was loaded before it out of the cyclic GC's reach, and gives it back after."""

from __future__ import annotations

import gc

import dagster as dg

from ml_connector.runner import instance_for, run_job


def test_a_run_freezes_the_loaded_heap_and_unfreezes_it_after(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    seen: list[int] = []
    loaded = [[object()] for _ in range(1000)]  # objects that exist before the run

    @dg.op
    def look() -> None:
        seen.append(gc.get_freeze_count())

    @dg.job
    def probe() -> None:
        look()

    defs = dg.Definitions(jobs=[probe])
    before = gc.get_freeze_count()
    summary = run_job(defs, "probe", instance_for(tmp_path / "state"))
    assert summary.success, summary.error
    assert seen and seen[0] >= before + len(loaded)  # the loaded objects were frozen while it ran
    assert gc.get_freeze_count() == before  # and handed back to the collector after

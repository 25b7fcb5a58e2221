"""Records mapped in a helper process come back complete and in order, whatever happens to the helper."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.posting import ahead
from pipelines.posting.ahead import prepared_ahead

ROOT = Path(__file__).resolve().parents[2]


def tag(context: dict, block: list[int]) -> list[tuple[int, int]]:
    """Each record with the process that mapped it; `die_in_helper` blocks end the helper (not this process).
    Here a block takes a while, so the helper is up before the run ends however slowly it starts."""
    if os.getpid() != context["parent"] and block[0] in context.get("die_in_helper", ()):
        os._exit(3)
    if os.getpid() == context["parent"]:
        time.sleep(0.05)
    if block[0] in context.get("raise_at", ()):
        raise ValueError(f"record {block[0]}: field x is not a number")
    return [(n, os.getpid()) for n in block]


def blocks(count: int, size: int = 3) -> list[list[int]]:
    return [list(range(i * size, (i + 1) * size)) for i in range(count)]


def run(count: int, **kwargs) -> list[tuple[int, int]]:
    context = {"parent": os.getpid(), **kwargs.pop("context", {})}
    return list(prepared_ahead(blocks(count), tag, context, **kwargs))


def test_a_large_run_is_mapped_in_a_helper_after_its_first_blocks_in_order() -> None:
    out = run(200)
    assert [n for n, _ in out] == list(range(600))
    pids = [pid for _, pid in out]
    assert set(pids[:ahead.START_AFTER * 3]) == {os.getpid()}  # mapped here while there is no helper yet
    helper = {pid for pid in pids if pid != os.getpid()}
    assert len(helper) == 1  # one helper, and it did map
    first = pids.index(next(iter(helper)))
    assert set(pids[first:]) == helper  # once it has a block, every later block is its


def test_a_small_run_or_one_told_not_to_never_starts_a_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    monkeypatch.setattr(ahead._Helper, "start", lambda self: started.append(self))
    assert [n for n, _ in run(ahead.START_AFTER)] == list(range(ahead.START_AFTER * 3))
    assert [n for n, _ in run(12, helper=False)] == list(range(36))
    assert started == []


def test_a_helper_that_dies_loses_nothing_the_rest_is_mapped_here() -> None:
    out = run(200, context={"die_in_helper": {i * 3 for i in range(185, 200)}}, start_after=1)
    assert [n for n, _ in out] == list(range(600))
    assert {pid for _, pid in out[-45:]} == {os.getpid()}  # what the helper died holding, and the rest
    assert len({pid for _, pid in out}) == 2  # it had mapped before it died


def test_an_error_in_the_mapping_is_raised_as_it_would_be_here() -> None:
    with pytest.raises(ValueError, match="record 540: field x"):
        run(200, context={"raise_at": {540}}, start_after=1)


def test_a_run_known_to_be_large_starts_its_helper_at_once_one_known_to_be_small_never(
        monkeypatch: pytest.MonkeyPatch) -> None:
    drawn, started = [0], []
    start = ahead._Helper.start
    monkeypatch.setattr(ahead._Helper, "start", lambda self: (started.append(drawn[0]), start(self)))

    def counted(count: int):
        for block in blocks(count):
            drawn[0] += 1
            yield block

    context = {"parent": os.getpid()}
    out = list(prepared_ahead(counted(40), tag, context, expected=40))
    assert [n for n, _ in out] == list(range(120)) and started == [1]  # with the first block, not the third
    drawn[0] = 0
    out = list(prepared_ahead(counted(2), tag, context, expected=2))
    assert [n for n, _ in out] == list(range(6)) and started == [1]  # no second helper


def test_where_no_process_can_be_started_the_run_maps_in_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """e.g. a daemonic parent: multiprocessing refuses to give it children (an AssertionError)."""
    class Refused:
        def __init__(self, *args, **kwargs) -> None:
            raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(ahead, "ProcessPoolExecutor", Refused)
    out = run(12, expected=12)
    assert [n for n, _ in out] == list(range(36)) and {pid for _, pid in out} == {os.getpid()}


def test_a_script_that_maps_at_its_top_level_is_not_run_again_in_the_helper(tmp_path) -> None:
    """`spawn` would run the parent's main script again in the child: a script that syncs unguarded would
    sync twice. The helper starts without it, and still maps."""
    script, ran = tmp_path / "sync_now.py", tmp_path / "ran.txt"
    script.write_text(
        "import os\n"
        "from pipelines.posting.ahead import prepared_ahead\n"
        "from tests.unit.test_prepared_ahead import blocks, tag\n"
        f"open({str(ran)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "out = list(prepared_ahead(blocks(200), tag, {'parent': os.getpid()}, expected=200))\n"
        "assert [n for n, _ in out] == list(range(600)), out\n"
        "print(len({pid for _, pid in out}))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert len(ran.read_text().split()) == 1  # the script's top level ran once: in its own process
    assert done.stdout.split() == ["2"]  # mapped here while the helper started, then by the helper

"""A row whose fault never met its run proves nothing: the harness says so, and counts it as a failure.

Unit level (no world, no servers): plans are built from baseline counts, `fault_met` reads stand-ins of
the proxies, watches and outcomes, and `main` is given rows instead of running them.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.faults import __main__ as cli
from bench.faults import disk
from bench.faults.flows import BY_NAME
from bench.faults.harness import Row, fault_met
from bench.faults.proxy import Rule
from bench.faults.report import NOT_MET, markdown, verdict
from bench.faults.scenarios import Baseline, Plan, closed, disk_cap, disk_full, tally_plans, token_plans
from bench.faults.world import Outcome

RETURNS, SETTLEMENTS, ORDERS = (BY_NAME[n] for n in ("walmart-returns-to-tally", "walmart-settlements-to-tally",
                                                      "walmart-orders-to-tally"))
SHIPMENTS = BY_NAME["shipments-to-tally"]


def base(writes: int, read_backs: int = 1, source_reads: int = 30, ledger: int = 0, cap: int = 0) -> Baseline:
    return Baseline(frozenset({"k"}), 0, writes, read_backs, ledger, 30.0, 0, target_reads=4,
                    source_reads=source_reads, cpu_seconds=10.0, disk_cap=cap)


def row(met: bool | None, duplicates: int = 0) -> Row:
    return Row("walmart-returns-to-tally", "a fault", 25, 25, duplicates, 0, 0, 0, 1.0, met=met)


def world(kills: int = 0) -> SimpleNamespace:
    return SimpleNamespace(proxies={"tally_agent": SimpleNamespace(kills=kills)})


# --- the verdict -------------------------------------------------------------------------------------


def test_a_row_whose_fault_was_not_met_is_not_ok_even_with_perfect_counts():
    unmet = row(met=False)
    assert unmet.counts_ok and not unmet.ok
    assert verdict(unmet) == NOT_MET == "no — fault not met"
    assert row(met=True).ok and verdict(row(met=True)) == "yes"
    assert row(met=None).ok  # a baseline, two syncs: nothing that could miss
    assert verdict(row(met=False, duplicates=1)) == "NO"  # a duplicate says more than the missed fault


def test_the_markdown_table_marks_the_row_and_counts_it_as_a_failure():
    text = markdown([row(True), row(False), row(None)], "t")
    assert f"| {NOT_MET} |" in text
    assert "3 rows, 1 not ok (1 of them because the fault did not meet the run)" in text


@pytest.mark.parametrize(("mets", "status"), [((True, None), 0), ((True, False), 1), ((False,), 1)])
def test_the_exit_status_fails_a_run_with_a_row_whose_fault_was_not_met(monkeypatch, tmp_path, mets, status):
    monkeypatch.setattr(cli, "run", lambda *args, **kwargs: [row(met) for met in mets])
    out = tmp_path / "t.md"
    assert cli.main(["--flows", "walmart-returns-to-tally", "--markdown", str(out)]) == status
    assert (NOT_MET in out.read_text()) == (False in mets)


# --- what shows a fault met its run ------------------------------------------------------------------


def test_a_proxy_rule_that_never_met_its_request_is_a_fault_not_met():
    plan = Plan("token-revoked", "t", {"walmart": [Rule("pass", method="GET", nth=2)]})
    met, said = fault_met(plan, world(), [], [Outcome(0, " succeeded")])
    assert met is False and said == ["injected 0x (1 of 1 never met their request)", "fault not met"]
    plan.rules["walmart"][0].fired = 1
    assert fault_met(plan, world(), [], [Outcome(0, "")]) == (True, ["injected 1x"])


def test_a_kill_during_read_back_needs_its_second_kill_too():
    plan = Plan("kill-read-back-1", "k", {"tally_agent": [Rule("kill_after", nth=1, fired=1)]},
                then={"tally_agent": [Rule("kill_before", nth=1)]})
    assert fault_met(plan, world(kills=1), [], [Outcome(None, "")])[0] is False
    plan.then["tally_agent"][0].fired = 1
    assert fault_met(plan, world(kills=2), [], [Outcome(None, "")]) == (True, ["2 kill(s) fired"])


def test_a_kill_at_a_cpu_second_the_run_never_reached_is_not_met():
    plan = Plan("kill-at-50pct", "k", kill_at=5.0)
    assert fault_met(plan, world(), [SimpleNamespace(killed=False)], [])[0] is False
    assert fault_met(plan, world(), [SimpleNamespace(killed=True)], []) == (True, ["killed at that CPU second"])


def test_a_full_disk_is_met_only_when_the_run_names_a_refused_write():
    plan = Plan("disk-full", "d", fsize=100_000)
    assert fault_met(plan, world(), [], [Outcome(0, "run succeeded")]) == (False, ["no write refused",
                                                                                   "fault not met"])
    failed = Outcome(1, "Traceback\n  sqlite3.OperationalError:  disk I/O error\nrun failed")
    said = "a write refused: sqlite3.OperationalError: disk I/O error"
    assert fault_met(plan, world(), [], [failed]) == (True, [said])
    big = Outcome(1, "OSError: [Errno 27] File too large: 'staging.duckdb'")
    assert fault_met(plan, world(), [], [big])[0] is True
    traced = Outcome(1, "\n".join([
        "sqlite3.OperationalError: disk I/O error", "Traceback (most recent call last):",
        '  File "/w/pipelines/posting/poster.py", line 244, in _record_created',
        '  File "/w/state/ledger.py", line 170, in _write', '  File "/w/.venv/lib/sqlite3/x.py", line 1, in f',
        "sqlite3.OperationalError: disk I/O error"]))
    assert fault_met(plan, world(), [], [traced])[1] == [
        "a write refused: sqlite3.OperationalError: disk I/O error (in state/ledger.py _write)"]


def test_tally_knobs_and_probes_must_have_fired():
    knob = Plan("tally-closed", "c", tally={"close_after": 2})
    assert fault_met(knob, world(), [], [], tally_fired=0)[0] is False
    assert fault_met(knob, world(), [], [], tally_fired=1) == (True, ["Tally's fault fired 1x"])
    probe = Plan("token-revoked", "t", probe=lambda w: 0)
    assert fault_met(probe, world(), [], [], probed=0)[0] is False
    assert fault_met(probe, world(), [], [], probed=1) == (True, ["1 request(s) refused for it"])


def test_two_syncs_together_have_nothing_to_miss():
    assert fault_met(Plan("two-syncs", "t", twins=2), world(), [], []) == (None, [])


# --- the three rows, placed where their flows meet them ------------------------------------------------


def test_the_walmart_token_is_revoked_at_a_read_a_one_read_flow_makes():
    [one] = token_plans(RETURNS, base(1, source_reads=1))
    [two] = token_plans(SETTLEMENTS, base(2, source_reads=2))
    [many] = token_plans(ORDERS, base(21, source_reads=6))
    # The 2nd read, as before, where the run makes two; its only one otherwise.
    assert [p.rules["walmart"][0].nth for p in (one, two, many)] == [1, 2, 2]
    assert all(p.probe is not None and p.rules["walmart"][0].on_hit is not None for p in (one, two, many))
    # No baseline (CI's combined check, 80 POs: one page): its first read, the one read every run makes.
    assert token_plans(ORDERS)[0].rules["walmart"][0].nth == 1


def test_the_company_closes_where_a_short_run_still_goes():
    many = closed(SHIPMENTS, base(16))
    assert many.tally == {"close_after": 2} and not many.rules  # the import after the 2nd: unchanged
    for case, writes in ((SETTLEMENTS, 2), (RETURNS, 1)):
        plan = closed(case, base(writes, read_backs=writes))
        [rule] = plan.rules["tally_agent"]
        assert plan.tally is None and rule.nth == 1 and rule.on_hit is not None
        assert rule.matches(SimpleNamespace(method="POST", target="/", body=b"<ID>MLVoucherIds</ID>"))
        assert not rule.matches(SimpleNamespace(method="POST", target="/", body=b"<ID>Vouchers</ID>"))
    assert closed(SETTLEMENTS, base(1, read_backs=0)).tally == {"close_after": 0}  # before its first import
    assert next(p for p in tally_plans(SETTLEMENTS, False, base(2, 2)) if p.name == "tally-closed").rules


@pytest.fixture
def per_file_caps(monkeypatch):
    """The plans as where no tmpfs can be mounted (the tests of the tmpfs say otherwise)."""
    monkeypatch.setattr(disk, "can_mount", lambda: False)


def test_the_disk_cap_falls_half_way_through_a_run_whose_ledger_was_already_large(per_file_caps):
    """The returns flow at 1,000 (as measured): the ledger (888 KiB) is the orders flow's and only its WAL grows
    (to 193 KiB); Dagster's run database (148 KiB) is written at the start. Half the ledger (444 KiB) is
    never reached by any file."""
    run_db = "dagster/history/runs/a7e6.db"
    samples = [(0.0, {"ledger.sqlite3": 909_312, run_db: 0, "ledger.sqlite3-wal": 0})]
    for tick in range(1, 35):
        t = tick / 10
        samples.append((t, {"ledger.sqlite3": 909_312, run_db: 151_552,
                            "ledger.sqlite3-wal": int(197_792 * t / 3.4)}))
    cap = disk_cap(samples)
    assert cap < 909_312 // 2
    assert 151_552 <= cap < 197_792  # past Dagster's start-up, inside the WAL's growth
    # The first write it refuses is the WAL's, as near the middle (1.7 s) as the start-up's 148 KiB allows:
    # a lower cap would stop the run at 0.1 s, before it did anything.
    wal_at_cap = next(t for t, sizes in samples if sizes["ledger.sqlite3-wal"] > cap)
    assert wal_at_cap == next(t for t, sizes in samples if sizes["ledger.sqlite3-wal"] > 151_552) == 2.7
    assert cap % 1024 == 0
    assert disk_full(base(1, cap=cap)).fsize == cap


def test_the_disk_cap_of_a_fresh_ledger_is_about_half_of_it_as_before():
    samples = [(t / 10, {"ledger.sqlite3": int(900_000 * t / 40)}) for t in range(0, 41)]
    assert abs(disk_cap(samples) - 450_000) < 30_000
    # Half-way is the middle of its CPU seconds, not of its bytes: a run that writes most of it late
    samples = [(t / 10, {"ledger.sqlite3": int(900_000 * (t / 40) ** 2)}) for t in range(0, 41)]
    assert abs(disk_cap(samples) - 225_000) < 30_000


def test_the_disk_cap_aims_at_the_products_own_files_before_dagsters_event_log():
    """Dagster's event index grows steadily all run (a cap it meets first could sit nearer the middle); the
    ledger's WAL starts empty and grows faster: the cap is one the WAL meets first. Only Dagster: its files."""
    index, wal = "dagster/history/runs/index.db", "ledger.sqlite3-wal"
    samples = [(t / 10, {index: 131_072 + 600 * t, wal: 3_000 * t}) for t in range(0, 101)]
    cap = disk_cap(samples)
    first = {name: next(t for t, sizes in samples if sizes[name] > cap) for name in (index, wal)}
    assert first[wal] < first[index] and 5.0 <= first[wal] <= 6.0  # the WAL's write, just past the middle
    only_dagster = [(t, {index: sizes[index]}) for t, sizes in samples]
    assert abs(disk_cap(only_dagster) - (131_072 + 600 * 50)) <= 1024  # then Dagster's, in the middle


def test_without_growth_the_disk_full_row_falls_back_to_half_the_ledger(per_file_caps):
    assert disk_cap([(0.0, {"a": 10}), (1.0, {"a": 10})]) == 0
    assert disk_cap([(0.0, {})]) == 0
    assert disk_full(base(1, ledger=1_000_000)).fsize == 500_000
    assert disk_full(base(1, ledger=0)).fsize == 64 * 1024


def test_disk_room_fills_the_disk_half_way_through_the_products_own_writing():
    """Starting up writes nothing; then Dagster's run storage and the ledger's WAL take turns to grow. Only the
    product's files are on the disk that fills (Dagster's storage is elsewhere)."""
    samples = [(0.0, {"ledger": 1000}), (2.0, {"ledger": 1000})]
    for tick in range(1, 11):  # from 3.0 to 7.5 s: odd ticks Dagster's event log, even ones the WAL
        previous = dict(samples[-1][1])
        name = "dagster/runs/index.db" if tick % 2 else "ledger.sqlite3-wal"
        previous[name] = previous.get(name, 0) + 10_000
        samples.append((2.5 + tick / 2, previous))
    # The WAL writes from 3.5 to 7.5: the middle is 5.5, its step from 20,000 to 30,000. Half-way through it.
    assert disk.disk_room(samples) == 25_000
    dagster_only = [(t, {k: v for k, v in sizes.items() if k.startswith("dagster/")}) for t, sizes in samples]
    assert disk.disk_room(dagster_only) == 0  # the product wrote nothing to its own disk
    assert disk.disk_room([(0.0, {"a": 5}), (1.0, {"a": 5})]) == 0 and disk.disk_room([]) == 0
    # A middle that falls in the run's last burst: at most 3/4 of its growth, so a run a little different meets it.
    assert disk.disk_room([(0.0, {}), (1.0, {"wal": 90_000}), (9.0, {"wal": 100_000}), (9.5, {"wal": 100_000})]) \
        == 75_000


def test_disk_full_is_a_tmpfs_of_the_measured_room_where_one_can_be_mounted(monkeypatch):
    monkeypatch.setattr(disk, "can_mount", lambda: True)
    plan = disk_full(Baseline(frozenset(), 0, 1, 1, 0, 1.0, 0, disk_cap=150_000, disk_room=80 * 1024))
    assert (plan.room, plan.fsize, plan.name) == (80 * 1024, None, "disk-full") and "80 KiB free" in plan.kind
    monkeypatch.setattr(disk, "can_mount", lambda: False)
    assert disk_full(Baseline(frozenset(), 0, 1, 1, 0, 1.0, 0, disk_cap=150_000, disk_room=80 * 1024)).fsize == 150_000


@pytest.mark.skipif(not disk.can_mount(), reason="mounting a tmpfs needs root")
def test_a_filled_state_directory_keeps_its_files_and_refuses_the_write_past_its_room(tmp_path):
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    (home / "ledger.sqlite3").write_bytes(b"x" * 300_000)
    (home / "dagster" / "runs.db").write_bytes(b"y" * 5_000)
    try:
        assert disk.fill_up(home, 64 * 1024) and disk.mounted(home)
        assert (home / "ledger.sqlite3").read_bytes() == b"x" * 300_000  # what it held, on the tmpfs
        assert (home / "dagster" / "runs.db").stat().st_size == 5_000
        with open(home / "ledger.sqlite3-wal", "wb") as wal:
            wal.write(b"w" * 32 * 1024)
            wal.flush()
            with pytest.raises(OSError, match="No space left"):
                wal.write(b"w" * 64 * 1024)
                wal.flush()
        # Dagster's storage is not on the full disk: moved beside it, linked from where it was.
        assert (home / "dagster").is_symlink() and disk.aside(home).is_dir()
        (home / "dagster" / "index.db").write_bytes(b"z" * 200_000)
        disk.free_up(home)  # the merchant frees space: the next run writes
        (home / "ledger.sqlite3-wal").write_bytes(b"w" * 1_000_000)
    finally:
        disk.unmount(home)
    assert not disk.mounted(home) and not disk.aside(home).exists()


@pytest.mark.skipif(not disk.can_mount(), reason="mounting a tmpfs needs root")
def test_a_world_whose_first_run_fills_the_disk_keeps_dagster_off_it(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    try:
        assert disk.fill_up(home, 16 * 1024)
        assert (home / "dagster").is_symlink()  # created by the run on the disk it was on
        (home / "dagster" / "runs.db").write_bytes(b"r" * 100_000)
    finally:
        disk.unmount(home)

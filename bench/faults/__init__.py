"""The fault-injection harness (issue 10, item 1): `python -m bench.faults` / `make faults`.

- `proxy.py` (+ `wire.py`): a loopback HTTP proxy that injects 429s, 5xx, stalls, resets and refused
  connections, and SIGKILLs the sync's process group before a write or after the target committed it;
- `world.py`: a fresh sandbox with every system behind a proxy, the LAN agent, a state directory;
- `flows.py`: the writing flows and how to count what each target holds (simulators' control planes);
- `scenarios.py`: the faults per flow (20 kill points, transport, TallyPrime, credentials, disk full);
- `disk.py`: the state directory's disk full (a tmpfs with the room measured from the baseline, as root;
  else a cap per file);
- `harness.py`: one flow under one fault, recovery, the count against the fault-free baseline, and
  whether the fault met the run at all (a row whose fault did not is `no — fault not met`, a failure);
- `gauntlet.py`: every fault kind in turn in one world (the reduced run CI uses);
- `webhook_race.py`: a webhook-driven run racing a polling run;
- `report.py`, `__main__.py`: the table (terminal and Markdown) and the command line.

TallyPrime's own faults (blank EXCEPTIONS, a partial batch, the company closed) are knobs of the
simulator: `sandbox/tally/faults.py`.
"""

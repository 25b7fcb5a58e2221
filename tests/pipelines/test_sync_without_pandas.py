"""The order sync's process, a whole ShipStation -> TallyPrime run included, never loads pandas (issue 15's memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.pipelines.conftest import JOB, expected_orders

ROOT = Path(__file__).resolve().parents[2]
RUN = """
import json, sys
from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
settings = Settings.from_env()
summary = run_job(build_definitions(settings), sys.argv[1], instance_for(settings.state_dir))
print(json.dumps({"success": summary.success, "error": summary.error,
                  "created": summary.metric("tally/order_vouchers", "created"),
                  "loaded": sorted(m for m in ("pandas", "numpy", "pyarrow") if m in sys.modules)}))
"""


def test_a_whole_order_sync_runs_without_pandas_in_its_process(env):
    out = subprocess.run([sys.executable, "-c", RUN, JOB], cwd=ROOT, env=env.vars, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["success"], result["error"]
    assert result["created"] == len(expected_orders(env.sandbox))  # it did the real work...
    assert result["loaded"] == []  # ...and neither pandas nor numpy came with it

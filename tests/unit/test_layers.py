"""The layer contract ([tool.importlinter] in pyproject.toml) holds, and a wrong import breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("merchants", "ml_connector", "pipelines", "resources", "state", "connectors", "sandbox")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(lint.parent), "PYTHONPATH": str(cwd)})


def test_the_layer_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _copy_tree(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_an_upward_import_breaks_the_contract(tmp_path):
    tree = _copy_tree(tmp_path)
    (tree / "resources" / "upward.py").write_text("from pipelines.shipstation_tally import mapping\n")
    (tree / "state" / "upward.py").write_text("import connectors.tally.client\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "resources.upward -> pipelines.shipstation_tally.mapping" in result.stdout
    assert "state.upward -> connectors.tally.client" in result.stdout

"""Every setting is documented: a row in README.md and a line in .env.example (a new pair adds both)."""

from pathlib import Path

from ml_connector.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_readme_and_env_example():
    readme, example = (ROOT / "README.md").read_text(), (ROOT / ".env.example").read_text()
    names = [name.upper() for name in Settings.model_fields]
    assert [n for n in names if f"`{n}`" not in readme] == []
    assert [n for n in names if f"\n{n}=" not in example] == []

"""What a non-editable install (a wheel, the Docker image) carries: data, prompts, migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_registry_sample_prompts_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("amc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "amc/data/telescopes.yaml",
        "amc/data/sample.jsonl",
        "amc/store/migrations/versions/v0001_initial_schema.py",
        "amc/store/migrations/versions/v0002_api_tokens.py",
        "amc/web/templates/paper.html",
        "eval/scoring.py",
        "workers/tasks.py",
    }
    assert expected <= names
    prompts = {n.rsplit("/", 1)[-1] for n in names if "/share/amc/prompts/" in n}
    shipped = {p.name for p in (ROOT / "prompts").glob("*.yaml")}
    assert prompts == shipped and shipped

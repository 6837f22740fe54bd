"""The batch commands as a user runs them, from different folders: one per-user data folder
holds the job store, cache and spool, and the read-only commands never create a store."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from clirun import amc

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"


@pytest.fixture
def data_home(tmp_path: Path) -> dict[str, str]:
    """A user whose data folder ($XDG_DATA_HOME/amc, platformdirs) is in tmp_path."""
    return {"XDG_DATA_HOME": str(tmp_path / "xdg")}


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def test_a_batch_run_in_one_folder_is_found_from_another(
    tmp_path: Path, data_home: dict[str, str]
) -> None:
    here, there = folder(tmp_path, "here"), folder(tmp_path, "there")
    ran = amc("run", str(SAMPLE), "-o", "results.csv", cwd=here, env=data_home)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in here.iterdir()) == ["results.csv"]  # no store, no spool here
    home = tmp_path / "xdg" / "amc"
    assert (home / "amc.sqlite3").is_file() and any((home / "spool").iterdir())
    listed = amc("status", cwd=there, env=data_home)
    assert listed.returncode == 0, listed.stderr
    assert f"job store: {home / 'amc.sqlite3'}" in listed.stderr
    batch_id = listed.stdout.split()[0]
    status = amc("status", batch_id, "--once", cwd=there, env=data_home)
    assert status.returncode == 0 and "done 37" in status.stdout, status.stderr
    exported = amc("results", batch_id, "-o", "again.csv", cwd=there, env=data_home)
    assert exported.returncode == 0, exported.stderr
    with (there / "again.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 57
    assert sorted(p.name for p in there.iterdir()) == ["again.csv"]
    printed = amc("results", batch_id, cwd=there, env=data_home)
    header, *lines = printed.stdout.splitlines()
    assert header == "pair_id\tlabels\tmin_confidence\treason" and len(lines) == 57


@pytest.mark.parametrize(
    "command",
    [["status", "3f2a9c1b7d4e"], ["results", "3f2a9c1b7d4e"], ["retry", "3f2a9c1b7d4e", "--failed"],
     ["token", "list"]],
)  # fmt: skip
def test_read_only_commands_on_no_store_say_so_and_create_nothing(
    tmp_path: Path, data_home: dict[str, str], command: list[str]
) -> None:
    cwd = folder(tmp_path, "cwd")
    result = amc(*command, cwd=cwd, env=data_home)
    assert result.returncode != 0
    store = tmp_path / "xdg" / "amc" / "amc.sqlite3"
    assert f"amc: error: no job store at {store}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "xdg").exists() and not any(cwd.iterdir())


def test_listing_batches_without_a_store_is_not_an_error(
    tmp_path: Path, data_home: dict[str, str]
) -> None:
    cwd = folder(tmp_path, "cwd")
    result = amc("status", cwd=cwd, env=data_home)
    assert result.returncode == 0 and result.stdout == ""
    assert "no batches: no job store at" in result.stderr
    assert not (tmp_path / "xdg").exists() and not any(cwd.iterdir())


def test_version_says_where_amc_keeps_its_files(tmp_path: Path) -> None:
    home = tmp_path / "amc-home"
    env = {"AMC_HOME": str(home), "AMC_DATABASE_URL": "postgresql://amc:s3cret@db/amc"}
    result = amc("--version", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("amc 0.")
    assert f"data folder:   {home}  (AMC_HOME)" in lines
    assert f"LLM cache:     {home / 'llm-cache.sqlite'}  (AMC_CACHE_PATH)" in lines
    assert f"spool:         {home / 'spool'}  (AMC_SPOOL_DIR)" in lines
    assert "job store:     postgresql+psycopg://amc:***@db/amc  (AMC_DATABASE_URL)" in lines
    assert "s3cret" not in result.stdout and not home.exists()

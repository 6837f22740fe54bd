"""What a non-editable install (a wheel, the Docker image) carries: data, prompts, migrations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
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


# --- extras: the core classifies; each extra adds one job ----------------------------------

#: top-level modules of every extra's packages, and of the development tools
EXTRA_MODULES = {
    "eval": ("pandas", "matplotlib"),
    "web": ("fastapi", "uvicorn", "jinja2", "multipart", "starlette"),
    "workers": ("celery", "redis", "kombu"),
    "postgres": ("psycopg",),
}
DEV_TOOLS = ("pytest", "ruff", "mypy", "playwright", "schemathesis", "httpx")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_core_install_has_no_extra_and_no_development_tool() -> None:
    core = names(project()["dependencies"])
    extras = project()["optional-dependencies"]
    for extra in EXTRA_MODULES:
        assert names(extras[extra]).isdisjoint(core), extra
    assert core.isdisjoint(DEV_TOOLS) and core.isdisjoint({"psycopg", "celery", "fastapi"})
    assert extras["all"] == ["amc[eval,web,workers,postgres]"]
    assert "amc[all]" in extras["dev"] and {"pytest", "ruff", "mypy"} <= names(extras["dev"])


def without(modules: tuple[str, ...], *args: str, cwd: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """``amc ARGS`` in a process where ``modules`` cannot be imported (as if not installed)."""
    code = (
        "import sys; [sys.modules.__setitem__(m, None) for m in sys.argv[1].split(',')]; "
        "sys.argv = ['amc', *sys.argv[2:]]; from amc.cli import main; main()"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", code, ",".join(modules), *args],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300,
    )  # fmt: skip


ALL_EXTRAS = tuple(m for modules in EXTRA_MODULES.values() for m in modules)


def test_classify_and_an_embedded_batch_need_no_extra(tmp_path: Path) -> None:
    sample = ROOT / "amc" / "data" / "sample.jsonl"
    classified = without(ALL_EXTRAS, "classify", str(sample), "-o", "out.csv", cwd=tmp_path)
    assert classified.returncode == 0, classified.stderr
    assert "wrote 57 rows" in classified.stderr
    ran = without(ALL_EXTRAS, "run", str(sample), "-o", "run.csv", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "run.csv").is_file()


@pytest.mark.parametrize(
    ("extra", "args"),
    [
        ("web", ["serve"]),
        ("workers", ["worker"]),
        ("workers", ["beat"]),
        ("workers", ["submit", "SAMPLE"]),
        ("eval", ["eval", "run", "--data", "SAMPLE"]),
        ("eval", ["audit", "--labels", "SAMPLE"]),
        ("postgres", ["status"]),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(tmp_path: Path, extra: str, args: list[str]) -> None:
    sample = str(ROOT / "amc" / "data" / "sample.jsonl")
    env = {"AMC_HOME": str(tmp_path / "home")}
    if extra == "postgres":
        env["AMC_DATABASE_URL"] = "postgresql://amc@127.0.0.1:5432/amc"
    args = [sample if a == "SAMPLE" else a for a in args]
    result = without(EXTRA_MODULES[extra], *args, cwd=tmp_path, env=env)
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("amc: error: ") and f"needs the '{extra}' extra" in lines[0]
    assert f'pip install -e ".[{extra}]"' in lines[0]
    assert not (tmp_path / "home").exists()  # nothing spooled or stored before the stop

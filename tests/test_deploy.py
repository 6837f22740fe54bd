"""Deployment files: docker-compose.yml, the Dockerfile, .dockerignore and the image's
entrypoint (Docker itself cannot run here).

The compose services run the same ``amc`` commands the worker tests exercise: each command
is checked to exist by running it with ``--help``; the settings the services get are
loaded as amc would load them (compose's ``${VAR:-default}`` filled in as Docker does), and
the entrypoint script is run for real, as root, with a stand-in ``amc``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from amc.cli.main import app
from amc.settings import Settings, flat_names, load_settings
from workers.app import make_app

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
runner = CliRunner()
HEALTHCHECKED = ("postgres", "redis", "web", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def amc_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("image") == "amc:latest"}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}`` / ``${VAR:-default}``, as ``docker compose`` fills them in."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m[1]) or (m[2] or ""), str(value))


def service_settings(compose: dict[str, Any], **host: str) -> Settings:
    """The settings an amc container loads, given the host's environment / .env."""
    env = {
        k: interpolate(v, host) for k, v in amc_services(compose)["worker"]["environment"].items()
    }
    return load_settings(environ=env)


def test_compose_has_postgres_redis_worker_beat_web_and_flower(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "worker", "beat", "web", "flower"}
    assert services["redis"]["image"].startswith("redis:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert set(amc_services(compose)) == {"worker", "beat", "web"}
    for service in amc_services(compose).values():
        assert service["build"] == "."
        assert service["depends_on"] == {
            "redis": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
        }


def test_amc_services_run_existing_cli_commands(compose: dict[str, Any]) -> None:
    entrypoint = re.search(r'^ENTRYPOINT \["([\w-]+)"\]', DOCKERFILE, re.M)
    assert entrypoint and entrypoint[1] == "amc-entrypoint"  # which runs `amc ARGS`
    assert f"COPY scripts/docker-entrypoint.sh /usr/local/bin/{entrypoint[1]}" in DOCKERFILE
    assert 'amc "$@"' in ENTRYPOINT.read_text(encoding="utf-8")
    commands = {name: s["command"] for name, s in amc_services(compose).items()}
    assert commands["worker"][0] == "worker" and commands["beat"][0] == "beat"
    assert commands["web"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "8000:8000" in compose["services"]["web"]["ports"]
    for command in commands.values():
        result = runner.invoke(app, [command[0], "--help"])
        assert result.exit_code == 0, result.output
        for option in command[1::2]:  # every option the service passes exists
            assert option in result.output


def test_healthchecks_for_postgres_redis_web_and_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    tests = {name: services[name]["healthcheck"]["test"] for name in HEALTHCHECKED}
    assert "pg_isready -U amc -d amc" in tests["postgres"][1]
    assert tests["redis"] == ["CMD", "redis-cli", "ping"]
    assert tests["worker"] == ["CMD", "python", "-m", "workers.health"]
    assert importlib.util.find_spec("workers.health") is not None
    assert tests["web"][:3] == ["CMD", "python", "-c"] and "/api/health" in tests["web"][3]
    from fastapi.testclient import TestClient  # the web extra, installed for the tests

    from amc.web import create_app

    settings = load_settings(environ={}, database_url="sqlite://", web_workers="embedded")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").status_code == 200  # no token needed


def test_services_share_settings_broker_store_and_volumes(compose: dict[str, Any]) -> None:
    services = amc_services(compose)
    envs = [s["environment"] for s in services.values()]
    assert all(env == envs[0] for env in envs)  # worker, beat and web see the same settings
    known = {f"AMC_{name.upper()}" for name in flat_names()}
    assert {k for k in envs[0] if k.startswith("AMC_")} <= known  # no misspelt setting
    settings = service_settings(compose)
    assert settings.broker_url.startswith("redis://redis:")
    assert settings.broker_url in " ".join(compose["services"]["flower"]["command"])
    assert settings.database_url == "postgresql://amc:amc@postgres:5432/amc"
    postgres = compose["services"]["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("amc", "amc")
    assert interpolate(postgres["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "s3"}) == "s3"
    assert service_settings(compose, POSTGRES_PASSWORD="s3").database_url.startswith(
        "postgresql://amc:s3@"
    )
    assert settings.home == Path("/var/lib/amc") and settings.spool_dir.is_relative_to(
        "/var/lib/amc"
    )
    for service in services.values():
        assert set(service["volumes"]) == {"amc-data:/var/lib/amc", "./data:/data"}
    assert {"amc-data", "postgres-data", "redis-data"} <= set(compose["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_nightly_audit_is_off_until_a_labels_file_is_configured(compose: dict[str, Any]) -> None:
    off = make_app(service_settings(compose)).conf.beat_schedule
    assert "amc-audit" not in off and "amc-sweep" in off
    on = service_settings(compose, AMC_AUDIT_LABELS_PATH="/data/historical.parquet")
    schedule = make_app(on).conf.beat_schedule["amc-audit"]["schedule"]
    assert schedule.hour == {3} and schedule.minute == {0}


def test_dockerfile_is_slim_installs_every_extra_and_drops_root() -> None:
    assert re.findall(r"^FROM python:[\d.]+-slim", DOCKERFILE, re.M)
    assert '".[all]"' in DOCKERFILE and "COPY workers" in DOCKERFILE
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users in ([], ["amc"])  # never root; the entrypoint drops root itself
    assert "AMC_HOME=/var/lib/amc" in DOCKERFILE and re.search(r"^WORKDIR /data$", DOCKERFILE, re.M)
    assert "setpriv --reuid" in ENTRYPOINT.read_text(encoding="utf-8")


def _regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression (Go's filepath.Match plus ``**``)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.compile(out)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the build context: the last pattern that
    matches it or a folder above it decides (``!`` re-includes)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        regex = _regex(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            verdict = not pattern.startswith("!")
    return verdict


def test_dockerignore_keeps_the_context_to_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M)
    sources = [s for line in copied for s in line.split()]
    assert "amc" in sources and "scripts/docker-entrypoint.sh" in sources
    for source in sources:
        assert not ignored(source, patterns), source
    assert not ignored("amc/cli/main.py", patterns)
    for junk in (".venv/bin/python", ".git/HEAD", "amc.sqlite3", "amc/x.sqlite3",
                 ".amc-spool/a/pairs.jsonl", "tests/test_deploy.py", "amc/__pycache__/x.pyc",
                 "results.csv", "data/papers.parquet"):  # fmt: skip
        assert ignored(junk, patterns), junk


# --- the entrypoint, run for real --------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """A folder other users can enter (pytest's tmp folders are root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="amc-entrypoint-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def entrypoint(
    sandbox: Path, *args: str, user: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The entrypoint with a stand-in ``amc`` that reports who runs it and writes a file;
    ``user``: started as that uid, as ``docker run --user`` would."""
    bin_dir = sandbox / "bin"
    bin_dir.mkdir(exist_ok=True, mode=0o755)
    fake = bin_dir / "amc"
    fake.write_text('#!/bin/sh\necho "$(id -u):$(id -g) HOME=$HOME args=$*"\n'
                    'touch "$AMC_DATA_DIR/written"\n')  # fmt: skip
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "AMC_DATA_DIR": str(sandbox / "data"),
           "AMC_HOME": str(sandbox / "home"), "HOME": "/nonexistent"}  # fmt: skip
    start = (
        [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    )
    return subprocess.run([*start, "sh", str(ENTRYPOINT), *args], env=env, capture_output=True,
                          text=True, timeout=30)  # fmt: skip


root_only = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)


@root_only
def test_entrypoint_runs_amc_as_the_owner_of_the_data_folder(sandbox: Path) -> None:
    data = sandbox / "data"
    data.mkdir()
    os.chown(data, 12345, 23456)
    (sandbox / "home").mkdir()  # owned by root, as a fresh volume may be
    done = entrypoint(sandbox, "classify", "papers.parquet")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == f"12345:23456 HOME={sandbox / 'home'} args=classify papers.parquet"
    )
    assert (data / "written").stat().st_uid == 12345  # your file on the host
    assert (sandbox / "home").stat().st_uid == 12345  # the state folder is writable


@root_only
def test_entrypoint_gives_an_empty_root_folder_to_the_image_user(sandbox: Path) -> None:
    data = sandbox / "data"
    data.mkdir()  # owned by root and empty: made by Docker for the bind mount
    done = entrypoint(sandbox, "worker")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("10001:10001 ") and data.stat().st_uid == 10001
    assert stat.S_IMODE(data.stat().st_mode) & 0o700 == 0o700


@root_only
def test_entrypoint_warns_about_a_root_folder_with_files_and_leaves_it(sandbox: Path) -> None:
    data = sandbox / "data"
    data.mkdir()
    (data / "papers.parquet").write_bytes(b"PAR1")
    done = entrypoint(sandbox, "status")
    assert done.stdout.startswith("10001:10001 ") and data.stat().st_uid == 0
    assert "is owned by root" in done.stderr and "--user" in done.stderr


def test_entrypoint_started_as_a_user_changes_nothing(sandbox: Path) -> None:
    data = sandbox / "data"
    data.mkdir()
    data.chmod(0o777)
    user = 4242 if os.geteuid() == 0 else None  # root: start it as `docker run --user 4242`
    done = entrypoint(sandbox, "status", user=user)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{user or os.geteuid()}:") and "HOME=/nonexistent" in done.stdout
    assert not (sandbox / "home").exists()  # nothing created or chowned

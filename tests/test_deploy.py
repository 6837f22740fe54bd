"""Deployment files: docker-compose.yml and the Dockerfile (Docker itself cannot run here).

The compose services run the same ``amc`` commands the worker tests exercise:
each command is checked to exist by running it with ``--help``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from amc.cli.main import app
from amc.settings import flat_names

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def amc_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("image") == "amc:latest"}


def test_compose_has_redis_worker_beat_web_and_flower(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"redis", "worker", "beat", "web", "flower"}
    assert services["redis"]["image"].startswith("redis:")
    assert set(amc_services(compose)) == {"worker", "beat", "web"}
    for service in amc_services(compose).values():
        assert service["build"] == "." and "redis" in service["depends_on"]


def test_amc_services_run_existing_cli_commands(compose: dict[str, Any]) -> None:
    entrypoint = re.search(r'ENTRYPOINT \["(\w+)"\]', (ROOT / "Dockerfile").read_text())
    assert entrypoint and entrypoint[1] == "amc"  # compose commands are amc subcommands
    commands = {name: s["command"] for name, s in amc_services(compose).items()}
    assert commands["worker"][0] == "worker" and commands["beat"][0] == "beat"
    assert commands["web"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "8000:8000" in compose["services"]["web"]["ports"]
    for command in commands.values():
        result = runner.invoke(app, [command[0], "--help"])
        assert result.exit_code == 0, result.output
        for option in command[1::2]:  # every option the service passes exists
            assert option in result.output


def test_services_share_settings_broker_and_volumes(compose: dict[str, Any]) -> None:
    services = amc_services(compose)
    envs = [s["environment"] for s in services.values()]
    assert all(env == envs[0] for env in envs)  # worker, beat and web see the same settings
    known = {f"AMC_{name.upper()}" for name in flat_names()}
    assert set(envs[0]) <= known  # no misspelt setting silently ignored
    broker = envs[0]["AMC_BROKER_URL"]
    assert broker.startswith("redis://redis:") and broker in " ".join(
        compose["services"]["flower"]["command"]
    )
    for service in services.values():
        assert any(v.endswith(":/var/lib/amc") for v in service["volumes"])
    assert envs[0]["AMC_SPOOL_DIR"].startswith("/var/lib/amc")


def test_dockerfile_is_slim_and_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^FROM python:[\d.]+-slim", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "COPY workers" in text and "/var/lib/amc" in text

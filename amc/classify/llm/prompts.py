"""Prompt files: loading, validation, rendering and hashing.

A prompt is a YAML file in ``prompts/`` (``<name>.yaml``) holding named
message templates, each with the variables it uses::

    name: classify_pair.v1
    description: ...
    evidence: sentences          # optional: quotes (the default) or sentences
    messages:
      system: {variables: [answer_schema], text: "..."}
      user:   {variables: [telescope_key, snippets], text: "... ${telescope_key} ..."}

Templates use ``string.Template`` (``${var}``): no code runs while rendering,
and JSON braces in the text need no escaping. On load, a template using a
variable it does not declare, or declaring one it does not use, is an error;
on render, a missing or unknown variable is an error. ``PromptTemplate.hash``
is a content hash stored with every classification.
"""

from __future__ import annotations

import hashlib
import os
import string
import sys
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import amc
from amc.classify.llm.errors import PromptError

#: message templates every classification prompt needs
REQUIRED_MESSAGES = ("system", "user")


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    variables: tuple[str, ...] = ()


class PromptTemplate(BaseModel):
    """A validated prompt file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    #: how the model gives its evidence: ``quotes`` copied from ranked snippets (v1), or
    #: the numbers of ``sentences`` chosen within the evidence budget and numbered
    evidence: Literal["quotes", "sentences"] = "quotes"
    #: how a ``sentences`` answer cites: ``{"sentence": 4, "supports": "science"}`` objects
    #: (v2), or ``"4:science"`` strings (``compact``, v3: half the tokens)
    citations: Literal["objects", "compact"] = "objects"
    messages: dict[str, MessageTemplate]
    #: sha256 of the file's text, first 16 hex digits
    hash: str = ""

    def render(self, message: str, **values: Any) -> str:
        """Render one message template; every declared variable must be given, no other."""
        if message not in self.messages:
            raise PromptError(
                f"prompt {self.name} has no message {message!r}; it has {sorted(self.messages)}"
            )
        template = self.messages[message]
        declared = set(template.variables)
        missing, unknown = declared - set(values), set(values) - declared
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name}, message {message!r}: missing variable(s) "
                f"{sorted(missing)}, unknown variable(s) {sorted(unknown)}"
            )
        return string.Template(template.text).substitute({k: str(v) for k, v in values.items()})


def default_prompts_dir() -> Path:
    """The shipped ``prompts/``: next to the ``amc`` package in a source checkout or an
    editable install, else where a wheel installs it (``<prefix>/share/amc/prompts``)."""
    source = Path(amc.__file__).resolve().parent.parent / "prompts"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "amc" / "prompts"


def load_prompt(name: str, directory: Path | None = None) -> PromptTemplate:
    """Load and validate ``<directory>/<name>.yaml`` (default: ``default_prompts_dir()``)."""
    relative_to = None if directory is None or directory.is_absolute() else os.getcwd()
    return _load(name, _folder(directory, relative_to))


@cache
def _folder(directory: Path | None, cwd: str | None) -> Path:
    """The folder resolved once (every request loads its prompt: resolving each time was
    a tenth of building a request); a relative one per working directory."""
    return (directory or default_prompts_dir()).resolve()


@cache
def _load(name: str, directory: Path) -> PromptTemplate:
    path = directory / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(
            f"prompt file {path} does not exist (set the prompts folder or the prompt name)"
        ) from None
    try:
        data = yaml.safe_load(text)
        prompt = PromptTemplate(**data, hash=hashlib.sha256(text.encode()).hexdigest()[:16])
    except (yaml.YAMLError, TypeError, ValidationError) as exc:
        raise PromptError(f"prompt file {path} is invalid: {exc}") from None
    _check(prompt, path)
    return prompt


def _check(prompt: PromptTemplate, path: Path) -> None:
    missing = [m for m in REQUIRED_MESSAGES if m not in prompt.messages]
    if missing:
        raise PromptError(f"prompt file {path}: missing message(s) {missing}")
    for key, template in prompt.messages.items():
        try:
            used = set(string.Template(template.text).get_identifiers())
        except ValueError as exc:
            raise PromptError(f"prompt file {path}, message {key!r}: {exc}") from None
        if not string.Template(template.text).is_valid():
            raise PromptError(f"prompt file {path}, message {key!r}: invalid '$' placeholder")
        declared = set(template.variables)
        if used != declared:
            raise PromptError(
                f"prompt file {path}, message {key!r}: uses undeclared variable(s) "
                f"{sorted(used - declared)}, declares unused variable(s) {sorted(declared - used)}"
            )

"""One small error hierarchy for the whole project.

Every message says what was wrong, which input (file, row, bibcode, entry)
and, where there is one, what to do next. The CLI turns an ``AmcError``
into a one-line message and a non-zero exit; batch code records it on the
pair's row and goes on.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence


class AmcError(Exception):
    """Base of every error amc raises on purpose."""

    #: short machine-readable kind, stored with failed pairs
    kind = "error"


class ConfigError(AmcError):
    """Settings or a configuration file are invalid."""

    kind = "config"


class RegistryError(AmcError):
    """The telescope registry file is invalid (names the entry and field)."""

    kind = "registry"


class UnknownTelescopeError(AmcError):
    """A telescope key is not in the registry."""

    kind = "unknown_telescope"

    def __init__(self, name: str, known: list[str], where: str = "") -> None:
        self.name = name
        self.known = known
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown telescope {name!r}; known telescopes: {', '.join(known)} "
            "(add it with a registry file, see `amc telescopes --help`)"
        )


class InputError(AmcError):
    """An input file or row cannot be read. Names the file and, if known, the row."""

    kind = "input"

    def __init__(self, message: str, path: str = "", row: int | None = None) -> None:
        self.path = path
        self.row = row
        self.message = message
        where = path
        if row is not None:
            where = f"{path}, row {row}" if path else f"row {row}"
        super().__init__(f"{where}: {message}" if where else message)


class ClassificationError(AmcError):
    """A classification tier could not produce labels for a pair."""

    kind = "classification"


class MissingExtraError(AmcError):
    """A command needs an optional part of amc (an extra) that is not installed."""

    kind = "missing_extra"

    def __init__(self, extra: str, what: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{what} needs the {extra!r} extra ({module} is not installed): install it with "
            f'pip install -e ".[{extra}]" in the amc folder (or "amc[{extra}]" from a wheel)'
        )


def require_extra(extra: str, what: str, modules: Sequence[str]) -> None:
    """Import the modules an extra provides, or raise ``MissingExtraError`` naming the extra.

    Called by a command before it starts, so a missing extra is one line at once and never
    a traceback halfway through a run.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # the module, or one it needs: the extra is not whole
            raise MissingExtraError(extra, what, exc.name or module) from None

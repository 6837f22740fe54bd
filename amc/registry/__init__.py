"""The telescope registry: data, not code.

The bundled ``amc/data/telescopes.yaml`` is layered with user files (YAML or
TOML). A user entry with a new key adds a telescope; with an existing key,
the fields it gives replace the bundled ones (``extend_aliases`` etc. are not
needed: repeat the list). ``cues`` (evidence phrases of the rules tier) are
layered the same way. Everything is validated on load and an invalid entry
raises ``RegistryError`` naming the file, the entry and the field.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from amc.domain.errors import RegistryError, UnknownTelescopeError
from amc.domain.models import NONE_TELESCOPE
from amc.registry.entries import Cues, Telescope
from amc.registry.links import LinkContext
from amc.registry.terms import Term

__all__ = ["Cues", "LinkContext", "Registry", "Telescope", "Term", "load_registry"]


class Registry:
    """The loaded, validated set of telescopes plus rules-tier cues."""

    def __init__(
        self,
        telescopes: Iterable[Telescope],
        cues: Cues,
        sources: Sequence[str],
        link_context: LinkContext | None = None,
    ) -> None:
        self.telescopes: dict[str, Telescope] = {t.key: t for t in telescopes}
        self.cues = cues
        self.sources = list(sources)
        #: phrases deciding whether a named instrument, id or DOI is data the paper used
        self.link_context = link_context or LinkContext()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key.upper() in self.telescopes or key.upper() == "NONE")

    def __iter__(self) -> Iterator[Telescope]:
        return iter(self.telescopes.values())

    def __len__(self) -> int:
        return len(self.telescopes)

    @property
    def keys(self) -> list[str]:
        return list(self.telescopes)

    def get(self, key: str, where: str = "") -> Telescope:
        """The telescope for a key (case-insensitive); ``UnknownTelescopeError`` otherwise."""
        try:
            return self.telescopes[key.upper()]
        except KeyError:
            raise UnknownTelescopeError(key, [*self.keys, NONE_TELESCOPE], where) from None

    def check(self, key: str, where: str = "") -> str:
        """Normalise a telescope key (``NONE`` allowed) or raise naming the known ones."""
        upper = key.strip().upper()
        if upper == NONE_TELESCOPE:
            return upper
        return self.get(upper, where).key

    @cached_property
    def content_hash(self) -> str:
        """Stable hash of the effective registry (artifacts and caches record it)."""
        payload = {
            "telescopes": [t.model_dump(mode="json") for t in self.telescopes.values()],
            "cues": self.cues.model_dump(mode="json"),
            "link_context": self.link_context.model_dump(mode="json"),
        }
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


BUNDLED = "telescopes.yaml"
#: top-level sections layered key by key (a later file's key replaces the list)
LAYERED_SECTIONS = ("cues", "link_context")


def _read_file(path: Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        text = resources.files("amc.data").joinpath(BUNDLED).read_text(encoding="utf-8")
        name = f"amc/data/{BUNDLED}"
        suffix = ".yaml"
    else:
        name = str(path)
        suffix = path.suffix.lower()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RegistryError(f"registry file {name} does not exist") from None
        except UnicodeDecodeError as exc:
            raise RegistryError(f"registry file {name} is not UTF-8 text: {exc}") from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"registry file {name} cannot be parsed: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RegistryError(f"registry file {name}: top level must be a mapping")
    unknown = set(data) - {"telescopes", *LAYERED_SECTIONS, "version"}
    if unknown:
        raise RegistryError(
            f"registry file {name}: unknown top-level key(s) {sorted(unknown)}; "
            "expected 'telescopes' and optionally 'cues' and 'link_context'"
        )
    return data, name


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "(entry)"
        parts.append(f"field {loc!r}: {err['msg']}")
    return "; ".join(parts)


def load_registry(user_files: Sequence[Path | str] = (), include_bundled: bool = True) -> Registry:
    """Load the bundled registry layered with ``user_files`` (later files win)."""
    raw: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in LAYERED_SECTIONS}
    sources: list[str] = []
    paths: list[Path | None] = [None] if include_bundled else []
    paths += [Path(p) for p in user_files]
    for path in paths:
        data, name = _read_file(path)
        sources.append(name)
        entries = data.get("telescopes") or {}
        if not isinstance(entries, dict):
            raise RegistryError(f"registry file {name}: 'telescopes' must be a mapping of keys")
        for key, entry in entries.items():
            if not isinstance(entry, dict):
                raise RegistryError(f"registry file {name}: entry {key!r} must be a mapping")
            merged = {**raw.get(str(key), {}), **entry}
            raw[str(key)] = merged
            origin[str(key)] = name
        for section in LAYERED_SECTIONS:
            if data.get(section):
                if not isinstance(data[section], dict):
                    raise RegistryError(f"registry file {name}: {section!r} must be a mapping")
                sections[section].update(data[section])
    telescopes = []
    for key, entry in raw.items():
        try:
            telescopes.append(Telescope(key=key, **entry))
        except ValidationError as exc:
            raise RegistryError(
                f"registry file {origin[key]}: entry {key!r}: {_validation_message(exc)}"
            ) from None
        except TypeError as exc:
            raise RegistryError(f"registry file {origin[key]}: entry {key!r}: {exc}") from None
    try:
        cue_model = Cues(**sections["cues"])
    except ValidationError as exc:
        raise RegistryError(f"registry cues: {_validation_message(exc)}") from None
    try:
        link_context = LinkContext(**sections["link_context"])
    except ValidationError as exc:
        raise RegistryError(f"registry link_context: {_validation_message(exc)}") from None
    if not telescopes:
        raise RegistryError("the registry has no telescopes")
    return Registry(telescopes, cue_model, sources, link_context)

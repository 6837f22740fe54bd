"""Private: the trained tier's artifact on disk (format, manifest checks, safe loading).

An artifact is a directory: ``manifest.json`` (format version, registry hash,
snippet settings, library versions, metrics, the model file's sha256) and
``model.joblib`` (pickled scikit-learn objects).

Unpickling runs code. ``load_artifact`` only reads the path the user
configured, refuses a model file that every user can write, checks the
manifest (format, registry, scikit-learn version, snippet window) and the
file's sha256 before unpickling. That catches a stale, swapped or corrupted
file, not a forged manifest: only load artifacts you or your team trained.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from amc import __version__
from amc.domain.errors import AmcError
from amc.registry import Registry
from amc.settings import Settings

#: 2: the rules tier's features changed (issue 15); ``label_sources`` recorded
FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.joblib"


class ModelArtifactError(AmcError):
    """A trained-model artifact is missing, unsafe, or does not match this installation."""

    kind = "model_artifact"


def library_versions() -> dict[str, str]:
    return {
        "amc": __version__,
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


def save_artifact(folder: Path, parts: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write the artifact directory (model file first, then the manifest naming its hash)."""
    folder.mkdir(parents=True, exist_ok=True)
    model_file = folder / MODEL_FILE
    joblib.dump(parts, model_file, compress=3)
    manifest = dict(manifest, model_sha256=_sha256(model_file))
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def load_artifact(
    folder: Path, registry: Registry, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load and check an artifact; raises ``ModelArtifactError`` saying what differs."""
    manifest = read_manifest(folder)
    check_manifest(manifest, folder, registry, settings)
    model_file = folder / MODEL_FILE
    if model_file.stat().st_mode & 0o002:
        raise ModelArtifactError(
            f"{model_file} is writable by every user; refusing to unpickle it "
            f"(run `chmod o-w {model_file}`)"
        )
    if _sha256(model_file) != manifest.get("model_sha256"):
        raise ModelArtifactError(
            f"{model_file} does not match the sha256 in {folder / MANIFEST_FILE}; the file was "
            "changed or corrupted after training: retrain with `amc train`"
        )
    parts = joblib.load(model_file)  # runs code: only after the checks above
    return parts, manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    manifest_file = folder / MANIFEST_FILE
    if not manifest_file.is_file() or not (folder / MODEL_FILE).is_file():
        raise ModelArtifactError(
            f"no trained model at {folder} (expected {MANIFEST_FILE} and {MODEL_FILE}); "
            "train one with `amc train --data LABELLED --model-path DIR` or set AMC_MODEL_PATH"
        )
    try:
        data = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{manifest_file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelArtifactError(f"{manifest_file} must hold a JSON object")
    return data


def check_manifest(
    manifest: dict[str, Any], folder: Path, registry: Registry, settings: Settings
) -> None:
    """Raise ``ModelArtifactError`` when the artifact was made for different inputs."""
    retrain = "retrain with `amc train`"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(
            f"model at {folder} has format version {manifest.get('format_version')!r}; this amc "
            f"reads version {FORMAT_VERSION}: {retrain}"
        )
    if manifest.get("registry_hash") != registry.content_hash:
        raise ModelArtifactError(
            f"model at {folder} was trained with telescope registry {manifest.get('registry_hash')}"
            f" but the current registry is {registry.content_hash}: use the same --registry files"
            f" as in training or {retrain}"
        )
    trained_sk = str(manifest.get("versions", {}).get("scikit-learn", "?"))
    if trained_sk.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelArtifactError(
            f"model at {folder} was pickled with scikit-learn {trained_sk}, this is "
            f"{sklearn.__version__}; pickles are not portable across versions: {retrain}"
        )
    if manifest.get("window_sentences") != settings.window_sentences:
        raise ModelArtifactError(
            f"model at {folder} was trained with window_sentences="
            f"{manifest.get('window_sentences')} but it is {settings.window_sentences} now: "
            f"set --window/AMC_WINDOW_SENTENCES back or {retrain}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""Turning uploaded files into a batch: save them safely, submit, start the run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from amc.domain.errors import AmcError
from amc.jobs.submit import NothingToClassify, submit_batch
from amc.settings import Settings, Tier
from amc.store import Store
from amc.web.runner import BatchRunner
from amc.web.schemas import SubmissionOut
from amc.web.uploads import UploadError, check_zip, safe_filename, save_upload, upload_folder

MAX_FILES = 50


class Upload(Protocol):
    """What is needed of an uploaded file (Starlette's ``UploadFile`` fits)."""

    filename: str | None
    file: BinaryIO


def submit_uploads(
    store: Store,
    runner: BatchRunner,
    settings: Settings,
    files: Sequence[Upload],
    telescopes: Sequence[str],
    tier: Tier | None = None,
) -> SubmissionOut:
    """Save the uploads under a fresh folder, submit them as one batch and start it.

    Raises ``UploadError`` (bad name or type, too large, unsafe zip) or the
    ``InputError`` of the first bad row; nothing is registered then.
    """
    if not files:
        raise UploadError("no file uploaded; choose at least one input file")
    if len(files) > MAX_FILES:
        raise UploadError(f"at most {MAX_FILES} files in one upload")
    if tier is not None:
        settings = settings.model_copy(update={"tier": tier})
    keys = [t.strip() for value in telescopes for t in value.split(",") if t.strip()]
    with upload_folder(settings.spool_dir) as folder:
        paths = []
        for index, upload in enumerate(files):
            target = folder / str(index) / safe_filename(upload.filename, index)
            target.parent.mkdir()
            save_upload(upload.file, target, settings.web_max_upload_bytes)
            if target.suffix == ".zip":
                check_zip(target, settings.web_max_zip_bytes)
            paths.append(target)
        try:
            sub = submit_batch(store, paths, keys, settings, refuse_empty=True)
        except NothingToClassify:
            names = ", ".join(repr(p.name) for p in paths)
            raise UploadError(
                f"no paper found in {names}: the upload holds no row of a paper (a table with a "
                "header only?); nothing to classify"
            ) from None
        except AmcError as exc:  # name the uploaded files, never the server's folders
            raise _named(exc, folder) from None
    started = runner.start(sub.batch_id, sub.paper_ids)
    return SubmissionOut(
        batch_id=sub.batch_id, created=sub.created, n_papers=sub.n_papers, runner=started
    )


def _named(exc: AmcError, folder: Path) -> AmcError:
    """The same error with the upload folder's paths replaced by the uploaded file names."""
    message = re.sub(re.escape(str(folder)) + r"/\d+/", "", str(exc))
    renamed = UploadError(message)
    renamed.kind = exc.kind
    renamed.status_code = getattr(exc, "status_code", UploadError.status_code)
    return renamed

"""PDFs through the whole pipeline: files, folders and zips; bad files never stop a run."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pdfgen import PaperSpec, encrypted_pdf, image_only_pdf, truncated_pdf, two_column_paper

from amc.classify.stream import classify_papers
from amc.registry import load_registry
from amc.settings import load_settings

REGISTRY = load_registry()
REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev-papers" / "pdf"
SCIENCE_SPEC = PaperSpec(
    title="Water in the Atmosphere of a Warm Neptune",
    abstract="We present a transmission spectrum of a warm Neptune obtained with HST/WFC3.",
    sections=[
        (
            "2. Observations",
            [
                "We observed four transits with the Hubble Space Telescope Wide Field Camera 3 "
                "(program GO 14915) using the G141 grism. The data were reduced with our own "
                "pipeline. Future JWST observations will extend the spectrum."
            ],
        )
    ],
)


def labels_by_pair(paths: list[Path], **flags: object) -> dict[str, str]:
    settings = load_settings(environ={}, **flags)
    out = {}
    for c in classify_papers(paths, REGISTRY, settings):
        key = f"{Path(c.bibcode).name}_{c.telescope}"
        out[key] = c.error.kind if c.error else "+".join(x.value for x in c.labels.positives)  # type: ignore[union-attr]
    return out


@pytest.mark.skipif(not REAL_PDFS.is_dir(), reason="shared dev papers not present")
def test_real_pdfs_come_out_as_hand_labelled() -> None:
    """The labelled pairs of dev-papers/pdf (README) with the rules tier."""
    result = labels_by_pair([REAL_PDFS])
    expected = {
        "wasp107_HST": "science",
        "wasp107_JWST": "mention",
        "wasp12_rnaas_HST": "science",
        "trappist1_ttvs_CHANDRA": "not_telescope",
        "trappist1_ttvs_JWST": "mention",
    }
    assert {k: result.get(k) for k in expected} == expected


def test_folder_of_pdfs_with_bad_files_records_each_and_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "good.pdf").write_bytes(two_column_paper(SCIENCE_SPEC))
    (folder / "locked.pdf").write_bytes(encrypted_pdf())
    (folder / "scan.pdf").write_bytes(image_only_pdf())
    (folder / "cut.pdf").write_bytes(truncated_pdf())
    (folder / "notes.pdf").write_text("just some notes, not a PDF", encoding="utf-8")
    result = labels_by_pair([folder])  # default settings: bad documents never stop a run
    assert result["good_HST"] == "science"
    assert result["good_JWST"] == "mention"
    assert result["locked_?"] == "pdf_encrypted"
    assert result["scan_?"] == "pdf_needs_ocr"
    assert result["cut_?"] in ("pdf_corrupt", "pdf_not_pdf")
    assert result["notes_?"] == "pdf_not_pdf"


def test_zip_of_pdfs(tmp_path: Path) -> None:
    archive = tmp_path / "papers.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/good.pdf", two_column_paper(SCIENCE_SPEC))
        zf.writestr("a/locked.pdf", encrypted_pdf())
    result = labels_by_pair([archive])
    assert result["good_HST"] == "science"
    assert result["locked_?"] == "pdf_encrypted"


def test_page_limit_from_settings(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(two_column_paper(PaperSpec(filler_pages=3)))
    result = labels_by_pair([path], pdf_max_pages=2)
    assert result == {"long_?": "pdf_too_large"}


def test_folder_of_pdfs_as_an_embedded_batch(tmp_path: Path) -> None:
    from amc.jobs.process import run_batch
    from amc.jobs.submit import submit_batch
    from amc.store import open_store

    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "good.pdf").write_bytes(two_column_paper(SCIENCE_SPEC))
    (folder / "scan.pdf").write_bytes(image_only_pdf())
    settings = load_settings(
        environ={}, database_url=f"sqlite:///{tmp_path / 'amc.db'}", spool_dir=tmp_path / "spool"
    )
    with open_store(settings.database_url) as store:
        submission = submit_batch(store, [folder], (), settings)
        progress = run_batch(store, submission.batch_id, settings)
        results = {
            (Path(c.bibcode).name, c.telescope): c for c in store.iter_results(submission.batch_id)
        }
    assert progress.finished
    assert results[("good", "HST")].labels is not None
    assert results[("good", "HST")].labels.science
    error = results[("scan", "?")].error
    assert error is not None and error.kind == "pdf_needs_ocr"

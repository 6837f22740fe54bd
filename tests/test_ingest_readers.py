"""Tests for amc.ingest: every input format, streaming, and every kind of bad row."""

from __future__ import annotations

import io
import json
import random
import re
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amc.domain.errors import InputError
from amc.domain.models import TelescopeLabels
from amc.ingest import BadRow, InputRow, count_rows, detect_format, read_inputs

DEV = Path("/work/shared/data/dev-papers")
needs_dev = pytest.mark.skipif(not DEV.is_dir(), reason="dev-papers data not present")

HEADER = "Id,title,abstract,body\n"


def read(paths: Sequence[Path | str], **kwargs: object) -> list[InputRow | BadRow]:
    return list(read_inputs(paths, **kwargs))  # type: ignore[arg-type]


def good(items: list[InputRow | BadRow]) -> list[InputRow]:
    return [item for item in items if isinstance(item, InputRow)]


def bad(items: list[InputRow | BadRow]) -> list[BadRow]:
    return [item for item in items if isinstance(item, BadRow)]


def paper_record(i: int, **extra: object) -> dict[str, object]:
    return {
        "bibcode": f"2020ApJ...{i:03d}..1A",
        "telescope": "hst",
        "author": "Smith, J.; Doe, A.",
        "year": 2020,
        "title": f"Title {i}",
        "abstract": "We observed with HST.",
        "body": f"Body {i}.",
        "acknowledgments": "",
        "grants": None,
        **extra,
    }


def write_parquet(path: Path, records: list[dict[str, object]], **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path, **kwargs)
    return path


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --- detect_format ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.parquet", "parquet"), ("a.CSV", "csv"), ("a.json", "json"), ("a.jsonl", "jsonl"),
     ("a.ndjson", "jsonl"), ("a.txt", "txt"), ("a.pdf", "pdf"), ("a.zip", "zip")],
)  # fmt: skip
def test_detect_format_by_suffix(tmp_path: Path, name: str, fmt: str) -> None:
    (tmp_path / name).write_bytes(b"x")
    assert detect_format(tmp_path / name) == fmt


def test_detect_format_sniffs_unknown_suffix_and_rejects_others(tmp_path: Path) -> None:
    (tmp_path / "scan").write_bytes(b"%PDF-1.7\n...")
    (tmp_path / "notes.docx").write_bytes(b"not a format we read")
    assert detect_format(tmp_path / "scan") == "pdf"
    assert detect_format(tmp_path) == "dir"
    with pytest.raises(InputError, match=r"notes\.docx.*unsupported input format '\.docx'"):
        detect_format(tmp_path / "notes.docx")
    with pytest.raises(InputError, match="no such file"):
        detect_format(tmp_path / "missing.csv")


# --- real dev papers ------------------------------------------------------------------------


@needs_dev
def test_reads_real_tracs_parquet_with_labels() -> None:
    rows = read([DEV / "papers.parquet"])
    assert len(rows) == 17 and all(isinstance(r, InputRow) for r in rows)
    first = good(rows)[0]
    assert first.row == 1 and first.paper.source.endswith("papers.parquet#row=1")
    assert first.telescope == "HST" and first.gold == TelescopeLabels(mention=True)
    assert len(first.paper.body) > 10_000
    assert [r.row for r in good(rows)] == list(range(1, 18))


@needs_dev
def test_reads_real_kaggle_csv_and_splits_id_on_last_underscore() -> None:
    rows = good(read([DEV / "papers_kaggle.csv"]))
    assert len(rows) == 17
    wasp = [r for r in rows if r.paper.bibcode == "DEV.2017_wasp107_ms"]
    assert [r.telescope for r in wasp] == ["HST", "JWST"]
    assert all(r.gold is None and r.paper.year is None for r in rows)  # year 0 means unknown
    assert wasp[0].row == 3 and wasp[0].paper.source.endswith("papers_kaggle.csv#row=3")


@needs_dev
def test_count_rows_reads_parquet_metadata_only() -> None:
    assert count_rows([DEV / "papers.parquet", DEV / "papers.parquet"]) == 34
    assert count_rows([DEV / "papers_kaggle.csv"]) is None


# --- parquet --------------------------------------------------------------------------------


def test_parquet_fields_are_parsed(tmp_path: Path) -> None:
    record = paper_record(1, doi="10.1/x", science=True, instrumentation=False,
                          mention=False, not_telescope=False)  # fmt: skip
    row = good(read([write_parquet(tmp_path / "p.parquet", [record])]))[0]
    assert row.paper.authors == ["Smith, J.", "Doe, A."]
    assert row.paper.year == 2020 and row.paper.grants == ""
    assert row.paper.identifiers == {"doi": "10.1/x"}
    assert row.telescope == "HST" and row.gold == TelescopeLabels(science=True)


def test_directory_of_split_parquet_files_in_hf_layout(tmp_path: Path) -> None:
    data = tmp_path / "TRACS" / "data"
    write_parquet(data / "JWST_reference_train-00000-of-00001.parquet", [paper_record(2)])
    write_parquet(data / "HST_reference_train-00000-of-00001.parquet", [paper_record(1)])
    (tmp_path / "TRACS" / "README.md").write_text("# dataset card")
    write_parquet(tmp_path / "TRACS" / ".cache" / "x.parquet", [paper_record(9)])
    rows = read([tmp_path / "TRACS"])
    assert [r.paper.title for r in good(rows)] == ["Title 1", "Title 2"]  # sorted, hidden skipped
    assert not bad(rows)
    assert good(rows)[0].path.endswith("data/HST_reference_train-00000-of-00001.parquet")
    assert count_rows([tmp_path / "TRACS"]) == 2


def test_parquet_streams_in_order_across_row_groups(tmp_path: Path) -> None:
    records = [paper_record(i) for i in range(103)]
    path = write_parquet(tmp_path / "many.parquet", records, row_group_size=7)
    assert pq.ParquetFile(path).metadata.num_row_groups == 15
    rows = good(read([path], chunk_rows=5))
    assert [r.row for r in rows] == list(range(1, 104))
    assert [r.paper.title for r in rows] == [f"Title {i}" for i in range(103)]
    assert rows[41].paper.source == f"{path}#row=42"


def test_parquet_large_string_and_binary_columns(tmp_path: Path) -> None:
    table = pa.table({
        "bibcode": pa.array(["b1", "b2"], pa.large_string()),
        "body": pa.array([b"caf\xc3\xa9", b"\xff\xfe"], pa.binary()),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "t.parquet")
    rows = read([tmp_path / "t.parquet"])
    assert good(rows)[0].paper.body == "café"
    assert "row 2" in str(bad(rows)[0].error) and "'body' is not valid UTF-8" in str(
        bad(rows)[0].error
    )


@pytest.mark.slow
def test_reading_a_large_parquet_keeps_python_memory_flat(tmp_path: Path) -> None:
    rng = random.Random(7)
    bodies = ["".join(rng.choices("abcdefgh ", k=50_000)) for _ in range(8)]
    records = [paper_record(i, body=bodies[i % 8]) for i in range(1000)]
    path = write_parquet(
        tmp_path / "big.parquet",
        records,
        row_group_size=50,
        compression="none",
        use_dictionary=False,
    )
    size = path.stat().st_size
    assert size > 45_000_000
    del records
    tracemalloc.start()
    n = sum(1 for _ in read_inputs([path], chunk_rows=20))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 1000
    assert peak < size / 10, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_corrupt_parquet_is_one_bad_file_and_the_next_file_still_reads(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    ok = write_parquet(tmp_path / "ok.parquet", [paper_record(1)])
    rows = read([tmp_path / "broken.parquet", tmp_path / "missing.parquet", ok])
    assert [type(r).__name__ for r in rows] == ["BadRow", "BadRow", "InputRow"]
    broken, missing = bad(rows)
    assert "broken.parquet" in str(broken.error) and broken.row is None
    assert "missing.parquet: no such file" in str(missing.error)


# --- CSV ------------------------------------------------------------------------------------


def test_csv_with_tracs_columns_and_label_variants(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "bibcode,telescope,year,science,instrumentation,mention,not_telescope\n"
        "b1, jwst ,2021,True,False,False,False\n"
        "b2,HST,,true,false,false,false\n"
        "b3,CHANDRA,0,0,0,1,0\n"
        "b4,HST,,,,,\n",
        encoding="utf-8",
    )
    rows = good(read([path]))
    assert [r.telescope for r in rows] == ["JWST", "HST", "CHANDRA", "HST"]
    assert [r.gold for r in rows] == [TelescopeLabels(science=True)] * 2 + [
        TelescopeLabels(mention=True), None]  # fmt: skip
    assert [r.paper.year for r in rows] == [2021, None, None, None]


def test_csv_id_decides_over_bibcode_and_huge_fields_are_read(tmp_path: Path) -> None:
    body = "x" * 300_000  # over the csv module's default 128 KiB field limit
    path = tmp_path / "k.csv"
    path.write_text(f"Id,bibcode,body\n2019A&A...1B_JWST,other,{body}\n", encoding="utf-8")
    row = good(read([path]))[0]
    assert (row.paper.bibcode, row.telescope) == ("2019A&A...1B", "JWST")
    assert len(row.paper.body) == 300_000


def test_csv_text_is_cleaned_of_nul_control_chars_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "dirty.csv"
    path.write_bytes(b'\xef\xbb\xbfbibcode,body\r\nb1,"line one\r\nline\x00 two\x07\ttab"\r\n')
    row = good(read([path]))[0]
    assert row.paper.body == "line one\nline two\ttab"


def test_c1_control_chars_are_removed_and_other_non_ascii_text_is_kept(tmp_path: Path) -> None:
    # C1 controls (U+0080-U+009F) come only with non-ASCII text: an ASCII text skips that look
    path = tmp_path / "c1.csv"
    path.write_text(
        'bibcode,body\nb1,"caf\u00e9\u0085 and\u009f \u2013 dash"\nb2,plain\n', encoding="utf-8"
    )
    bodies = [r.paper.body for r in good(read([path]))]
    assert bodies == ["caf\u00e9 and \u2013 dash", "plain"]


def test_csv_undecodable_row_is_bad_and_others_come_through(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER.encode() + b"b1_HST,ok,,\nb2_HST,caf\xe9,,\nb3_JWST,fine,,\n")
    rows = read([path])
    assert [r.paper.bibcode for r in good(rows)] == ["b1", "b3"]
    (error,) = bad(rows)
    assert error.row == 2 and error.bibcode == "b2" and error.telescope == "HST"
    assert "mixed.csv, row 2" in str(error.error) and "not valid UTF-8" in str(error.error)


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(HEADER + "b1_HST,t,a,b\nb2_HST,only two\n\nb3_HST,t,a,b\n", encoding="utf-8")
    rows = read([path])
    assert [r.row for r in good(rows)] == [1, 3]  # the blank line is not a row
    assert "ragged.csv, row 2: has 2 fields but the header has 4" in str(bad(rows)[0].error)


def test_empty_csv_and_header_only_csv_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text(HEADER)
    assert read([tmp_path / "empty.csv", tmp_path / "header.csv"]) == []


# --- validation -----------------------------------------------------------------------------


def test_unknown_columns_reject_the_file_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("bibcode,abstarct,confidence,colour\nb1,x,high,red\n", encoding="utf-8")
    (rejected,) = read([path])
    assert isinstance(rejected, BadRow) and rejected.row is None
    message = str(rejected.error)
    assert "'abstarct' (did you mean 'abstract'?)" in message and "'colour'" in message
    assert "confidence" not in message.split("known columns")[0]  # tolerated
    assert (
        "--allow-extra-columns" in message
        and "known columns: bibcode, telescope, id, author" in message
    )
    (row,) = read([path], allow_extra_columns=True)
    assert isinstance(row, InputRow) and row.paper.abstract == ""


def test_file_without_bibcode_or_id_column_is_one_bad_file(tmp_path: Path) -> None:
    (tmp_path / "nokey.csv").write_text("title,body\nt,b\nt2,b2\n")
    (tmp_path / "semi.csv").write_text("bibcode;body\nb1;text\n")
    nokey, semi = read([tmp_path / "nokey.csv", tmp_path / "semi.csv"])
    assert isinstance(nokey, BadRow) and "nokey.csv: no 'bibcode' or 'Id' column" in str(
        nokey.error
    )
    assert isinstance(semi, BadRow) and "looks ';'-separated" in str(semi.error)


def test_unknown_parquet_columns_are_not_even_read_when_allowed(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "x.parquet", [paper_record(1, embedding=[0.1, 0.2])])
    assert "'embedding'" in str(bad(read([path]))[0].error)
    assert len(good(read([path], allow_extra_columns=True))) == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"bibcode": ""}, "no bibcode (and no Id)"),
        ({"year": "abc"}, "column 'year' must be a whole number, got 'abc'"),
        ({"year": 2020.5}, "column 'year' must be a whole number"),
        ({"science": "maybe", "instrumentation": False, "mention": False,
          "not_telescope": False}, "label column 'science' must be True/False"),
        ({"science": 2, "instrumentation": 0, "mention": 0, "not_telescope": 0},
         "label column 'science'"),
        ({"science": True, "mention": False}, "labels are incomplete: instrumentation, "
         "not_telescope missing"),
        ({"body": {"text": "nested"}}, "column 'body' must be text, got dict"),
        ({"author": [1, {"a": 1}]}, "column 'authors' must be text"),
        ({"body": "x" * 101}, "column 'body' has 101 characters, more than the limit of 100"),
        ({"Id": "no-underscore"}, "Id 'no-underscore' is not of the form <bibcode>_<TELESCOPE>"),
        ({"colour": "red"}, "unknown column(s) 'colour'"),
    ],
)  # fmt: skip
def test_bad_values_give_a_bad_row_naming_file_and_row(
    tmp_path: Path, fields: dict[str, object], expected: str
) -> None:
    records = [paper_record(1), {**paper_record(2), **fields}, paper_record(3)]
    path = write_jsonl(tmp_path / "papers.jsonl", records)
    rows = read([path], max_field_chars=100)
    assert [r.row for r in good(rows)] == [1, 3]
    (error,) = bad(rows)
    assert error.row == 2 and error.path == str(path)
    assert f"papers.jsonl, row 2: {expected}" in str(error.error)


def test_numbers_in_text_fields_are_accepted_and_authors_list(tmp_path: Path) -> None:
    record = {"bibcode": 12345, "title": 3.5, "authors": ["A, B", " C, D "], "telescope": None}
    row = good(read([write_jsonl(tmp_path / "n.jsonl", [record])]))[0]
    assert (row.paper.bibcode, row.paper.title) == ("12345", "3.5")
    assert row.paper.authors == ["A, B", "C, D"] and row.telescope is None


# --- JSON and JSON Lines --------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [lambda rs: rs, lambda rs: {"papers": rs}])
def test_json_array_and_papers_object(tmp_path: Path, wrap: object) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(wrap([paper_record(1), paper_record(2)])))  # type: ignore[operator]
    rows = good(read([path]))
    assert [r.row for r in rows] == [1, 2] and rows[1].paper.title == "Title 2"


def test_json_lines_saved_as_json_and_bad_json_documents(tmp_path: Path) -> None:
    lines = write_jsonl(tmp_path / "lines.json", [paper_record(1), paper_record(2)])
    (tmp_path / "broken.json").write_text('[{"bibcode": ')
    (tmp_path / "scalar.json").write_text("42")
    (tmp_path / "empty.json").write_text("")
    rows = read(
        [lines, tmp_path / "broken.json", tmp_path / "scalar.json", tmp_path / "empty.json"]
    )
    assert len(good(rows)) == 2
    assert ["broken.json: not valid JSON" in str(b.error) for b in bad(rows)] == [True, False]
    assert "scalar.json: expected a list of paper objects" in str(bad(rows)[1].error)


def test_jsonl_bad_lines_are_bad_rows_numbered_by_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    good_line = json.dumps(paper_record(1)).encode()
    path.write_bytes(
        b"\xef\xbb\xbf" + good_line + b"\n\n"
        + b'{"bibcode": "caf\xe9"}\n' + b"{not json\n" + b"[1, 2]\n" + good_line + b"\n"
    )  # fmt: skip
    rows = read([path])
    assert [r.row for r in good(rows)] == [1, 6]
    messages = [str(b.error) for b in bad(rows)]
    assert "p.jsonl, row 3: not valid UTF-8" in messages[0]
    assert "p.jsonl, row 4: not valid JSON" in messages[1]
    assert "p.jsonl, row 5: expected a JSON object" in messages[2]


def test_empty_jsonl_yields_nothing(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(b"")
    assert read([tmp_path / "e.jsonl"]) == []


# --- plain text -----------------------------------------------------------------------------


def test_txt_is_one_paper_named_by_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "2021AJ....161..1X.txt"
    path.write_bytes("\ufeffWe used Hubble.\r\nThanks.".encode())
    (row,) = read([path])
    assert isinstance(row, InputRow)
    assert (row.paper.bibcode, row.paper.body) == ("2021AJ....161..1X", "We used Hubble.\nThanks.")
    assert row.telescope is None and row.gold is None and row.row == 1
    assert row.paper.source == str(path)


def test_non_utf8_txt_falls_back_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 \u201cHubble\u201d".encode("cp1252"))
    row = good(read([path]))[0]
    assert row.paper.body == "Caf\u00e9 \u201cHubble\u201d"
    assert row.paper.source == f"{path} (decoded as cp1252)"


def test_empty_txt_is_a_bad_row(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n")
    (error,) = read([tmp_path / "blank.txt"])
    assert isinstance(error, BadRow) and "blank.txt, row 1: empty file" in str(error.error)


def test_txt_over_the_size_limit_is_rejected_before_reading(tmp_path: Path) -> None:
    (tmp_path / "huge.txt").write_text("y" * 500)
    (error,) = read([tmp_path / "huge.txt"], max_field_chars=100)
    assert isinstance(error, BadRow) and "larger than the 100-character limit" in str(error.error)


# --- folders and zips -----------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_of_txt_and_jsonl_members_in_sorted_order(tmp_path: Path) -> None:
    lines = json.dumps(paper_record(1)) + "\n" + json.dumps(paper_record(2)) + "\n"
    path = make_zip(tmp_path / "batch.zip", {
        "papers/b.txt": b"Paper B used JWST.",
        "papers/a.jsonl": lines.encode(),
        "__MACOSX/._b.txt": b"resource fork",
        "readme.md": b"ignored",
        "inner.zip": b"PK\x03\x04 nested zips are not opened",
    })  # fmt: skip
    rows = read([path])
    assert not bad(rows)
    assert [r.paper.bibcode for r in good(rows)][-1] == "b"
    assert [r.path for r in good(rows)] == [f"{path}!papers/a.jsonl"] * 2 + [f"{path}!papers/b.txt"]
    assert good(rows)[1].paper.source == f"{path}!papers/a.jsonl#row=2"
    assert count_rows([path]) is None  # a jsonl member has no cheap count
    assert count_rows([make_zip(tmp_path / "t.zip", {"a.txt": b"x", "b.txt": b"y"})]) == 2


def test_zip_member_with_dotdot_path_is_rejected(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "evil.zip", {"../evil.txt": b"escape", "ok.txt": b"fine"})
    rows = read([path])
    assert [r.paper.bibcode for r in good(rows)] == ["ok"]
    (error,) = bad(rows)
    assert "evil.zip!../evil.txt: unsafe path" in str(error.error)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_is_bounded(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "bomb.zip", {
        "a.txt": b"small paper", "b.txt": b"\0" * 5_000_000, "c.txt": b"never reached",
    })  # fmt: skip
    assert path.stat().st_size < 100_000
    rows = read([path], max_zip_bytes=1_000_000)
    assert [r.paper.bibcode for r in good(rows)] == ["a"]
    (error,) = bad(rows)
    assert "bomb.zip: the zip expands to more than 1,000,000 bytes, the most" in str(error.error)
    assert "still allowed" not in str(error.error)  # was "more than 999,989 bytes still allowed"


def test_a_zip_past_its_limit_on_a_later_member_states_the_limit(tmp_path: Path) -> None:
    """The budget left can be 0 when a member starts: say the limit, not "0 bytes"."""
    path = make_zip(tmp_path / "two.zip", {"a.txt": b"x" * 2000, "b.txt": b"y" * 10})
    (error,) = bad(read([path], max_zip_bytes=2000))
    assert "more than 2,000 bytes" in str(error.error) and "'b.txt'" in str(error.error)
    assert not re.search(r"(?<![\d,])0 bytes", str(error.error))


def test_an_unsafe_member_is_not_called_skipped(tmp_path: Path) -> None:
    """The same row stops the run without --skip-bad-rows: "member skipped" was untrue."""
    (error,) = bad(read([make_zip(tmp_path / "e.zip", {"../e.txt": b"x", "ok.txt": b"y"})]))
    assert "skipped" not in str(error.error) and "not extracted" in str(error.error)


def test_zip_bomb_with_lying_header_is_bounded(tmp_path: Path) -> None:
    """A header that understates a member's size must not get it past the bound
    (zipfile stops at the declared size and then fails the CRC check)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.txt", b"a" * 3_000_000)
    data = bytearray(buffer.getvalue())
    # patch the uncompressed size (offset 22 of the local header, 24 of the central one)
    data[22:26] = (10).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(data))
    rows = read([tmp_path / "liar.zip"], max_zip_bytes=1_000_000)
    assert not good(rows) and len(bad(rows)) == 1
    assert "liar.zip: could not read the file (BadZipFile: Bad CRC-32" in str(bad(rows)[0].error)


def test_not_a_zip_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.docx").write_bytes(b"x")
    not_zip, empty = bad(read([tmp_path / "fake.zip", tmp_path / "empty"]))
    assert "fake.zip: could not read the file (BadZipFile" in str(not_zip.error)
    assert "empty: folder has no supported files" in str(empty.error)


def test_folder_mixes_formats_and_one_bad_file_does_not_stop_it(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [paper_record(1)])
    (tmp_path / "b.txt").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("Paper C")
    (tmp_path / ".hidden.txt").write_text("skip me")
    rows = read([tmp_path])
    assert [type(r).__name__ for r in rows] == ["InputRow", "BadRow", "InputRow"]
    assert rows[2].path == str(tmp_path / "sub" / "c.txt")
    # a.jsonl (1 line) + b.txt + c.txt; the hidden file is not counted
    assert count_rows([tmp_path]) == 3 and count_rows([tmp_path / "sub"]) == 1


# --- PDF --------------------------------------------------------------------------------------


@needs_dev
def test_pdf_is_dispatched_to_the_pdf_reader(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    rows = read([DEV / "pdf" / "wasp12_rnaas.pdf", tmp_path / "broken.pdf"])
    (paper,) = good(rows)
    assert paper.telescope is None and paper.row == 1 and "HST" in paper.paper.text("body")
    (error,) = bad(rows)
    assert "broken.pdf" in str(error.error)


def test_count_rows_counts_json_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "three.jsonl", [paper_record(i) for i in range(3)])
    assert count_rows([path]) == 3
    unterminated = tmp_path / "two.jsonl"
    unterminated.write_bytes(path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[0])
    assert count_rows([unterminated]) == 2

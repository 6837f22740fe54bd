"""Scoring links (``eval.links``) against hand-computed precision, recall and F1."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from eval.links import LinkFileError, links_markdown, score_links, write_links_report

GOLD = """\
pair_id\ttelescope\tkind\tvalue\tevidence\tcertain
A_HST\tHST\tinstrument\tWFC3\twe observed with WFC3\tyes
A_HST\tHST\tprogramme\tHST:12345\tprogram 12345\tyes
A_HST\tHST\tdoi\t10.17909/abc\tdoi:10.17909/abc\tyes
B_JWST\tJWST\tinstrument\tNIRSpec\tNIRSpec/MSA\tyes
B_JWST\tJWST\tinstrument\tMIRI\tMIRI perhaps\tno
B_JWST\tJWST\tprogramme\tJWST:2110\tJWST-GO-2110\tyes
pdf:paper_HST\tHST\tinstrument\tSTIS\twith STIS\tyes
C_CHANDRA\tCHANDRA\tnone\t\t\tyes
E_HST\tHST\tinstrument\tCOS\twith COS\tyes
"""

#: pair -> (source, links); D_HST is not in the gold file and never scored
PREDICTED = {
    "A_HST": (
        "a.parquet#row=1",
        [
            ("instrument", "WFC3"),
            ("instrument", "ACS"),
            ("programme", "HST:012345"),
            ("doi", "10.17909/ABC"),
        ],
    ),
    "B_JWST": (
        "b.jsonl",
        [
            ("instrument", "NIRSpec"),
            ("programme", "JWST:2110"),
            ("programme", "JWST:1345"),
            ("grant", "JWST:9999"),
        ],
    ),
    "paper_HST": ("/data/pdfs/paper.pdf", [("instrument", "STIS")]),
    "C_CHANDRA": ("c.txt", [("obsid", "CHANDRA:1234")]),
    "D_HST": ("d.txt", [("instrument", "WFC3")]),
}


def _record(pair_id: str, source: str, links: list[tuple[str, str]]) -> dict[str, object]:
    return {
        "pair_id": pair_id,
        "bibcode": pair_id.rsplit("_", 1)[0],
        "telescope": pair_id.rsplit("_", 1)[1],
        "source": source,
        "error": None,
        "links": [
            {
                "kind": k,
                "value": v,
                "quote": v,
                "field": "body",
                "start": 0,
                "end": len(v),
                "verified": True,
                "source": "rules",
            }
            for k, v in links
        ],
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    gold = tmp_path / "gold.tsv"
    gold.write_text(GOLD, encoding="utf-8")
    jsonl = tmp_path / "pred.jsonl"
    jsonl.write_text(
        "".join(json.dumps(_record(p, s, links)) + "\n" for p, (s, links) in PREDICTED.items()),
        encoding="utf-8",
    )
    out = tmp_path / "pred.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            [
                "Id",
                "telescope",
                "source",
                "error_kind",
                "instruments",
                "programmes",
                "obsids",
                "dois",
            ],
        )
        writer.writeheader()
        for pair_id, (source, links) in PREDICTED.items():
            row = {
                "Id": pair_id,
                "telescope": pair_id.rsplit("_", 1)[1],
                "source": source,
                "error_kind": "",
            }
            for column, kind in (
                ("instruments", "instrument"),
                ("programmes", "programme"),
                ("obsids", "obsid"),
                ("dois", "doi"),
            ):
                row[column] = ";".join(v for k, v in links if k == kind)
            writer.writerow(row)
    return {"gold": gold, "jsonl": jsonl, "csv": out}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_scores_per_kind_are_the_hand_computed_ones(files: dict[str, Path], fmt: str) -> None:
    report = score_links(files["gold"], files[fmt])
    scores = {
        k.kind: (k.gold, k.predicted, k.true, k.precision, k.recall, k.f1) for k in report.kinds
    }
    # instrument: gold WFC3 NIRSpec MIRI STIS COS; predicted WFC3 ACS NIRSpec STIS -> 3 true
    assert scores["instrument"] == pytest.approx((5, 4, 3, 0.75, 0.6, 2 / 3))
    # programme: HST:012345 is HST:12345; JWST:1345 is extra
    assert scores["programme"] == pytest.approx((2, 3, 2, 2 / 3, 1.0, 0.8))
    # obsid: one predicted on a pair checked to have none, no gold: F1 0, still counted
    assert scores["obsid"] == pytest.approx((0, 1, 0, 0.0, 0.0, 0.0))
    assert scores["doi"] == pytest.approx((1, 1, 1, 1.0, 1.0, 1.0))
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0.0 + 1.0) / 4)
    assert report.pairs == 5 and report.missing_pairs == ["E_HST"]
    assert {(i["pair_id"], i["value"]) for i in report.false_negatives} == {
        ("B_JWST", "miri"),
        ("E_HST", "cos"),
    }


def test_certain_only_leaves_uncertain_gold_links_unscored(files: dict[str, Path]) -> None:
    report = score_links(files["gold"], files["jsonl"], certain_only=True)
    instrument = next(k for k in report.kinds if k.kind == "instrument")
    assert (instrument.gold, instrument.true) == (4, 3)
    assert report.macro_f1 == pytest.approx((0.75 + 0.8 + 0.0 + 1.0) / 4)


def test_a_kind_with_no_gold_and_no_prediction_is_left_out_of_the_macro(tmp_path: Path) -> None:
    gold = tmp_path / "g.tsv"
    gold.write_text(GOLD.splitlines()[0] + "\nA_HST\tHST\tinstrument\tWFC3\tx\tyes\n")
    pred = tmp_path / "p.jsonl"
    pred.write_text(json.dumps(_record("A_HST", "a", [("instrument", "WFC3")])) + "\n")
    report = score_links(gold, pred)
    assert report.macro_f1 == 1.0
    assert [k.counted for k in report.kinds] == [True, False, False, False]
    assert "| obsid | 0 | 0 | 0 | n/a | n/a | n/a |" in links_markdown(report)


def test_a_failed_pair_predicts_nothing_and_is_listed(tmp_path: Path) -> None:
    gold = tmp_path / "g.tsv"
    gold.write_text(GOLD.splitlines()[0] + "\nA_HST\tHST\tinstrument\tWFC3\tx\tyes\n")
    record = _record("A_HST", "a", [("instrument", "WFC3")])
    record["error"] = {"kind": "llm_answer", "message": "invalid"}
    pred = tmp_path / "p.jsonl"
    pred.write_text(json.dumps(record) + "\n")
    report = score_links(gold, pred)
    assert report.failed_pairs == ["A_HST"] and report.kinds[0].true == 0


def test_the_report_files_hold_the_scores(files: dict[str, Path], tmp_path: Path) -> None:
    report = score_links(files["gold"], files["jsonl"])
    written = write_links_report(report, tmp_path / "rep")
    data = json.loads(written["json"].read_text())
    assert data["macro_f1"] == pytest.approx(report.macro_f1)
    assert data["kinds"][1] == {
        "kind": "programme",
        "gold": 2,
        "predicted": 3,
        "true": 2,
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": 0.8,
    }
    markdown = written["markdown"].read_text()
    assert "| programme | 2 | 3 | 2 | 0.667 | 1.000 | 0.800 |" in markdown
    assert "E_HST" in markdown and "gold evidence: with COS" in markdown


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("pair_id\tkind\tvalue\n", "missing column(s) telescope, evidence, certain"),
        (
            GOLD.splitlines()[0] + "\nA_HST\tHST\tinstrumnt\tWFC3\tx\tyes\n",
            "line 2 (A_HST): kind 'instrumnt' is not one of",
        ),
        (GOLD.splitlines()[0] + "\nA_HST\tHST\tdoi\t\tx\tyes\n", "line 2 (A_HST): a doi link"),
        (GOLD.splitlines()[0] + "\nA_HST\tHST\tdoi\tx\n", "line 2: 4 fields, the header has 6"),
    ],
)
def test_a_bad_gold_file_names_the_line(tmp_path: Path, gold: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(gold, encoding="utf-8")
    pred = tmp_path / "p.jsonl"
    pred.write_text("")
    with pytest.raises(LinkFileError, match=r"bad\.tsv") as caught:
        score_links(path, pred)
    assert message in str(caught.value)


def test_predictions_without_links_say_how_to_make_them(tmp_path: Path) -> None:
    gold = tmp_path / "g.tsv"
    gold.write_text(GOLD)
    kaggle = tmp_path / "sub.csv"
    kaggle.write_text("Id,telescope,science\nA_HST,HST,True\n")
    with pytest.raises(LinkFileError, match="amc classify"):
        score_links(gold, kaggle)
    broken = tmp_path / "p.jsonl"
    broken.write_text('{"no": "pair id"}\n')
    with pytest.raises(LinkFileError, match=r"p\.jsonl, line 1"):
        score_links(gold, broken)

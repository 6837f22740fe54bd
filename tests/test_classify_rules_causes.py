"""The rules tier on held-out pairs written for these tests, one group per cause of error.

``tests/rules_cases.py`` holds the pairs (paper fragments in the style of real papers,
none copied from the dev papers or the sample). ``CASES`` was written with the causes
and every one must come out right; ``FRESH_CASES`` was written after the rules were
built and run once unchanged (24 of 25 right, the old rules tier 22; the miss, "we
report ... from 170 ks of new Chandra observations", showed that a single plain
data-use sentence with a programme-level detail was under-weighted, fixed by weighing
each sentence as a whole).
``BLIND_CASES`` (harder text: LaTeX leftovers, captions, data-availability lines,
several telescopes in a sentence) was written last and run once: 18 of 20 right (the old
rules tier: 14); the two misses were causes, fixed after that run: a data DOI in the
acknowledgments was read as boiler-plate, and "Dr." ended the clause a homonym's context
is looked for in ("We thank Dr. Webb"). On the old rules tier 22 of the 39 ``CASES``
came out wrong.
"""

from __future__ import annotations

import pytest
from rules_cases import BLIND_CASES, CASES, FRESH_CASES, OTHERS, SOFTWARE, TRAPS, Case

from amc.classify.rules import classify_rules
from amc.domain.models import Classification, Pair, Paper
from amc.registry import Registry
from amc.snippets import find_snippets


def classify(case: Case, registry: Registry) -> Classification:
    paper = Paper(
        bibcode=case.id, title=case.title, abstract=case.abstract, body=case.body,
        acknowledgments=case.acknowledgments,
    )  # fmt: skip
    telescope = registry.get(case.telescope)
    snippets = find_snippets(paper, telescope)
    return classify_rules(
        Pair(paper=paper, telescope=case.telescope), snippets, telescope, registry
    )


def labels(result: Classification) -> str:
    assert result.labels is not None
    return "+".join(label.value for label in result.labels.positives)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_cause(case: Case, registry: Registry) -> None:
    result = classify(case, registry)
    assert labels(result) == case.expected, result.reason


def test_every_cause_has_cases_of_each_side() -> None:
    for cause in (OTHERS, SOFTWARE, TRAPS):
        expected = {c.expected for c in CASES if c.cause == cause}
        assert len(expected) >= 2, cause  # not only one answer per cause


@pytest.mark.parametrize("cases", [FRESH_CASES, BLIND_CASES], ids=["fresh", "blind"])
def test_later_batches_floor(cases: list[Case], registry: Registry) -> None:
    right = [c.id for c in cases if labels(classify(c, registry)) == c.expected]
    assert len(right) >= 0.9 * len(cases), sorted({c.id for c in cases} - set(right))


def test_own_use_sentences_are_the_evidence(registry: Registry) -> None:
    case = next(c for c in CASES if c.id == "first-person-own-data")
    result = classify(case, registry)
    assert result.evidence and "We obtained six ACS/WFC pointings" in result.evidence[0].quote
    assert result.confidence.science >= 0.8


def test_cited_use_is_counted_in_the_reason(registry: Registry) -> None:
    case = next(c for c in CASES if c.id == "cited-observed-by")
    result = classify(case, registry)
    assert "1 about others' data (citations)" in result.reason and result.confidence.science < 0.5

"""The evidence budget: which sentences of a pair's snippets go into the prompt."""

from __future__ import annotations

import random

import pytest
from papergen import generate_papers

from amc.domain.models import Paper
from amc.registry import Registry
from amc.snippets import find_snippets
from amc.snippets.budget import (
    MAX_SENTENCE_CHARS,
    NEAR_DUPLICATE,
    _distances,
    _Seen,
    _with_hit,
    _words,
    approx_tokens,
    budget_sentences,
    evidence_patterns,
)
from amc.snippets.ranking import rank_snippets

FILLER = " ".join(f"Paragraph filler sentence number {i} has nothing to say." for i in range(8))


def chosen(paper: Paper, registry: Registry, budget: int, telescope: str = "HST") -> list:
    tel = registry.get(telescope)
    ranked = rank_snippets(find_snippets(paper, tel), tel, registry.cues)
    return budget_sentences(paper, ranked, budget, evidence_patterns(tel, registry.cues))


def test_sentences_fit_the_budget_keep_offsets_and_document_order(registry) -> None:
    [paper] = [Paper(**p.fields()) for p in generate_papers(1, seed=3)]
    telescope = next(iter(generate_papers(1, seed=3)[0].roles))
    for budget in (60, 200, 400):
        sentences = chosen(paper, registry, budget, telescope)
        assert sum(approx_tokens(s.text) for s in sentences) <= budget
        assert all(paper.text(s.field)[s.start : s.end] == s.text for s in sentences)
        assert [s.key for s in sentences] == sorted(s.key for s in sentences)


def test_title_leads_then_cue_sentences_before_plain_hits_and_context(registry) -> None:
    body = " ".join(
        [
            "Earlier HST imaging of nearby clusters found similar structures.",  # hit, no cue
            FILLER,
            "We observed the cluster with HST/WFC3 in program GO 12345.",  # hit and cue
            "The exposures were dithered to remove cosmic rays.",  # context
        ]
    )
    paper = Paper(bibcode="B", title="Cluster structure", body=body)
    [title, *rest] = chosen(paper, registry, 30)
    assert title.field == "title" and title.text == "Cluster structure"
    assert [s.text[:20] for s in rest] == ["We observed the clus"]  # the budget's best use
    wider = [s.text[:20] for s in chosen(paper, registry, 60)]
    assert "Earlier HST imaging " in wider and "The exposures were d" not in wider


def test_repeated_and_nearly_repeated_sentences_are_sent_once(registry) -> None:
    sentence = "We observed the galaxy with the Hubble Space Telescope for twelve orbits."
    near = "We observed the galaxy with the Hubble Space Telescope for 12 orbits."
    paper = Paper(
        bibcode="B", abstract=sentence, body=f"{FILLER} {near} {FILLER}", acknowledgments=sentence
    )
    texts = [s.text for s in chosen(paper, registry, 1000)]
    assert sum(t in (sentence, near) for t in texts) == 1


def test_a_trap_only_snippet_is_kept_when_the_budget_is_small(registry) -> None:
    real = [f"We observed field {i} with HST in program GO 1234{i}." for i in range(6)]
    body = f" {FILLER} ".join([*real, "We adopt a Hubble constant of 70 km/s/Mpc."])
    sentences = chosen(Paper(bibcode="B", body=body), registry, 50)
    assert any("Hubble constant" in s.text for s in sentences)
    assert sum("We observed" in s.text for s in sentences) >= 2


def test_a_run_on_sentence_is_cut_around_its_hit(registry) -> None:
    table = " ".join(f"row{i} 12.3 45.6" for i in range(150))
    body = f"{table} observed with HST/STIS in 2019 {table}."
    sentences = chosen(Paper(bibcode="B", body=body), registry, 1000)
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    [hit] = [s for s in sentences if "HST/STIS" in s.text]
    assert body[hit.start : hit.end] == hit.text and not hit.text[0].isspace()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_observations_are_always_sent_at_the_default_budget(registry, seed) -> None:
    """On paper-sized synthetic papers, the sentence that says the authors observed with the
    telescope (the planted science evidence) is among the ~400 tokens sent."""
    for generated in generate_papers(30, seed=seed):
        paper = Paper(**generated.fields())
        for telescope, role in generated.roles.items():
            if role != "science":
                continue
            texts = [s.text for s in chosen(paper, registry, 400, telescope)]
            assert any(t.startswith("We observed the target with") for t in texts), paper.bibcode


def test_near_repeats_are_found_as_by_comparing_every_pair() -> None:
    """The repeat check skips sentences whose word count rules out the overlap: the same
    answers as Jaccard against every chosen sentence."""
    rng = random.Random(2)
    vocabulary = [f"w{i}" for i in range(40)]
    seen, chosen_sets = _Seen(), []
    repeats = 0
    for _ in range(600):
        words = rng.sample(vocabulary, rng.randint(1, 20))
        if chosen_sets and rng.random() < 0.5:  # a chosen sentence with a word or two changed
            words = list(rng.choice(chosen_sets))
            for _ in range(rng.randint(0, 2)):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            words = list(dict.fromkeys(words))
        text = " ".join(words)
        distinct = frozenset(words)
        brute = " ".join(words) in {" ".join(c) for c in chosen_sets} or (
            len(distinct) >= 6
            and any(len(distinct & c) / len(distinct | c) >= NEAR_DUPLICATE
                    for c in map(frozenset, chosen_sets) if len(c) >= 6)
        )  # fmt: skip
        assert seen.repeats(_words(text)) == brute
        repeats += brute
        if not brute and rng.random() < 0.5:
            seen.add(_words(text))
            chosen_sets.append(words)
    assert 50 < repeats < 550


@pytest.mark.parametrize("seed", range(5))
def test_ring_distances_and_hit_sentences_are_those_of_the_plain_definitions(seed: int) -> None:
    """The rings' linear passes against the definitions: a sentence's distance is how far
    the nearest hit sentence is; a hit sentence is one holding a hit's start."""
    rng = random.Random(seed)
    for _ in range(200):
        n = rng.randint(1, 12)
        marked = sorted(rng.sample(range(n), rng.randint(1, n)))
        assert _distances(n, marked) == [min(abs(i - j) for j in marked) for i in range(n)]
        cuts = sorted(rng.sample(range(200), 2 * n))
        spans = list(zip(cuts[::2], cuts[1::2], strict=True))
        starts = sorted(rng.randrange(200) for _ in range(rng.randint(0, 6)))
        expected = [i for i, (a, b) in enumerate(spans) if any(a <= s < b for s in starts)]
        assert _with_hit(spans, starts) == expected

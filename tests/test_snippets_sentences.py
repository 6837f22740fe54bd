"""Tests for amc.sentences: offline splitting with offsets into the original text."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import blingfire
import pytest

from amc.snippets.sentences import MAX_SENTENCE_CHARS, _text_to_sentences, sentence_spans


def texts(text: str, start: int = 0, end: int | None = None) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, start, end)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Smith et al. measured the flux of the source.",
        "The light curve is shown in Fig. 3 of the paper.",
        "The source is faint, i.e. below the detection limit.",
        "Several instruments, e.g. ACIS and HRC, were used.",
        "As Webb et al. (2019) showed in Fig. 2, e.g. for dwarfs, it works.",
    ],
)
def test_abbreviations_do_not_split(sentence: str) -> None:
    text = f"The first sentence is here. {sentence} The last sentence is here."
    assert texts(text) == ["The first sentence is here.", sentence, "The last sentence is here."]


def test_plain_sentences_split() -> None:
    text = "We observed the galaxy. The data were reduced. Results follow."
    assert texts(text) == ["We observed the galaxy.", "The data were reduced.", "Results follow."]


def test_paragraph_break_splits_without_punctuation() -> None:
    text = "Introduction\n\nThe first paragraph has no full stop\n  \n\nSecond paragraph here"
    assert texts(text) == [
        "Introduction",
        "The first paragraph has no full stop",
        "Second paragraph here",
    ]


def test_single_newline_does_not_split_a_sentence() -> None:
    text = "The spectrum was obtained with the\nHubble Space Telescope in 2019."
    assert texts(text) == [text]


def test_offsets_slice_back_to_sentences() -> None:
    text = (
        "  Leading blanks. Ångström units — “quoted” text…\n\nNext paragraph. "
        "Final one with et al. inside.  "
    )
    spans = sentence_spans(text)
    assert spans, "expected sentences"
    previous_end = 0
    for start, end in spans:
        piece = text[start:end]
        assert piece == piece.strip(), "no sentence starts or ends with white space"
        assert piece
        assert start >= previous_end, "spans are ordered and do not overlap"
        previous_end = end
    joined = "".join(text[a:b] for a, b in spans)
    assert joined.replace(" ", "") == text.replace(" ", "").replace("\n", "")


def test_sub_range_offsets_are_into_the_whole_text() -> None:
    text = "Alpha one. Beta two. Gamma three. Delta four."
    start = text.index("Beta")
    end = text.index("Delta")
    spans = sentence_spans(text, start, end)
    assert [text[a:b] for a, b in spans] == ["Beta two.", "Gamma three."]
    assert all(start <= a < b <= end for a, b in spans)


def test_long_sentence_is_capped() -> None:
    words = " ".join(f"word{i}" for i in range(5000))  # ~ 34 KB, no punctuation
    spans = sentence_spans(words)
    assert len(spans) > 1
    assert all(0 < b - a <= MAX_SENTENCE_CHARS for a, b in spans)
    # cut at white space: no word is split in two
    for a, b in spans:
        piece = words[a:b]
        assert piece == piece.strip()
        assert a == 0 or words[a - 1] == " "
        assert b == len(words) or words[b] == " "
    # nothing is lost
    assert " ".join(words[a:b] for a, b in spans) == words


def test_cap_without_any_white_space() -> None:
    blob = "x" * (3 * MAX_SENTENCE_CHARS + 10)
    spans = sentence_spans(blob)
    assert all(b - a <= MAX_SENTENCE_CHARS for a, b in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(blob)
    assert sum(b - a for a, b in spans) == len(blob)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", " \t\n \n  "])
def test_empty_or_blank_text_gives_nothing(text: str) -> None:
    assert sentence_spans(text) == []


def test_reused_buffer_splits_as_blingfire_does_from_many_threads() -> None:
    """The split reuses one output buffer per thread (blingfire's own wrapper makes a new
    ctypes array type per call, a quarter of the splitting's CPU): same sentences for
    texts of every size (the buffer grows), non-ASCII text, and threads splitting at once."""
    rng = random.Random(5)
    words = ["We observed NGC 1234.", "Smith et al. found", "it (Fig. 3).", "μm–band", "Å.", "e.g."]
    samples = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 3000))) for _ in range(60)]

    def same(text: str) -> bool:
        return _text_to_sentences(text) == blingfire.text_to_sentences(text)

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(same, samples * 3))

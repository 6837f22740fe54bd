"""Tests for amc.sentences: offline splitting with offsets into the original text."""

from __future__ import annotations

import bisect
import random
from concurrent.futures import ThreadPoolExecutor

import blingfire
import pytest

from amc.snippets import sentences as sentences_module
from amc.snippets.sentences import (
    MAX_SENTENCE_CHARS,
    _text_to_sentences,
    sentence_spans,
    sentences_near,
)


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


# -- long texts: split once, by block, wherever they are asked for ----------------------

_WORDS = ["We observed NGC 1234 with HST.", "Smith et al. found it (Fig. 3).", "The data",
          "were reduced with the pipeline;", "i.e. as usual.", "Results follow!", "Why?",
          "A long clause without any full stop at all and more words"]  # fmt: skip


def _long_text(seed: int, paragraphs: int = 60, blank_lines: bool = True) -> str:
    rng = random.Random(seed)
    sep = "\n\n" if blank_lines else "\n"
    out = []
    for _ in range(paragraphs):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 40))]
        lines = [" ".join(words[i : i + 6]) for i in range(0, len(words), 6)]
        out.append("\n".join(lines))
    return sep.join(out)


def _reference(text: str) -> list[tuple[int, int]]:
    """Every sentence, paragraph by paragraph, as the splitter finds them in one pass."""
    return sentences_module._split_range(text, 0, len(text))


@pytest.mark.parametrize("seed", range(4))
def test_a_long_text_splits_as_its_paragraphs_do(seed: int) -> None:
    text = _long_text(seed)
    assert len(text) > 2 * sentences_module.BLOCK_CHARS
    assert sentence_spans(text) == _reference(text)


@pytest.mark.parametrize("seed", range(4))
def test_ranges_of_a_long_text_are_its_sentences_cut_to_the_range(seed: int) -> None:
    text = _long_text(seed)
    full = _reference(text)
    rng = random.Random(seed)
    for _ in range(50):
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randrange(1, 5000))
        expected = []
        for s, e in full:
            s, e = max(s, a), min(e, b)
            piece = text[s:e]
            if piece.strip():
                s += len(piece) - len(piece.lstrip())
                e -= len(piece) - len(piece.rstrip())
                expected.append((s, e))
        assert sentence_spans(text, a, b) == expected
    # a range that starts and ends at sentence bounds gives those sentences whole
    assert sentence_spans(text, full[3][0], full[9][1]) == full[3:10]


@pytest.mark.parametrize("blank_lines", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_sentences_near_positions_are_the_windows_of_the_whole_split(
    seed: int, blank_lines: bool
) -> None:
    text = _long_text(seed, blank_lines=blank_lines)
    full = sentence_spans(text)
    starts = [a for a, _ in full]
    rng = random.Random(seed)
    for n in (0, 1, 3):
        positions = [rng.randrange(len(text)) for _ in range(rng.randint(1, 6))]
        expected: set[tuple[int, int]] = set()
        for pos in positions:
            k = max(0, bisect.bisect_right(starts, pos) - 1)
            expected.update(full[max(0, k - n) : k + n + 1])
        assert sentences_near(text, positions, n) == sorted(expected)
    # the first and last sentences: the window stops at the text's ends
    assert sentences_near(text, [0], 2) == full[:3]
    assert sentences_near(text, [len(text) - 1], 2) == full[-3:]


def test_short_texts_give_the_same_windows() -> None:
    text = "One here. Two here. Three here. Four here. Five here."
    full = sentence_spans(text)
    assert sentences_near(text, [text.index("Three")], 1) == full[1:4]
    assert sentences_near(text, [0, len(text) - 1], 0) == [full[0], full[-1]]


def test_a_pdf_paragraph_without_blank_lines_is_split_in_blocks_at_line_ends() -> None:
    """PDF text often has no blank line for pages on end: the index cuts it at line ends
    after a full stop, so sentences near a hit cost a block, not the whole paper, and the
    sentences are those of splitting it in one piece."""
    text = _long_text(7, paragraphs=400, blank_lines=False)
    assert "\n\n" not in text and len(text) > 20 * sentences_module.BLOCK_CHARS
    index = sentences_module._Index(text)
    assert len(index.blocks) > 10
    assert all(b - a <= sentences_module.BLOCK_CHARS for a, b in index.blocks)
    assert all(text[b - 2 : b].strip() in {".", "!", "?", ";", ":"} or text[b - 1] == "\n"
               for _, b in index.blocks[:-1])  # fmt: skip
    whole = set(_reference(text))
    by_blocks = [s for i in range(len(index.blocks)) for s in index.block(i)[0]]
    assert len(whole & set(by_blocks)) >= 0.97 * len(whole)
    fresh = sentences_module._Index(text)
    assert len(fresh.near(len(text) // 2, 3, 3)) == 7
    assert len(fresh._split) <= 3, "only the blocks around the position are split"


def test_the_indexes_are_kept_for_the_texts_in_use() -> None:
    text = _long_text(11)
    first = sentences_module._index(text)
    assert sentences_module._index("".join(list(text))) is first  # the same paper again

"""Tests for amc.domain.memo: what was computed from a text, kept while it is in use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from amc.domain.memo import TextMemo


def test_a_value_is_computed_once_per_text_and_key() -> None:
    memo: TextMemo[int] = TextMemo(max_chars=1000)
    calls: list[str] = []

    def compute(text: str, key: str) -> int:
        calls.append(f"{text}/{key}")
        return len(text)

    text = "x" * 100
    for _ in range(3):
        assert memo.get(text, "a", lambda: compute(text, "a")) == 100
    memo.get(text, "b", lambda: compute(text, "b"))
    # an equal text made anew (the same paper read again) finds the value too
    assert memo.get("".join(["x"] * 100), "a", lambda: compute(text, "a")) == 100
    assert calls == [f"{text}/a", f"{text}/b"]


def test_the_texts_seen_last_are_kept_within_the_character_bound() -> None:
    memo: TextMemo[str] = TextMemo(max_chars=250)
    texts = [str(i) * 100 for i in range(5)]
    for text in texts:
        memo.get(text, None, lambda: "v")
    assert len(memo) == 2  # 2 x 100 characters fit in 250, a third does not
    recomputed: list[str] = []
    memo.get(texts[4], None, lambda: recomputed.append("4") or "v")
    memo.get(texts[0], None, lambda: recomputed.append("0") or "v")
    assert recomputed == ["0"]
    # a text longer than the bound is still returned (and is the only one kept)
    assert memo.get("y" * 1000, None, lambda: "big") == "big"
    assert len(memo) == 1


def test_threads_sharing_a_memo_get_the_same_values() -> None:
    memo: TextMemo[int] = TextMemo(max_chars=5_000)
    texts = [f"paper {i} " * 50 for i in range(40)]

    def lookup(i: int) -> bool:
        text = texts[i % len(texts)]
        return memo.get(text, i % 3, lambda: hash((text, i % 3))) == hash((text, i % 3))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lookup, range(4000)))
    assert memo._chars == sum(len(t) for t, _ in memo._values)  # accounting stays exact

"""Private: what the trained tier reads from a pair (text, rule features, telescope).

Kept apart from ``amc.classify.trained.model`` so the model code stays about fitting and
predicting. The text is the pair's best snippets joined (not the whole
paper): it is what the rules and the LLM read too, it keeps the vocabulary
about the telescope in question (a paper with HST science and a JWST
mention gives two different texts), and it bounds memory on long papers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer

from amc.classify.rules import RuleFeatures, rule_features
from amc.domain.models import NONE_TELESCOPE, Pair, Snippet
from amc.registry import Registry
from amc.settings import Settings
from amc.snippets import pair_snippets
from amc.snippets.ranking import FIELD_WEIGHT

#: characters of snippet text kept per pair (ranked snippets first)
MAX_TEXT_CHARS = 6000
#: marker tokens so the text model sees what kind of hits a snippet had
_KIND_TOKEN = {
    "real": "",
    "false_positive": "zzfalsepositive",
    "grant": "zzgrant",
    "mixed": "zzmixed",
}


@dataclass(frozen=True)
class PairInputs:
    """Model inputs of one pair."""

    telescope: str
    text: str
    rules: dict[str, float]


def pair_inputs(pair: Pair, registry: Registry, settings: Settings) -> PairInputs:
    """Text, rule features and telescope of one pair (``NONE`` pairs have no snippets)."""
    if pair.telescope == NONE_TELESCOPE or pair.telescope not in registry:
        return PairInputs(pair.telescope, "zznosnippet", RuleFeatures().as_dict())
    snippets = pair_snippets(pair, registry, settings)
    feats = rule_features(pair, snippets, registry.get(pair.telescope), registry)
    return PairInputs(pair.telescope, snippet_text(snippets), feats.as_dict())


def snippet_text(snippets: Sequence[Snippet], max_chars: int = MAX_TEXT_CHARS) -> str:
    """The snippets with real hits first (by hits and field), joined and capped."""
    if not snippets:
        return "zznosnippet"
    ranked = sorted(snippets, key=_rank_key, reverse=True)
    parts = [f"{_KIND_TOKEN[s.kind]} {s.text}".strip() for s in ranked]
    return " \n".join(parts)[:max_chars]


def _rank_key(snippet: Snippet) -> float:
    return len(snippet.real_hits) * FIELD_WEIGHT.get(snippet.field, 1.0) + (
        100.0 if snippet.real_hits else 0.0
    )


class FeatureBuilder:
    """TF-IDF of the snippet text + scaled rule features + telescope one-hot, as one matrix.

    Fitted per training set (inside each cross-validation fold, so out-of-fold
    probabilities never see their own row's vocabulary weights).
    """

    def __init__(self, max_features: int = 50_000) -> None:
        self.text = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            max_features=max_features,
            sublinear_tf=True,
            lowercase=True,
            dtype=np.float32,
        )
        self.dicts = DictVectorizer(sparse=True)

    def fit_transform(self, inputs: Sequence[PairInputs]) -> sparse.csr_matrix:
        words = self.text.fit_transform([i.text for i in inputs])
        other = self.dicts.fit_transform([_dense_features(i) for i in inputs])
        return sparse.hstack([words, other], format="csr")

    def transform(self, inputs: Sequence[PairInputs]) -> sparse.csr_matrix:
        words = self.text.transform([i.text for i in inputs])
        other = self.dicts.transform([_dense_features(i) for i in inputs])
        return sparse.hstack([words, other], format="csr")


def _dense_features(inputs: PairInputs) -> dict[str, float | str]:
    """log1p-scaled counts (counts are heavy-tailed) plus the telescope as a category."""
    out: dict[str, float | str] = {
        f"rule_{k}": float(np.log1p(max(v, 0.0))) for k, v in inputs.rules.items()
    }
    out["telescope"] = inputs.telescope
    return out

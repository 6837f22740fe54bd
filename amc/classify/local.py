"""The local tiers: rules and the trained model, decided in this process with no call.

The trained tier (``amc.classify.trained``) needs scikit-learn, which takes seconds to
import, so it is loaded only when a trained model is configured.
"""

from __future__ import annotations

from collections.abc import Sequence

from amc.classify.rules import classify_with_rules
from amc.domain.models import Classification, Pair, Snippet
from amc.registry import Registry
from amc.settings import Settings


def classify_local(
    pairs: Sequence[Pair],
    registry: Registry,
    settings: Settings,
    snippets: Sequence[list[Snippet] | None] | None = None,
    trained: bool | None = None,
) -> list[Classification]:
    """One classification per pair with the trained model (``trained``, default: when
    ``settings.model_path`` is set) or else the rules; ``snippets`` when known already."""
    if trained if trained is not None else settings.model_path is not None:
        from amc.classify.trained import classify_pairs_trained  # scikit-learn: seconds

        return classify_pairs_trained(pairs, registry, settings)
    known = snippets if snippets is not None else [None] * len(pairs)
    return [
        classify_with_rules(p, registry, settings, s) for p, s in zip(pairs, known, strict=True)
    ]

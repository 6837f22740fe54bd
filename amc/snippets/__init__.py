"""Snippets: find where a paper names a telescope and cut sentence windows around the hits.

``hits`` (registry terms found in the text, traps and grants marked), ``sentences``
(offline splitting with offsets), ``windows`` (snippets: +/- N sentences around hits),
``ranking`` (which snippets matter most for a pair).
"""

from __future__ import annotations

from amc.domain.models import NONE_TELESCOPE, Pair, Snippet
from amc.registry import Registry
from amc.settings import Settings
from amc.snippets.hits import candidate_telescopes, find_hits, search_fields
from amc.snippets.windows import find_snippets

__all__ = ["candidate_telescopes", "find_hits", "find_snippets", "pair_snippets", "search_fields"]


def pair_snippets(pair: Pair, registry: Registry, settings: Settings) -> list[Snippet]:
    """The snippets of a pair (none for ``NONE`` pairs)."""
    if pair.telescope == NONE_TELESCOPE:
        return []
    telescope = registry.get(pair.telescope)
    return find_snippets(
        pair.paper, telescope, settings.window_sentences, settings.include_references
    )

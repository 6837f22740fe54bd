"""Every tier attaches the links of the pairs it labels science or instrumentation."""

from __future__ import annotations

from llm_server import ScriptedLLMServer

from amc.classify.dispatch import classify_pairs
from amc.classify.llm import LLMSession, classify_pairs_llm_sync
from amc.classify.trained import relabelled_links
from amc.domain.models import Classification, Pair, Paper, TelescopeLabels
from amc.links import pair_links
from amc.registry import Registry, load_registry
from amc.settings import load_settings
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

REGISTRY = load_registry()
SCIENCE = (
    "We observed NGC 1234 with the Hubble Space Telescope using WFC3 in program GO 12345. "
    "The images were reduced with calwf3."
)
MENTION = "Earlier HST/ACS imaging of the cluster (Smith et al. 2001) showed a similar trend."


def _pair(body: str, telescope: str = "HST", bibcode: str = "2024L...1A") -> Pair:
    return Pair(paper=Paper(bibcode=bibcode, body=body), telescope=telescope)


def test_the_rules_tier_links_science_pairs_only() -> None:
    settings = load_settings(environ={})
    science, mention = classify_pairs(
        [_pair(SCIENCE), _pair(MENTION, bibcode="B")], REGISTRY, settings
    )
    assert science.labels is not None and science.labels.science
    assert [(k.kind, k.value, k.source) for k in science.links] == [
        ("instrument", "WFC3", "rules"),
        ("programme", "HST:12345", "rules"),
    ]
    assert mention.labels is not None and mention.labels.mention and mention.links == []


def test_instrument_names_found_in_the_snippets_are_those_of_the_whole_text() -> None:
    """The rules tier narrows the instrument search to the pair's snippets (faster): every
    registry instrument name is a hit with a window of its own, so nothing is lost."""
    body = (
        "We observed NGC 1234 with HST. "
        + "Unrelated sentence about dust. " * 40
        + "The Advanced Camera for Surveys images in F814W were drizzled. "
        + "Unrelated sentence about gas. " * 40
        + "We obtained UV spectra with the Cosmic Origins Spectrograph (COS) in 2019."
    )
    pair = _pair(body)
    snippets = find_snippets(pair.paper, REGISTRY.get("HST"))
    science = TelescopeLabels(science=True)
    narrowed = pair_links(pair, science, REGISTRY, snippets)
    assert narrowed == pair_links(pair, science, REGISTRY)
    assert [k.value for k in narrowed] == ["ACS", "COS"]


def test_the_trained_tier_keeps_or_drops_the_rules_links_with_its_own_labels() -> None:
    pair = _pair(SCIENCE)
    rules = classify_pairs([pair], REGISTRY, load_settings(environ={}))[0]
    science, mention = TelescopeLabels(science=True), TelescopeLabels(mention=True)
    assert relabelled_links(rules, pair, science, REGISTRY) == rules.links  # not extracted again
    assert relabelled_links(rules, pair, mention, REGISTRY) == []
    unsure = rules.model_copy(update={"labels": mention, "links": []})
    assert relabelled_links(unsure, pair, science, REGISTRY) == rules.links


def test_the_llm_tier_keeps_the_rules_links_for_its_science_verdicts(
    server: ScriptedLLMServer, registry: Registry
) -> None:
    config = LLMSettings(
        model="openai/local",
        api_base=server.api_base,
        cache_path=None,
        prices={"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}},
        backoff_s=0.01,
        timeout_s=5,
    )
    # the scripted server answers science when a snippet says "we observed", else mention
    items = [
        (p, find_snippets(p.paper, registry.get("HST")))
        for p in (_pair(SCIENCE, bibcode="A"), _pair(MENTION, bibcode="B"))
    ]
    results: list[Classification] = classify_pairs_llm_sync(items, registry, config)
    by_label = {r.labels.primary: r for r in results if r.labels is not None}
    assert {(k.kind, k.value) for k in by_label["science"].links} == {
        ("instrument", "WFC3"),
        ("programme", "HST:12345"),
    }
    assert by_label["science"].usage.calls == 1  # no extra call for the links
    assert by_label["mention"].links == []


def test_an_llm_session_compiles_the_link_patterns_before_its_loop_needs_them() -> None:
    """Compiling them takes a moment; done on the event loop by the first science verdict it
    held back every other request of the run."""
    registry = load_registry()  # a fresh registry: nothing compiled yet
    assert "link_patterns" not in registry.get("HST").__dict__
    config = LLMSettings(model="openai/local", api_base="http://127.0.0.1:9/v1", cache_path=None)
    with LLMSession(registry, config):
        assert all("link_patterns" in t.__dict__ for t in registry)
        assert "compiled" in registry.link_context.__dict__

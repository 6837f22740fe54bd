"""What a paper says it is about, from its title and abstract (or, without an abstract,
the opening of its body): an instrument, its software or its data quality, or new
astrophysical results. Also where its worked examples are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from amc.classify.rules.sentences import count
from amc.domain.models import Paper, Snippet
from amc.registry import Cues, Telescope
from amc.registry.patterns import Matcher

#: characters of the body read as the abstract when a paper has none (JOSS papers,
#: plain text where no abstract was found)
LEAD_CHARS = 1500
#: a heading line: Markdown, LaTeX, "§", numbered, or a short line after a blank one
_HEADING_LINE = re.compile(
    r"[ \t]*(?:#{1,6}[ \t]*|\\(?:sub)*section\*?\{|§[ \t]*|\d+(?:\.\d+)*\.?[ \t]+)?"
    r"(?P<name>[A-Z][^\n.]{0,70}?)[ \t]*[:}]?[ \t]*(?=\n)"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
#: framings of the last papers seen (a paper is classified for several telescopes)
_CACHE_SIZE = 256


@dataclass(frozen=True)
class Framing:
    """Cue counts of the paper's title (counted twice) and abstract or opening."""

    instrumentation: int = 0
    results: int = 0
    #: forecasts, simulations, plans ("future" cues)
    forecast: int = 0

    @property
    def software_paper(self) -> bool:
        """The paper presents an instrument, software or a data-quality study (not new
        results, not a forecast)."""
        return self.instrumentation >= 2 and self.instrumentation > self.results + self.forecast


def paper_framing(paper: Paper, cues: Cues, telescope: Telescope) -> Framing:
    """The framing of ``paper``. The telescope's own pipeline and calibration words count
    as instrumentation up front too ("reduces the ima files of calwf3"), but not in a
    sentence that says data were used ("we fit the PDCSAP flux", "the images were
    drizzled with AstroDrizzle"): that is data use."""
    front = paper.abstract or body_lead(paper.body)
    generic, about = _generic_framing(paper.title, front, cues)
    own = (telescope.context.pipeline, telescope.compiled.instrumentation)
    extra = sum(_weighted(p, paper.title, about) for p in own)
    return Framing(generic.instrumentation + extra, generic.results, generic.forecast)


_framings: dict[tuple[int, str, str], tuple[Framing, str]] = {}


def _generic_framing(title: str, front: str, cues: Cues) -> tuple[Framing, str]:
    """The telescope-independent counts and the front without data-use sentences, cached:
    the same paper is framed once for all its telescopes."""
    key = (id(cues), title, front)
    if key not in _framings:
        compiled = cues.compiled
        uses = [p for p in (compiled["own_data"], _REDUCED) if p is not None]
        about = " ".join(s for s in _SENTENCE.split(front) if not any(p.search(s) for p in uses))
        framing = Framing(
            instrumentation=_weighted(compiled["instrumentation"], title, about),
            results=_weighted(compiled["results"], title, front),
            forecast=_weighted(compiled["future"], title, front),
        )
        if len(_framings) >= _CACHE_SIZE:
            _framings.pop(next(iter(_framings)))
        _framings[key] = (framing, about)
    return _framings[key]


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\$(])")
#: a past passive about data: "the images were drizzled", "data were reduced with"
_REDUCED = re.compile(
    r"\b(?:data|images?|spectra|observations?|exposures?|frames|light[\s~]*curves?|photometry)"
    r"[\s~]+(?:were|was|have[\s~]+been|had[\s~]+been)[\s~]+\w+ed\b",
    re.IGNORECASE,
)


def body_lead(body: str) -> str:
    """The opening of a body with no abstract: its first section (a JOSS "Summary"), at
    most ``LEAD_CHARS`` characters."""
    lead = body[:LEAD_CHARS]
    headings = _headings(lead)
    if len(headings) >= 2 and headings[0][0] == 0:
        return lead[: headings[1][0]]
    return lead


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every heading line: the first line, or a line after a blank
    one, that reads as a heading."""
    starts = [0, *(m.end() for m in _BLANK_LINE.finditer(text))]
    out = []
    for start in starts:
        m = _HEADING_LINE.match(text, start)
        if m:
            out.append((start, m.end(), m.group("name").strip()))
    return out


def _weighted(pattern: Matcher | None, title: str, front: str) -> int:
    return 2 * count(pattern, title) + count(pattern, front)


def named_up_front(paper: Paper, snippets: list[Snippet]) -> bool:
    """A real, non-package hit in the title or abstract (or the opening of a body when
    the paper has no abstract)."""
    lead = 0 if paper.abstract else len(body_lead(paper.body))
    for snippet in snippets:
        for hit in snippet.real_hits:
            if hit.package:
                continue
            if hit.field in ("title", "abstract"):
                return True
            if not paper.abstract and hit.field == "body" and hit.start < lead:
                return True
    return False


def example_sections(paper: Paper, cues: Cues) -> dict[str, list[tuple[int, int]]]:
    """Spans of the body under a worked-example heading ("Example", "Usage", "Tutorial"),
    each up to the next heading."""
    names = cues.compiled["example_sections"]
    if names is None or not paper.body:
        return {}
    text = paper.body
    headings = _headings(text)
    spans = []
    for i, (_, end, name) in enumerate(headings):
        if names.fullmatch(name):
            stop = headings[i + 1][0] if i + 1 < len(headings) else len(text)
            spans.append((end, stop))
    return {"body": spans} if spans else {}

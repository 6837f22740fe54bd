"""What a paper says it is about, from its title and abstract (or, without an abstract,
the opening of its body): an instrument, its software or its data quality, or new
astrophysical results. Also where its worked examples are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from amc.domain.models import Paper, Snippet
from amc.registry import Cues, Telescope

#: characters of the body read as the abstract when a paper has none (JOSS papers,
#: plain text where no abstract was found)
LEAD_CHARS = 1500
#: a heading line: Markdown, LaTeX, "§", numbered, or a short line after a blank one
_HEADING = re.compile(
    r"(?:^|\n[ \t]*\n)[ \t]*(?:#{1,6}[ \t]*|\\(?:sub)*section\*?\{|§[ \t]*|\d+(?:\.\d+)*\.?[ \t]+)?"
    r"(?P<name>[A-Z][^\n.]{0,70}?)[ \t]*[:}]?[ \t]*(?=\n)"
)


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
    compiled = cues.compiled
    front = paper.abstract or body_lead(paper.body)
    uses = [p for p in (compiled["own_data"], _REDUCED) if p is not None]
    about = " ".join(s for s in _SENTENCE.split(front) if not any(p.search(s) for p in uses))
    patterns = (compiled["instrumentation"], telescope.context.pipeline,
                telescope.compiled.instrumentation)  # fmt: skip
    return Framing(
        instrumentation=sum(_weighted(p, paper.title, about) for p in patterns),
        results=_weighted(compiled["results"], paper.title, front),
        forecast=_weighted(compiled["future"], paper.title, front),
    )


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
    headings = [m for m in _HEADING.finditer(lead) if m.start("name") > 0]
    first_text = next((m for m in headings if m.start() > 0), None)
    if first_text is not None and headings and headings[0].start() == 0:
        return lead[: first_text.start()]
    return lead


def _weighted(pattern: re.Pattern[str] | None, title: str, front: str) -> int:
    if pattern is None:
        return 0
    return 2 * len(pattern.findall(title)) + len(pattern.findall(front))


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
    headings = list(_HEADING.finditer(text))
    spans = []
    for i, heading in enumerate(headings):
        if names.fullmatch(heading.group("name").strip()):
            end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
            spans.append((heading.end(), end))
    return {"body": spans} if spans else {}

"""Find a paper's title, abstract, body, acknowledgments and references in plain text.

A ``.txt`` paper is one string: a text export of a PDF or an ADS record, a
Markdown (JOSS) or LaTeX source, or a librarian's paste. What the tiers need
from it is the structure: the title and abstract say what a paper is about (an
instrument paper is recognised there), the acknowledgments say whose data it
used, and a reference list must not count as mentions. Recognised, in order:

- LaTeX leftovers: ``\\title{...}``, ``\\begin{abstract}...\\end{abstract}``,
  ``\\section*{Acknowledgments}``, ``\\begin{acknowledgements}``, ``\\bibliography``;
- Markdown: a YAML front matter ``title:``, ``# Title``, ``# Abstract``/``# Summary``
  (JOSS papers open with a Summary, their abstract), ``# Acknowledgements``,
  ``# References``;
- plain headings on their own line ("Abstract", "ABSTRACT", "A B S T R A C T",
  "Abstract:", "1. Introduction", "Acknowledgments", "References"), and inline
  ones ("Abstract. We present ...", "Abstract—We present ...");
- no abstract heading: the first paragraph of prose before the first section
  heading, when it reads like an abstract (long enough, not an author list,
  affiliation or journal header).

The title is the first line that looks like one (not a journal header, date,
e-mail, report number or author list), before the abstract. What is not found stays
in the body; only the headings and a Markdown front matter are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: a title longer than this is not a title
MAX_TITLE_CHARS = 300
#: an unheaded first paragraph shorter than this is not taken as the abstract
MIN_ABSTRACT_CHARS = 300
MAX_ABSTRACT_CHARS = 5000
#: how far into the text a title or an abstract may start
FRONT_CHARS = 6000

_MARK = r"[ \t]*(?:#{1,6}[ \t]*|\\(?:sub)*section\*?\{[ \t]*|§[ \t]*|\{)?"
_NUM = r"(?:(?:\d+(?:\.\d+)*|[IVX]+|[A-Z])\.?[ \t]+)?"
_HEADING_END = r"[ \t]*\}?[ \t]*(?:$|[.:—–\-][ \t]*"
_ABSTRACT = re.compile(
    # "Abstract" alone on its line, or before the text: "Abstract. We", "ABSTRACT We";
    # "Summary" (a JOSS paper's abstract) only alone or with punctuation
    rf"^{_MARK}(?:(?:abstract|a[ \t]b[ \t]s[ \t]t[ \t]r[ \t]a[ \t]c[ \t]t){_HEADING_END}"
    rf"|[ \t]+(?=(?-i:[A-Z])))|summary{_HEADING_END}))",
    re.IGNORECASE | re.MULTILINE,
)
_LATEX_ABSTRACT = re.compile(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", re.DOTALL)
_ACK = re.compile(
    rf"^{_MARK}{_NUM}acknowledge?ments?[ \t]*\}}?[ \t]*[.:]?[ \t]*$"
    r"|\\begin\{acknowledge?ments?\}",
    re.IGNORECASE | re.MULTILINE,
)
_ACK_END = re.compile(r"\\end\{acknowledge?ments?\}", re.IGNORECASE)
_REFERENCES = re.compile(
    rf"^{_MARK}{_NUM}(?:references(?:[ \t]+and[ \t]+notes|[ \t]+cited)?|bibliography"
    r"|literature[ \t]+cited)[ \t]*\}?[ \t]*[.:]?[ \t]*$"
    r"|\\bibliography\{|\\begin\{thebibliography\}",
    re.IGNORECASE | re.MULTILINE,
)
_APPENDIX = re.compile(rf"^{_MARK}{_NUM}(?:appendix|appendices)\b", re.IGNORECASE | re.MULTILINE)
#: the start of the main text: an introduction, keywords, or any numbered/marked heading
_SECTION = re.compile(
    rf"^{_MARK}{_NUM}(?:introduction|background|motivation|statement[ \t]+of[ \t]+need|"
    r"key[ \t]?words|subject[ \t]+headings)\b|^[ \t]*(?:#{1,6}|§|\\(?:sub)*section)",
    re.IGNORECASE | re.MULTILINE,
)
_LATEX_TITLE = re.compile(r"\\title(?:\[[^\]]*\])?\{((?:[^{}]|\{[^{}]*\})*)\}", re.DOTALL)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*\n", re.DOTALL)
_YAML_TITLE = re.compile(r"^title:[ \t]*['\"]?(.+?)['\"]?[ \t]*$", re.MULTILINE)
_NOT_TITLE = re.compile(
    r"^(?:draft[ \t]+version|preprint|accepted|received|revised|typeset|submitted|arxiv|doi|"
    r"mnras|astronomy[ \t]*&[ \t]*astrophysics|the[ \t]+astrophysical[ \t]+journal|"
    r"research[ \t]+notes|journal|vol\.|volume|©|copyright|page[ \t]+\d|\d+[ \t]*$|"
    r"\d{1,4}[ \t./-]+\d|\\|%|\[|\{|<|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
#: a report-series header ("Instrument Science Report WFC3 2022-07"), not a title
_SERIAL = re.compile(
    r"\b(?:report|memo(?:randum)?|technical[ \t]+note|newsletter|bulletin|proceedings|issue)\b"
    r".*\d|\b\d{2,4}[-–/]\d{1,4}[ \t]*$",
    re.IGNORECASE,
)
_AFFILIATION = re.compile(
    r"\b(?:universit|institut|department|observator|laborator|school|college|center|centre|"
    r"avenue|street|road|campus|faculty)\w*\b",
    re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?(?:\s|$)")


@dataclass(frozen=True)
class TextParts:
    """The fields of a paper found in plain text (empty when not found)."""

    title: str = ""
    abstract: str = ""
    body: str = ""
    acknowledgments: str = ""
    references: str = ""

    def fields(self) -> dict[str, str]:
        """The paper's searched text fields (the reference list is kept apart)."""
        return {"title": self.title, "abstract": self.abstract, "body": self.body,
                "acknowledgments": self.acknowledgments}  # fmt: skip


def split_text(text: str) -> TextParts:
    """The title, abstract, body, acknowledgments and references of a plain-text paper."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    title, text = _front_matter_title(text)
    if not title and not _PARAGRAPH.search(text.strip()):
        return TextParts(body=text)  # one paragraph: nothing to tell apart
    text, references = _cut(text, _REFERENCES)
    text, acknowledgments = _acknowledgments(text)
    abstract, before, body = _abstract(text)
    if not title:
        title, before = _title(before)
    if not abstract and not title:
        title, body = _title(body)
        abstract, _, body = _abstract(body)
    body = "\n\n".join(p for p in (before.strip(), body.strip()) if p)
    return TextParts(_clean_title(title), abstract.strip(), body, acknowledgments, references)


def _front_matter_title(text: str) -> tuple[str, str]:
    """A YAML front matter's or a LaTeX ``\\title{}``'s title (the front matter removed)."""
    front = _FRONT_MATTER.match(text)
    if front:
        found = _YAML_TITLE.search(front.group(1))
        if found:
            return found.group(1), text[front.end() :]
    latex = _LATEX_TITLE.search(text[:FRONT_CHARS])
    if latex:
        return latex.group(1), text[: latex.start()] + text[latex.end() :]
    return "", text


def _cut(text: str, heading: re.Pattern[str]) -> tuple[str, str]:
    """Split at the last ``heading`` (a reference list is last); appendices after it stay."""
    found = list(heading.finditer(text))
    if not found or found[-1].start() < len(text) // 3:
        return text, ""
    start = found[-1]
    appendix = _APPENDIX.search(text, start.end())
    end = appendix.start() if appendix else len(text)
    return text[: start.start()] + text[end:], text[start.end() : end].strip()


def _acknowledgments(text: str) -> tuple[str, str]:
    """The acknowledgments section, up to its end marker or the next heading."""
    found = _ACK.search(text)
    if found is None:
        return text, ""
    rest = text[found.end() :]
    end = _ACK_END.search(rest)
    stop = end.start() if end else _next_heading(rest)
    skip = end.end() if end else stop
    return text[: found.start()] + rest[skip:], rest[:stop].strip()


def _next_heading(text: str) -> int:
    nxt = _SECTION.search(text) or _APPENDIX.search(text)
    return nxt.start() if nxt else len(text)


def _abstract(text: str) -> tuple[str, str, str]:
    """(abstract, what came before it, what follows it)."""
    latex = _LATEX_ABSTRACT.search(text[: FRONT_CHARS * 2])
    if latex:
        return latex.group(1), text[: latex.start()], text[latex.end() :]
    heading = _ABSTRACT.search(text[:FRONT_CHARS])
    if heading:
        rest = text[heading.end() :]
        end = _abstract_end(rest)
        return rest[:end], text[: heading.start()], rest[end:]
    return _unheaded_abstract(text)


def _abstract_end(rest: str) -> int:
    """Where an abstract that follows its heading ends: after its run of prose paragraphs,
    before the next heading (a first paragraph is always taken)."""
    limit = _next_heading(rest[:MAX_ABSTRACT_CHARS])
    run = _prose_run(rest, 0, limit)
    if run is not None:
        return run[1]
    first = _PARAGRAPH.search(rest, MIN_ABSTRACT_CHARS // 3, limit)
    return first.start() if first else min(limit, len(rest))


def _unheaded_abstract(text: str) -> tuple[str, str, str]:
    """The first run of prose paragraphs before the first section heading, if it reads
    like an abstract (long enough, full sentences, no author list or affiliations)."""
    section = _SECTION.search(text, 0, FRONT_CHARS)
    limit = section.start() if section else min(len(text), FRONT_CHARS)
    lead = text.lstrip()
    first_line = lead.split("\n", 1)[0]
    # a title on the first line may end in a full stop: it is no part of the abstract
    start = len(text) - len(lead) + len(first_line) if _looks_like_title(first_line) else 0
    run = _prose_run(text, start, limit, until_long_enough=True)
    if run is None:
        return "", "", text
    start, end = run
    return text[start:end].strip(), text[:start], text[end:]


def _prose_run(
    text: str, start: int, limit: int, until_long_enough: bool = False
) -> tuple[int, int] | None:
    """(start, end) of the first run of prose paragraphs in ``text[start:limit]`` holding
    at least ``MIN_ABSTRACT_CHARS`` and two sentences, or None; ``until_long_enough``: the
    run stops at the first paragraph that makes it long enough (with no heading to end
    an abstract, the body's prose would follow)."""
    breaks = [m.span() for m in _PARAGRAPH.finditer(text, start, limit)]
    bounds = list(
        zip([start, *(b for _, b in breaks)], [*(a for a, _ in breaks), limit], strict=True)
    )
    run: list[tuple[int, int]] = []
    for a, b in [*bounds, (limit, limit)]:
        if a < b and _is_prose(text[a:b].strip()):
            run.append((a, b))
            if until_long_enough and _long_enough(text[run[0][0] : b]):
                return run[0][0], b
            continue
        if run and _long_enough(text[run[0][0] : run[-1][1]]):
            return run[0][0], run[-1][1]
        run = []
    return None


def _is_prose(paragraph: str) -> bool:
    return (
        len(paragraph) >= 80
        and _SENTENCE_END.search(paragraph) is not None
        and not _EMAIL.search(paragraph)
        and len(_AFFILIATION.findall(paragraph)) < 2
        and not paragraph.startswith(("*", "-", "\\", "{", "|"))
    )


def _long_enough(run: str) -> bool:
    return MIN_ABSTRACT_CHARS <= len(run) <= MAX_ABSTRACT_CHARS and (
        len(_SENTENCE_END.findall(run)) >= 2
    )


def _title(front: str) -> tuple[str, str]:
    """The first line of ``front`` that looks like a title and stands apart (a blank line
    or the end after it; joined with the next line when the title wraps); the rest of
    ``front`` without it."""
    lines = front.split("\n")
    for i, raw in enumerate(lines[:40]):
        line = _strip_mark(raw)
        if not _looks_like_title(line):
            continue
        taken = [line]
        nxt = _strip_mark(lines[i + 1]) if i + 1 < len(lines) else ""
        if (
            nxt
            and _looks_like_title(nxt)
            and not line.endswith((".", ":"))
            and (nxt[:1].islower() or len(line) > 50)
        ):
            taken.append(nxt)
        after = lines[i + len(taken)] if i + len(taken) < len(lines) else ""
        if after.strip():
            continue  # the first line of a paragraph, not a title
        rest = "\n".join(lines[:i] + lines[i + len(taken) :])
        return " ".join(taken), rest
    return "", front


def _strip_mark(line: str) -> str:
    return re.sub(r"^[ \t]*#{1,6}[ \t]*|[ \t]*#*[ \t]*$", "", line).strip()


def _looks_like_title(line: str) -> bool:
    words = re.findall(r"[A-Za-z]{2,}", line)
    return (
        len(words) >= 2
        and len(line) <= MAX_TITLE_CHARS
        and not _NOT_TITLE.match(line)
        and not _SERIAL.search(line)
        and not _EMAIL.search(line)
        and not _AFFILIATION.search(line)
        and not line.endswith((",", ";"))
        and not _is_author_list(line)
    )


def _is_author_list(line: str) -> bool:
    """ "A. Smith, B. Jones and C. Lee": initials and commas, few lower-case words."""
    initials = len(re.findall(r"\b[A-Z]\.", line))
    lower = len(re.findall(r"\b[a-z]{4,}\b", line))
    return initials >= 2 and lower <= 1


def _clean_title(title: str) -> str:
    title = re.sub(r"\\\\|\\newline", " ", title)
    title = re.sub(r"\\[a-zA-Z]+\*?(?:\[[^\]]*\])?\{([^{}]*)\}", r"\1", title)
    return " ".join(title.replace("{", "").replace("}", "").split())

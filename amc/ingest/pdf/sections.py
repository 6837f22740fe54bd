"""Cut a PDF's paragraphs into title, abstract, body, acknowledgments and references.

Part of ``amc.ingest.pdf``. Works on the paragraphs in reading order and
recognises section headings ("Abstract", "ACKNOWLEDGEMENTS", "References",
"APPENDIX A: ..."), including inline ones ("Abstract. We present ...").
Front matter (authors, affiliations, "Draft version ...") is dropped once
an abstract or introduction heading shows where it ends, so that an
affiliation like "Space Telescope Science Institute" does not look like a
mention. Journals that print acknowledgments as an unheaded "We thank ..."
paragraph before the references (AAS) are handled too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from amc.ingest.pdf.layout import Paragraph

#: paragraphs before the references searched for an unheaded acknowledgment
IMPLICIT_ACK_WINDOW = 3

_CAPS = r"(?=[A-Z])"  # a heading starts with a capital, case-insensitive after
_NUMBER = r"(?:(?:\d+(?:\.\d+)*|[IVX]+|[A-Z])\.?\s+)?"
_ABSTRACT = re.compile(rf"^{_CAPS}(?i:abstract|a b s t r a c t)\b[.:\-\s]*", re.IGNORECASE)
_ACK = re.compile(rf"^{_NUMBER}{_CAPS}(?i:acknowledge?ments?)\b[.:\-\s]*", re.IGNORECASE)
_REFERENCES = re.compile(
    rf"^{_NUMBER}(?:references(?: and notes| cited)?|bibliography|literature cited|works cited)"
    r"\s*[.:]?$",
    re.IGNORECASE,
)
_APPENDIX = re.compile(rf"^{_NUMBER}{_CAPS}(?i:appendix|appendices)\b")
_LETTER_SECTION = re.compile(r"^[A-Z]\.?\s+[A-Z][A-Z0-9 ,:;&()\-]{3,}$")
_KEYWORDS = re.compile(
    r"^(?:key\s?words|subject headings|index terms|unified astronomy thesaurus concepts)\b",
    re.IGNORECASE,
)
_INTRO = re.compile(rf"^{_NUMBER}introduction\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+[A-Z]")
_ACK_START = re.compile(
    r"^(?:we (?:thank|acknowledge|are (?:very )?grateful|gratefully)|the authors? "
    r"(?:thanks?|acknowledges?|(?:is|are) grateful)|it is a pleasure|this (?:work|research|"
    r"paper|project) (?:is|was|has been) (?:based|supported|funded|partly|partially|made))",
    re.IGNORECASE,
)
_NOT_TITLE = re.compile(
    r"^(?:draft version|preprint|accepted|received|typeset|submitted|arxiv|doi|mnras|"
    r"astronomy & astrophysics|the astrophysical journal|research notes|journal|vol\.|©)",
    re.IGNORECASE,
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>,;]+)")
_ARXIV = re.compile(
    r"\barXiv:\s?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE
)
_ARXIV_STAMP = re.compile(r"\b(\d{4}\.\d{4,5})(?:v\d+)?\s*\[[a-z\-]+(?:\.[A-Z]{2})?\]")
_ARXIV_STEM = re.compile(r"^(\d{4}\.\d{4,5})(?:v\d+)?$")
#: a document-info title that is a file name or a code: one token, no space
#: ("ABC-012_Report_v2", "WFC3-ISR-2021-05"); a real title has words
_FILE_NAME = re.compile(r"^\S+$")


@dataclass
class Sections:
    """The fields of a paper as found in a PDF."""

    title: str = ""
    abstract: str = ""
    body: str = ""
    acknowledgments: str = ""
    references: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    bibcode: str = ""
    year: int | None = None
    #: per field, ``(offset, page)`` where the text of each page starts
    page_breaks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def split_sections(
    paras: list[Paragraph],
    body_size: float,
    metadata: dict[str, str],
    id_texts: list[str],
    name: str,
) -> Sections:
    """Assign every paragraph to a field; identifiers come from ``id_texts`` (most
    reliable first) and the file name."""
    title_at = find_title(paras, body_size)
    parts: dict[str, list[tuple[str, int]]] = {
        f: [] for f in ("abstract", "body", "ack", "references")
    }
    for where, text, page in _assign(paras, body_size, title_at):
        parts[where].append((text, page))
    fields = {"abstract": "abstract", "body": "body", "ack": "acknowledgments",
              "references": "references"}  # fmt: skip
    joined = {fields[k]: _join_pages(v) for k, v in parts.items()}
    sections = Sections(
        title=_metadata_title(metadata, paras)
        or (paras[title_at].text if title_at is not None else ""),
        abstract=joined["abstract"][0],
        body=joined["body"][0],
        acknowledgments=joined["acknowledgments"][0],
        references=joined["references"][0],
        page_breaks={name: breaks for name, (_, breaks) in joined.items() if breaks},
    )
    if sections.title and paras:
        sections.page_breaks["title"] = [(0, paras[title_at or 0].page)]
    _add_identifiers(sections, [*id_texts, _before_references(paras)], Path(name).stem)
    return sections


def _join_pages(parts: list[tuple[str, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Paragraphs joined by blank lines, and ``(offset, page)`` where each page starts."""
    breaks: list[tuple[int, int]] = []
    offset = 0
    for text, page in parts:
        if not breaks or breaks[-1][1] != page:
            breaks.append((offset, page))
        offset += len(text) + 2
    return "\n\n".join(text for text, _ in parts), breaks


def heading_kind(para: Paragraph, body_size: float) -> str | None:
    """What heading ``para`` starts with: abstract, ack, references, appendix,
    keywords, intro, heading (any other), or None for running text."""
    text = para.text
    if _ABSTRACT.match(text):
        return "abstract"
    if _ACK.match(text) and (len(para.rows) == 1 or len(text) > 40):
        return "ack"
    if len(para.rows) > 1 or len(text) > 100:
        return "keywords" if _KEYWORDS.match(text) else None
    if _REFERENCES.match(text):
        return "references"
    if _APPENDIX.match(text):
        return "appendix"
    if _KEYWORDS.match(text):
        return "keywords"
    if _INTRO.match(text):
        return "intro"
    return "heading" if _looks_like_heading(text, para.size, body_size) else None


def _looks_like_heading(text: str, size: float, body_size: float) -> bool:
    if text.endswith((".", ",")) or len(text) > 90 or not re.search("[A-Za-z]{3}", text):
        return False
    letters = [c for c in text if c.isalpha()]
    caps = sum(c.isupper() for c in letters) >= 0.8 * len(letters)
    return bool(_NUMBERED.match(text)) or caps or size >= body_size + 1.0


@dataclass(frozen=True)
class _Plan:
    """Where the parts of one paper lie, as paragraph indices."""

    content_start: int
    abstract: range
    ack: list[range]
    refs: int | None
    refs_end: int
    first_page: int


def _assign(
    paras: list[Paragraph], body_size: float, title_at: int | None
) -> list[tuple[str, str, int]]:
    """(field, text, page) for every kept paragraph, in order."""
    kinds = [heading_kind(p, body_size) for p in paras]
    refs = _last(kinds, "references")
    start, abstract = _front_matter(paras, kinds, title_at)
    plan = _Plan(
        content_start=start,
        abstract=abstract,
        ack=_ack_ranges(paras, kinds, refs if refs is not None else len(paras)),
        refs=refs,
        refs_end=_appendix_start(paras, kinds, refs),
        first_page=paras[0].page if paras else 1,
    )
    out: list[tuple[str, str, int]] = []
    for i, para in enumerate(paras):
        where = _field_of(i, para, kinds[i], plan)
        if where is None or i == title_at:
            continue
        text = para.text
        if kinds[i] == "abstract" and where == "abstract":
            text = _ABSTRACT.sub("", text, count=1)
        elif kinds[i] == "ack" and where == "ack":
            text = _ACK.sub("", text, count=1)
        if text:
            out.append((where, text, para.page))
    return out


def _field_of(i: int, para: Paragraph, kind: str | None, plan: _Plan) -> str | None:
    if i in plan.abstract:
        return "abstract"
    if para.footnote:
        # title-page footnotes are author notes: funding, fellowships
        return "ack" if para.page == plan.first_page else "body"
    if i < plan.content_start or kind == "keywords" or i == plan.refs:
        return None
    if any(i in r for r in plan.ack):
        return "ack"
    if plan.refs is not None and plan.refs < i < plan.refs_end:
        return "references"
    return "body"


def _last(kinds: list[str | None], kind: str) -> int | None:
    found = [i for i, k in enumerate(kinds) if k == kind]
    return found[-1] if found else None


def _appendix_start(paras: list[Paragraph], kinds: list[str | None], refs: int | None) -> int:
    """First appendix heading after the references (MNRAS, AAS put appendices there)."""
    if refs is None:
        return len(paras)
    for i in range(refs + 1, len(paras)):
        if kinds[i] == "appendix" or (
            kinds[i] == "heading" and _LETTER_SECTION.match(paras[i].text)
        ):
            return i
    return len(paras)


def _front_matter(
    paras: list[Paragraph], kinds: list[str | None], title_at: int | None
) -> tuple[int, range]:
    """Index where content starts and the abstract's paragraph range."""
    first_pages = [i for i, p in enumerate(paras) if p.page <= 2]
    abstract_at = next((i for i in first_pages if kinds[i] == "abstract"), None)
    if abstract_at is not None:
        return abstract_at, range(abstract_at, _abstract_end(paras, kinds, abstract_at))
    intro_at = next((i for i in first_pages if kinds[i] == "intro"), None)
    if intro_at is None:
        return 0, range(0)
    lo = (title_at or -1) + 1
    longest = max(range(lo, intro_at), key=lambda i: len(paras[i].text), default=None)
    if longest is not None and len(paras[longest].text) >= 400 and not paras[longest].footnote:
        return intro_at, range(longest, longest + 1)
    return intro_at, range(0)


def _abstract_end(paras: list[Paragraph], kinds: list[str | None], start: int) -> int:
    length = len(paras[start].text)
    for i in range(start + 1, len(paras)):
        if kinds[i] is not None or paras[i].footnote:
            return i
        if paras[i].page != paras[i - 1].page and length > 500:
            return i
        length += len(paras[i].text)
    return len(paras)


def _ack_ranges(paras: list[Paragraph], kinds: list[str | None], end: int) -> list[range]:
    """Headed acknowledgments up to the next heading; else an unheaded "We thank ..."
    paragraph among the last few before the references."""
    ranges = []
    for i in range(end):
        if kinds[i] == "ack":
            stop = next((j for j in range(i + 1, end) if kinds[j] is not None), end)
            ranges.append(range(i, stop))
    if ranges:
        return ranges
    text_paras = [i for i in range(end) if kinds[i] is None and not paras[i].footnote]
    for i in text_paras[-IMPLICIT_ACK_WINDOW:]:
        if _ACK_START.match(paras[i].text):
            return [range(i, end)]
    return []


def find_title(paras: list[Paragraph], body_size: float) -> int | None:
    """Index of the title paragraph: the largest type on page 1, or when the title is
    set in body size (AAS), the first substantial paragraph of at least body size."""
    candidates = [
        i
        for i, p in enumerate(paras[:15])
        if p.page == paras[0].page
        and not p.footnote
        and len(p.rows) <= 4
        and len(p.text) <= 300
        and len(re.findall(r"[A-Za-z]{2,}", p.text)) >= 2
        and not _NOT_TITLE.match(p.text)
        and heading_kind(p, body_size) not in ("abstract", "intro", "keywords")
    ]
    if not candidates:
        return None
    largest = max(candidates, key=lambda i: (paras[i].size, -i))
    if paras[largest].size >= body_size + 1.0:
        return largest
    return next((i for i in candidates if paras[i].size >= body_size - 0.25), None)


def _metadata_title(metadata: dict[str, str], paras: list[Paragraph]) -> str:
    """The document-info title when it looks real: several words, not a file name, most
    of them printed on page 1 (rules out "Microsoft Word - draft3.docx", "untitled",
    "ABC-012_Report_v2")."""
    title = re.sub(r"\s+", " ", metadata.get("title", "")).strip()
    words = re.findall(r"[a-z0-9]{2,}", title.lower())
    if len(words) < 3 or re.search(r"\.(?:docx?|tex|dvi|pdf)\b|^microsoft", title.lower()):
        return ""
    if _FILE_NAME.match(title):  # "ABC-012_Report_v2", "paper_final-3": a file name
        return ""
    first_page = " ".join(p.text for p in paras if p.page == paras[0].page).lower()
    seen = sum(1 for w in words if w in first_page)
    return title if seen >= 0.6 * len(words) else ""


def _add_identifiers(sections: Sections, texts: list[str], stem: str) -> None:
    """DOI and arXiv id of the paper itself; the bibcode is the arXiv id, else the DOI."""
    ids: dict[str, str] = {}
    stem_match = _ARXIV_STEM.match(stem)
    if stem_match:
        ids["arxiv"] = stem_match.group(1)
    for text in texts:
        for key, pattern in (("arxiv", _ARXIV), ("arxiv", _ARXIV_STAMP), ("doi", _DOI)):
            match = pattern.search(text)
            if match and key not in ids:
                ids[key] = match.group(1).rstrip(".)]")
    sections.identifiers = ids
    if "arxiv" in ids:
        sections.bibcode = f"arXiv:{ids['arxiv']}"
        sections.year = _arxiv_year(ids["arxiv"])
    elif "doi" in ids:
        sections.bibcode = ids["doi"]


def _before_references(paras: list[Paragraph]) -> str:
    """Page-1 text up to a reference list: a short paper's citations are not its ids."""
    out = []
    for para in paras:
        if para.page != paras[0].page or _REFERENCES.match(para.text):
            break
        out.append(para.text)
    return " ".join(out)


def _arxiv_year(arxiv_id: str) -> int | None:
    digits = re.search(r"(\d{2})\d{2}[.\d]", arxiv_id.split("/")[-1])
    if not digits:
        return None
    yy = int(digits.group(1))
    return 2000 + yy if yy < 91 else 1900 + yy

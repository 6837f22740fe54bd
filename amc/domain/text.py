"""Character folding shared by every stage that compares or cleans paper text.

One table of typographic characters and their plain forms, used by the PDF
text cleaner (``amc.ingest.pdf.layout``) and by the quote matcher
(``amc.classify.llm.quotes``), so a quote the model copies from cleaned PDF
text folds the same way as the text itself. The quote matcher folds two
LaTeX leftovers more (a backtick used as an opening quote, ``~`` as a
non-breaking space); the PDF cleaner leaves those alone, because in PDF text a
backtick inside a word is a detached accent and ``~`` is real text.
"""

from __future__ import annotations

#: typographic quotes, primes and dashes -> ASCII
TYPOGRAPHIC: dict[str, str] = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"),
}
#: characters that only mark a hyphenation point or join/split glyphs: removed
INVISIBLE: dict[str, str] = dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", "")
#: LaTeX leftovers in converted sources: a backtick opening quote, ``~`` non-breaking space
LATEX_LEFTOVERS: dict[str, str] = {"`": "'", "~": " "}

#: the PDF cleaner's table
FOLD = str.maketrans(TYPOGRAPHIC | INVISIBLE)
#: the quote matcher's table (one character for one on ASCII: offsets stay aligned)
QUOTE_FOLD = str.maketrans(TYPOGRAPHIC | INVISIBLE | LATEX_LEFTOVERS)

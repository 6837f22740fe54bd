"""Small HTML helpers for the reports: every value from the data is escaped (paper text is
untrusted input) unless it was built here from escaped parts."""

from __future__ import annotations

import html
from collections.abc import Sequence

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;"
    "text-align:left;vertical-align:top}th{background:#eee}img{max-width:100%}"
    ".q{font-style:italic;color:#333}"
)


class Raw(str):
    """Already-escaped HTML (built here from escaped parts); every other value is escaped."""


def _cell(value: object) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value))


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, body: Sequence[str]) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # NaN: no counted cell

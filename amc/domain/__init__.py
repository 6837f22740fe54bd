"""The bottom layer: what every stage shares.

``models`` (papers, pairs, hits, snippets, labels, classifications), ``errors``
(one hierarchy under ``AmcError``), ``metrics`` (the TRACS scores over label
matrices) and ``text`` (character folding). Nothing here imports the rest of amc.
"""

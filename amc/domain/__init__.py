"""The bottom layer: what every stage shares.

``models`` (papers, pairs, hits, snippets, labels, classifications), ``errors``
(one hierarchy under ``AmcError``), ``metrics`` (the TRACS scores over label
matrices), ``text`` (character folding) and ``reviews`` (reviewer labels and the
final label of a pair). Nothing here imports the rest of amc.
"""

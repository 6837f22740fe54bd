"""Seeded synthetic labelled pairs with planted truth, for tests and benchmarks.

Each pair is a short paper built from templates: generic astronomy filler,
plus sentences whose wording carries the label the way real papers do
(science: "we obtained new observations with WFC3 on HST ... data were
reduced"; instrumentation: calibration and pipeline papers; mention:
"previous HST studies", "future JWST observations will"; not_telescope: the
Hubble constant, a person named Webb, a grant number only). Science papers
also carry mention-like sentences and mention papers carry science cues
about *other* observatories, so the words alone do not give the label away.

``flip_labels`` plants label errors (a realistic mistake: science stored as
mention, a trap stored as a mention, ...) and returns which rows it changed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from amc.domain.models import NONE_TELESCOPE, Label, Pair, Paper, TelescopeLabels

_TELESCOPES: dict[str, dict[str, list[str]]] = {
    "HST": {
        "names": ["the Hubble Space Telescope", "HST", "Hubble"],
        "instruments": ["WFC3", "ACS", "STIS", "COS"],
        "traps": [
            "the Hubble constant H0 = {n} km/s/Mpc",
            "the Hubble tension between early and late probes",
            "galaxies that follow the Hubble flow",
            "the Hubble diagram of type Ia supernovae",
        ],
        "grant": ["support from grant HST-GO-{id} awarded by STScI"],
    },
    "JWST": {
        "names": ["the James Webb Space Telescope", "JWST"],
        "instruments": ["NIRSpec", "NIRCam", "MIRI", "NIRISS"],
        "traps": [
            "the model of Webb et al. ({year})",
            "the calibration of Webb & Smith ({year})",
            "the argument of K. Webb in a {year} review",
            "the relation of Webb et al. ({year}) for cool dwarfs",
        ],
        "grant": ["support from grant JWST-GO-{id} awarded by STScI"],
    },
    "CHANDRA": {
        "names": ["the Chandra X-ray Observatory", "Chandra"],
        "instruments": ["ACIS", "HRC", "HETG"],
        "traps": [
            "the method of Chandra et al. ({year})",
            "the Chandra number of the rotating flow",
            "the results of S. Chandra on dust",
            "the sample of Chandra & Lee ({year})",
        ],
        "grant": ["Chandra award GO{id}X issued by the CXC"],
    },
}
_OBJECTS = ["NGC 4258", "M87", "the Perseus cluster", "WASP-107", "SN 2014J", "Abell 1689",
            "the Orion nebula", "NGC 1068", "Cas A", "TRAPPIST-1", "M31",
            "the Galactic Centre"]  # fmt: skip
_TOPICS = ["star formation", "dark matter", "exoplanet atmospheres", "AGN feedback",
           "stellar populations", "cluster cosmology", "supernova remnants", "dust"]  # fmt: skip
_FILLER = [
    "The origin of {topic} in {obj} remains debated.",
    "Models of {topic} predict a steep radial gradient.",
    "We compare our results with hydrodynamical simulations of {topic}.",
    "Section {n} discusses the systematic uncertainties.",
    "The distance to {obj} is adopted from the literature.",
    "These results have implications for {topic} at high redshift.",
    "We summarise our conclusions in the final section.",
    "Ground-based spectroscopy from the VLT constrains the metallicity.",
    "The spectral energy distribution is fitted with a two-component model.",
    "Our sample is described in Section {n}.",
]
_SCIENCE = [
    "We obtained new observations of {obj} with {inst} on {tel} (program {id}).",
    "The {tel} {inst} data were reduced with the standard pipeline and drizzled.",
    "We analysed archival {tel} {inst} images of {obj} with a total exposure of {n} ks.",
    "Using {inst} on board {tel} we measured the flux of {obj} in {n} epochs.",
    "Our {tel} spectra of {obj} were taken with {inst} and reveal strong absorption lines.",
]
_INSTRUMENTATION = [
    "We present a new calibration pipeline for the {inst} detector of {tel}.",
    "This paper describes the flat-field and dark-current calibration of {tel} {inst}.",
    "We characterise the {inst} point spread function of {tel} and release the software.",
    "The {tel} {inst} data processing software corrects detector persistence and charge "
    "transfer inefficiency.",
]
_MENTION = [
    "Previous studies with {tel} found similar trends in {obj} (Smith et al. {year}).",
    "Future observations with {tel} will test this prediction.",
    "{tel} has transformed our view of {topic} over the past decades.",
    "Earlier {tel} imaging of {obj} suggested a compact core (Lee et al. {year}).",
    "Our results agree with those obtained with {tel} by Garcia et al. ({year}).",
]
_OTHER_SCIENCE = [
    "We obtained new ALMA observations of {obj} and reduced them with CASA.",
    "We observed {obj} with XMM-Newton for {n} ks.",
    "Spectra were taken with the Keck telescope in {n} nights.",
]

_CLASSES = ("science", "instrumentation", "mention", "not_telescope", "none")
_WEIGHTS = (0.44, 0.06, 0.32, 0.14, 0.04)
#: realistic mistakes: what a stored label may wrongly become
_FLIPS = {
    "science": ("mention",),
    "instrumentation": ("mention", "science"),
    "mention": ("science", "not_telescope"),
    "not_telescope": ("mention",),
}


@dataclass(frozen=True)
class PlantedFlips:
    """Pairs with some stored labels changed, and which rows were changed."""

    pairs: list[Pair]
    flipped: list[int]


def make_labelled_pairs(n: int = 600, seed: int = 0) -> list[Pair]:
    """``n`` synthetic (paper, telescope) pairs with correct gold labels, deterministic in seed."""
    rng = random.Random(seed)
    return [_pair(rng, i) for i in range(n)]


def flip_labels(pairs: Sequence[Pair], fraction: float = 0.05, seed: int = 0) -> PlantedFlips:
    """Change the stored class of ``fraction`` of the telescope pairs (never ``NONE`` rows)."""
    rng = random.Random(seed)
    candidates = [i for i, p in enumerate(pairs) if p.telescope != NONE_TELESCOPE]
    chosen = sorted(rng.sample(candidates, round(fraction * len(pairs))))
    out = list(pairs)
    for i in chosen:
        gold = pairs[i].gold
        assert gold is not None
        current = "instrumentation" if gold.instrumentation else gold.primary
        out[i] = pairs[i].model_copy(update={"gold": _labels(rng.choice(_FLIPS[current]))})
    return PlantedFlips(out, chosen)


def _labels(cls: str) -> TelescopeLabels:
    return TelescopeLabels() if cls == "none" else TelescopeLabels.only(Label(cls))


def _pair(rng: random.Random, index: int) -> Pair:
    cls = rng.choices(_CLASSES, _WEIGHTS)[0]
    telescope = NONE_TELESCOPE if cls == "none" else rng.choice(sorted(_TELESCOPES))
    slots = _slots(rng, telescope)
    body = [_fill(rng, s, slots) for s in rng.sample(_FILLER, rng.randint(4, 7))]
    body += _label_sentences(rng, cls, slots)
    rng.shuffle(body)
    gold = _labels(cls)
    if cls == "instrumentation" and rng.random() < 0.3:
        # new results from the calibration data: stated as plainly as in a science paper
        gold = TelescopeLabels(science=True, instrumentation=True)
        body += [_fill(rng, t, slots) for t in rng.sample(_SCIENCE, 2)]
    paper = Paper(
        bibcode=f"2024SYN..{index:05d}S",
        title=_title(rng, cls, slots),
        abstract=" ".join(body[:2]),
        body=" ".join(body[2:]),
        acknowledgments=_acknowledgments(rng, cls, slots),
        year=2024,
    )
    return Pair(paper=paper, telescope=telescope, gold=gold)


def _slots(rng: random.Random, telescope: str) -> dict[str, str]:
    spec = _TELESCOPES.get(telescope) or _TELESCOPES["HST"]
    return {
        "tel": rng.choice(spec["names"]),
        "inst": rng.choice(spec["instruments"]),
        "telescope": telescope,
        "obj": rng.choice(_OBJECTS),
        "topic": rng.choice(_TOPICS),
    }


def _fill(rng: random.Random, template: str, slots: dict[str, str]) -> str:
    values = dict(slots, n=str(rng.randint(2, 90)), id=str(rng.randint(10000, 17999)),
                  year=str(rng.randint(1995, 2023)))  # fmt: skip
    text = template.format(**values)
    return text[0].upper() + text[1:]


def _label_sentences(rng: random.Random, cls: str, slots: dict[str, str]) -> list[str]:
    def some(pool: list[str], low: int, high: int) -> list[str]:
        return [_fill(rng, t, slots) for t in rng.sample(pool, rng.randint(low, high))]

    if cls == "science":
        return some(_SCIENCE, 2, 3) + some(_MENTION, 0, 1)
    if cls == "instrumentation":
        return some(_INSTRUMENTATION, 2, 3) + some(_MENTION, 0, 1)
    if cls == "mention":
        return some(_MENTION, 1, 3) + some(_OTHER_SCIENCE, 0, 2)
    if cls == "not_telescope":
        traps = _TELESCOPES[slots["telescope"]]["traps"]
        return [f"We adopt {_fill(rng, rng.choice(traps), slots)}.", *some(_OTHER_SCIENCE, 0, 2)]
    return some(_OTHER_SCIENCE, 1, 2)


def _title(rng: random.Random, cls: str, slots: dict[str, str]) -> str:
    if cls == "instrumentation":
        return _fill(rng, "Calibration of the {tel} {inst} detector", slots)
    if cls == "science" and rng.random() < 0.5:
        return _fill(rng, "{tel} observations of {obj}", slots)
    return _fill(rng, "On {topic} in {obj}", slots)


def _acknowledgments(rng: random.Random, cls: str, slots: dict[str, str]) -> str:
    if slots["telescope"] == NONE_TELESCOPE:
        return "We thank the referee."
    grant = _fill(rng, _TELESCOPES[slots["telescope"]]["grant"][0], slots)
    if cls == "not_telescope" and rng.random() < 0.4:
        return f"We acknowledge {grant}."
    if cls == "science":
        return _fill(rng, "Based on observations made with {tel}.", slots)
    return "We thank the referee for helpful comments."


def write_jsonl(pairs: Sequence[Pair], path: Path | str) -> Path:
    """Write pairs as TRACS-shaped JSON Lines (text fields, telescope, four label columns)."""
    out = Path(path)
    with out.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            fields = {"bibcode", "title", "abstract", "body", "acknowledgments", "grants", "year"}
            record = pair.paper.model_dump(include=fields)
            record["telescope"] = pair.telescope
            record.update(pair.gold.as_dict() if pair.gold else {})
            handle.write(json.dumps(record) + "\n")
    return out

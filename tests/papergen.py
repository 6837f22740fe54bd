"""Paper-sized synthetic papers with planted telescope uses, for the LLM cost benchmark and
the evidence-budget tests.

Each paper has a title, an abstract, a ~60 KB body in sections (introduction,
observations, data reduction, analysis, results, discussion, conclusions, figure and
table captions) with the LaTeX and PDF leftovers real text has (``\\citep{...}``,
``$\\sim$``, ``Fig.~\\ref{...}``, ``<cit.>``, hyphenated line ends), and
acknowledgments. Every paper names one to three telescopes, each in a planted role:

- ``science``: the authors' own observations (instrument, programme id, dates,
  exposure times), their reduction and analysis, results, figure captions, the
  standard "Based on observations made with ..." acknowledgment; 8-20 mentions;
- ``mention``: earlier results and future prospects in the introduction and
  discussion; 2-6 mentions;
- ``not_telescope``: a trap (the Hubble constant, the Chandrasekhar mass, an author
  named Webb) or a fellowship in the acknowledgments;
- ``instrumentation`` (rare): a calibration or pipeline paper about the telescope.

About one pair in eleven names a telescope the text never mentions (the input row
says JWST, the paper only has a title and abstract about something else), as in
TRACS, where such rows are decided without a call. Templates are written for this
file; no real paper's text is copied. Seeded: the same seed gives the same papers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TELESCOPES = {
    "HST": {
        "names": ["HST", "the Hubble Space Telescope", "Hubble"],
        "instruments": ["WFC3/IR", "WFC3/UVIS", "ACS/WFC", "STIS", "COS"],
        "programme": "GO",
        "pipeline": "calwf3",
        "ack": "Based on observations made with the NASA/ESA Hubble Space Telescope, obtained at "
        "the Space Telescope Science Institute, which is operated by the Association of "
        "Universities for Research in Astronomy, Inc., under NASA contract NAS 5-26555.",
        "trap": "We adopt a flat cosmology with a Hubble constant of $H_0 = 70$ km s$^{-1}$ "
        "Mpc$^{-1}$ and $\\Omega_m = 0.3$.",
        "grant": "Support for this work was provided by NASA through the NASA Hubble Fellowship "
        "grant HST-HF2-{n}.001-A awarded by the Space Telescope Science Institute.",
    },
    "JWST": {
        "names": ["JWST", "the James Webb Space Telescope", "Webb"],
        "instruments": ["NIRSpec", "NIRCam", "MIRI", "NIRISS"],
        "programme": "GO",
        "pipeline": "the jwst calibration pipeline",
        "ack": "This work is based on observations made with the NASA/ESA/CSA James Webb Space "
        "Telescope. The data were obtained from the Mikulski Archive for Space Telescopes.",
        "trap": "The same relation was derived by Webb et al. (2019) from a smaller sample, and "
        "the binary models of Webbink (1984) predict it.",
        "grant": "",
    },
    "CHANDRA": {
        "names": ["Chandra", "the Chandra X-ray Observatory", "Chandra"],
        "instruments": ["ACIS-S", "ACIS-I", "HRC-I", "HETG"],
        "programme": "ObsID",
        "pipeline": "CIAO 4.15 and CALDB 4.10",
        "ack": "The scientific results reported in this article are based on observations made "
        "by the Chandra X-ray Observatory.",
        "trap": "Above the Chandrasekhar mass of $1.4\\,M_\\odot$ the white dwarf collapses.",
        "grant": "Support was provided by NASA through Chandra Award Number GO{n}X issued by "
        "the Chandra X-ray Center.",
    },
}

_OBJECTS = [
    "the galaxy cluster", "the host galaxy", "the exoplanet atmosphere", "the nuclear region",
    "the outflow", "the stellar population", "the accretion disk", "the circumgalactic medium",
    "the protoplanetary disk", "the supernova remnant",
]  # fmt: skip
_QUANTITIES = ["metallicity", "star formation rate", "column density", "temperature profile",
               "velocity dispersion", "luminosity function", "mass-to-light ratio",
               "transit depth", "dust attenuation", "ionisation parameter"]  # fmt: skip
_METHODS = ["a Markov chain Monte Carlo fit", "radiative transfer models", "a Gaussian process",
            "a grid of photoionisation models", "forward modelling", "a maximum-likelihood "
            "analysis", "stacking", "spectral energy distribution fitting"]  # fmt: skip
_AUTHORS = ["smith2019", "garcia2021", "chen2018", "mueller2020", "okafor2022", "tanaka2017",
            "rossi2023", "novak2016", "silva2015", "kumar2024"]  # fmt: skip
_FILLER = [
    "The {q} of {o} was derived from {m} \\citep{{{a}}}.",
    "As shown in Fig.~\\ref{{fig:{a}}}, the {q} declines with radius, in agreement with "
    "earlier estimates <cit.>.",
    "We find that {o} has a {q} of $\\sim${x}$\\pm${y}, consistent with {m}.",
    "Systematic uncertainties in the {q} dominate over the statistical ones, which we estimate "
    "with {m}.",
    "A detailed comparison of {m} with the simulations of \\citet{{{a}}} is beyond the scope of "
    "this paper.",
    "This result depends only weakly on the assumed {q}; changing it by a factor of two alters "
    "our conclusions by less than {x} per cent.",
    "The residuals show no significant structure (Table~\\ref{{tab:{a}}}), and the reduced "
    "$\\chi^2$ is {x}.{y}.",
    "In the following we adopt the {q} derived for {o} by \\citet{{{a}}} unless stated otherwise.",
    "These values are listed in Table~\\ref{{tab:{a}}} together with their 1$\\sigma$ "
    "uncertainties.",
    "The correlation between the {q} and the {q2} is weak (Spearman $\\rho = 0.{x}$).",
    "We tested the robustness of the fit by repeating {m} with different priors on the {q}.",
    "The {q2} of {o} is poorly constrained by the present data, and we treat it as a nuisance "
    "parameter.",
]
_SECTIONS = ["INTRODUCTION", "OBSERVATIONS", "DATA REDUCTION", "ANALYSIS", "RESULTS",
             "DISCUSSION", "CONCLUSIONS"]  # fmt: skip


@dataclass(frozen=True)
class GeneratedPaper:
    """A paper's fields and, per telescope named in its input row, the planted role."""

    bibcode: str
    title: str
    abstract: str
    body: str
    acknowledgments: str
    roles: dict[str, str]

    def fields(self) -> dict[str, str]:
        return {"bibcode": self.bibcode, "title": self.title, "abstract": self.abstract,
                "body": self.body, "acknowledgments": self.acknowledgments}  # fmt: skip


def generate_papers(n_pairs: int, seed: int = 17, body_kb: float = 60.0) -> list[GeneratedPaper]:
    """Papers whose (paper, telescope) pairs number ``n_pairs`` in all."""
    rng = random.Random(seed)
    papers: list[GeneratedPaper] = []
    pairs = 0
    while pairs < n_pairs:
        roles = _roles(rng, min(3, n_pairs - pairs))
        papers.append(_paper(rng, f"2025GEN..{len(papers):05d}", roles, body_kb))
        pairs += len(roles)
    return papers


def _roles(rng: random.Random, most: int) -> dict[str, str]:
    count = min(most, rng.choice([1, 2, 2, 3]))
    telescopes = rng.sample(sorted(TELESCOPES), count)
    weights = {"science": 0.45, "mention": 0.34, "not_telescope": 0.1, "instrumentation": 0.02,
               "absent": 0.07}  # fmt: skip
    return {t: rng.choices(list(weights), list(weights.values()))[0] for t in telescopes}


def _paper(
    rng: random.Random, bibcode: str, roles: dict[str, str], body_kb: float
) -> GeneratedPaper:
    obj, quantity = rng.choice(_OBJECTS), rng.choice(_QUANTITIES)
    science = [t for t, r in roles.items() if r in ("science", "instrumentation")]
    title = f"The {quantity} of {obj.removeprefix('the ')}"
    if science:
        title += f" from {TELESCOPES[science[0]]['names'][0]} observations"
    abstract = " ".join(
        [f"We study {obj} and its {quantity}."]
        + [_sentence(rng) for _ in range(rng.randint(4, 7))]
        + [f"New {TELESCOPES[t]['names'][1]} data reveal a clear trend." for t in science[:1]]
    )
    sections = {name: [_sentence(rng) for _ in range(rng.randint(4, 8))] for name in _SECTIONS}
    acknowledgments = ["We thank the anonymous referee for comments that improved the paper."]
    for telescope, role in roles.items():
        _plant(rng, TELESCOPES[telescope], role, sections, acknowledgments)
    body = _pad(rng, sections, int(body_kb * 1024))
    return GeneratedPaper(bibcode, title, abstract, body, " ".join(acknowledgments), roles)


def _sentence(rng: random.Random) -> str:
    return rng.choice(_FILLER).format(
        q=rng.choice(_QUANTITIES), q2=rng.choice(_QUANTITIES), o=rng.choice(_OBJECTS),
        m=rng.choice(_METHODS), a=rng.choice(_AUTHORS), x=rng.randint(2, 40), y=rng.randint(1, 9),
    )  # fmt: skip


def _plant(
    rng: random.Random,
    t: dict[str, object],
    role: str,
    sections: dict[str, list[str]],
    acknowledgments: list[str],
) -> None:
    names, instruments = t["names"], t["instruments"]
    assert isinstance(names, list) and isinstance(instruments, list)
    name, instrument, prog = names[0], rng.choice(instruments), t["programme"]
    number = rng.randint(10000, 17999)
    add = _adder(rng, sections)
    if role in ("science", "instrumentation"):
        add(
            "OBSERVATIONS",
            f"We observed the target with {names[1]} ({name}) using {instrument} "
            f"on UT {rng.randint(1, 28)} {rng.choice(['March', 'June', 'October'])} "
            f"{rng.randint(2016, 2024)} ({prog} {number}, PI {rng.choice(_AUTHORS)[:-4].title()}).",
        )
        add(
            "OBSERVATIONS",
            f"The {instrument} exposures total {rng.randint(2, 40)} ks and were "
            "taken in a standard dither pattern.",
        )
        add(
            "DATA REDUCTION",
            f"The {name} data were reduced with {t['pipeline']}, followed by "
            "our own correction for cosmic rays and detector artefacts.",
        )
        add(
            "DATA REDUCTION",
            f"We retrieved the calibrated {instrument} frames from the archive "
            f"and re-processed them with updated reference files.",
        )
        for _ in range(rng.randint(3, 10)):
            add(
                rng.choice(["ANALYSIS", "RESULTS", "DISCUSSION"]),
                f"The {name}/{instrument} {rng.choice(['spectrum', 'image', 'light curve'])} "
                f"shows {rng.choice(['a', 'no'])} significant {rng.choice(_QUANTITIES)} "
                f"gradient across {rng.choice(_OBJECTS)} (Fig.~\\ref{{fig:{rng.randint(1, 9)}}}).",
            )
        acknowledgments.append(str(t["ack"]))
        if role == "instrumentation":
            add(
                "INTRODUCTION",
                f"In this paper we present a new calibration of the {instrument} "
                f"detector of {name} and an improved data-processing pipeline for its users.",
            )
    elif role == "mention":
        for _ in range(rng.randint(1, 3)):
            add(
                "INTRODUCTION",
                f"Earlier {name} observations of similar systems suggested a low "
                f"{rng.choice(_QUANTITIES)} \\citep{{{rng.choice(_AUTHORS)}}}.",
            )
        add(
            "DISCUSSION",
            f"Future {name}/{instrument} observations will be able to test this "
            "prediction directly.",
        )
    elif role == "not_telescope":
        grant = str(t["grant"])
        if grant and rng.random() < 0.5:
            acknowledgments.append(grant.format(n=number))
        else:
            add("ANALYSIS", str(t["trap"]))


def _adder(rng: random.Random, sections: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def add(section: str, sentence: str) -> None:
        sentences = sections[section]
        sentences.insert(rng.randrange(len(sentences) + 1), sentence)

    return add


def _pad(rng: random.Random, sections: dict[str, list[str]], size: int) -> str:
    """The sections as text, each padded with filler paragraphs to reach ``size`` characters
    (planted sentences stay in their section), with a hyphenated line end now and then."""
    target = size // len(sections)
    parts = []
    for name, sentences in sections.items():
        text = " ".join(sentences)
        paragraphs = [text]
        while sum(len(p) for p in paragraphs) < target:
            paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(4, 9)))
            if rng.random() < 0.3:
                cut = paragraph.find(" ", len(paragraph) // 2)
                paragraph = paragraph[:cut] + "-\n" + paragraph[cut + 1 :] if cut > 0 else paragraph
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), paragraph)
        parts.append(f"§ {name}\n\n" + "\n\n".join(paragraphs))
    return "\n\n".join(parts)

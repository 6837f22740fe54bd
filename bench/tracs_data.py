"""Synthetic TRACS-shaped inputs for the scale benchmarks: paper-sized, seeded, realistic.

Papers read like the real thing as far as the pipeline can tell: a title, an
abstract, a body of ``body_kb`` kilobytes in sections and paragraphs (with LaTeX
leftovers: ``\\citep{}``, ``$\\sim$``, ``Fig.~\\ref{}``), acknowledgments and
grants. Each paper names one to three of HST, JWST and Chandra several times
(aliases and instruments, spread over the sections), and sometimes traps
("Hubble constant", "Chandrasekhar mass", a person named Webb), grant numbers
and other missions (Spitzer, ALMA, TESS). The rows follow the TRACS test split:
one row per (paper, telescope) in ``{CHANDRA,HST,JWST,NONE}_reference_test.parquet``
files, so a paper naming two telescopes has a row in two files, as in TRACS.

    python bench/tracs_data.py OUT_DIR --pairs 9194 --body-kb 60
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: rows per split in the TRACS test set (9,194 in all)
TRACS_TEST = {"CHANDRA": 3475, "HST": 4125, "JWST": 1300, "NONE": 294}
TELESCOPES = ("HST", "JWST", "CHANDRA")

_OBJECTS = ["NGC {n}", "M{m}", "SDSS J{n:04d}+{m:02d}", "WASP-{m}b", "Abell {n}", "GJ {n}",
            "the Crab Nebula", "Cas A", "the Orion Nebula", "HD {n}"]  # fmt: skip
_FILLER = [
    "The photometric catalogue was cross-matched with archival data within a radius of "
    "{x:.1f} arcsec, and the star formation rates were derived from the ultraviolet and "
    "infrared luminosities \\citep{{kennicutt{y}}}.",
    "We fit the spectral energy distributions with a grid of stellar population models "
    "assuming a Chabrier initial mass function and solar metallicity (see Fig.~\\ref{{fig:sed}}).",
    "The resulting distribution has a median of $\\sim${x:.2f} with a scatter of {z:.2f} dex, "
    "consistent with previous estimates \\citep{{smith{y}, jones{y}}}.",
    "Uncertainties were estimated by bootstrap resampling of the sample {m} times.",
    "Table~\\ref{{tab:sample}} lists the properties of the {m} sources in our sample.",
    "In the following we adopt a flat $\\Lambda$CDM cosmology with $\\Omega_m = 0.3$.",
    "The velocity dispersion profile flattens beyond {x:.1f} kpc, as expected for a massive "
    "dark matter halo, although the kinematic tracers are sparse at large radii.",
    "Our radiative transfer models include scattering by dust grains with a size distribution "
    "following a power law of index {z:.1f}, e.g. \\citet{{mathis{y}}}.",
    "We note that the fit is insensitive to the choice of prior on the inclination.",
    "Numerical simulations of comparable systems reproduce the observed trend only when "
    "feedback from active galactic nuclei is included \\citep{{illustris{y}}}.",
    "The ground-based spectra were taken with the 4-m telescope at Kitt Peak on {m} nights, "
    "and reduced with standard IRAF routines.",
    "Figure~\\ref{{fig:map}} shows the resulting map; the contours mark {m}, {n} and {k} "
    "times the rms noise.",
    "Spitzer IRAC photometry at 3.6 and 4.5 $\\mu$m and ALMA continuum at 1.3 mm complement "
    "the optical data.",
    "TESS light curves of the host star show no significant variability above {z:.1f} ppt.",
]
_SCIENCE = {
    "HST": ["We observed {obj} with the Hubble Space Telescope using WFC3/UVIS in the F606W "
            "and F814W filters (program GO {n}).",
            "The HST/ACS images were retrieved from MAST and drizzled with AstroDrizzle.",
            "Archival HST STIS spectra of {obj} were reduced with the calstis pipeline.",
            "The WFC3/IR F160W exposures total {m} orbits."],
    "JWST": ["{obj} was observed with JWST NIRSpec in the PRISM/CLEAR mode as part of "
             "program GO {n}.",
             "We reduced the JWST NIRCam images with version 1.{m} of the jwst pipeline.",
             "The MIRI MRS cubes cover 5-28 $\\mu$m with a total exposure of {m} ks.",
             "The JWST data presented in this paper were obtained from MAST."],
    "CHANDRA": ["{obj} was observed with Chandra ACIS-S for {m} ks (ObsID {n}).",
                "The Chandra data were reprocessed with CIAO 4.{m} and CALDB 4.9.",
                "We extracted the Chandra HETG spectra of the nucleus with the standard tools.",
                "Point sources were detected in the Chandra images with wavdetect."],
}  # fmt: skip
_MENTION = {
    "HST": ["Earlier Hubble imaging of similar systems found compact cores \\citep{{lee{y}}}.",
            "Future HST programmes could resolve the inner disc."],
    "JWST": ["Upcoming JWST observations will test this prediction.",
             "The James Webb Space Telescope could detect the molecular lines we predict."],
    "CHANDRA": ["Previous Chandra surveys of clusters reported similar cool cores "
                "\\citep{{vik{y}}}.", "Deeper X-ray data, e.g. from Chandra, are needed."],
}  # fmt: skip
_TRAPS = {
    "HST": ["We adopt a Hubble constant of $H_0 = {h}$ km s$^{{-1}}$ Mpc$^{{-1}}$.",
            "The galaxies span Hubble types Sa to Sd."],
    "JWST": ["Following Webb et al. ({y}), we model the dust emission as a modified black body."],
    "CHANDRA": ["The white dwarf is well below the Chandrasekhar mass."],
}  # fmt: skip
_ACK = {
    "HST": "This work is based on observations made with the NASA/ESA Hubble Space Telescope, "
    "obtained at the Space Telescope Science Institute. ",
    "JWST": "This work is based on observations made with the NASA/ESA/CSA James Webb Space "
    "Telescope. ",
    "CHANDRA": "This research has made use of data obtained from the Chandra Data Archive. ",
}
_GRANTS = {"HST": "HST-GO-{n}", "JWST": "JWST-GO-{n}", "CHANDRA": "GO{k}-{n}X"}
#: average length of a generated paragraph
_PARAGRAPH_CHARS = 650
_SECTIONS = ["Introduction", "Observations", "Data reduction", "Results", "Discussion",
             "Conclusions"]  # fmt: skip


def _fill(rng: random.Random, template: str) -> str:
    n, m = rng.randint(1000, 17999), rng.randint(2, 99)
    obj = rng.choice(_OBJECTS).format(n=n, m=m)
    return template.format(
        n=n, m=m, k=rng.randint(2, 9), x=rng.uniform(0.1, 9.9), z=rng.uniform(0.05, 3),
        y=rng.randint(1990, 2024), h=rng.choice([67.4, 70, 73.0]), obj=obj,
    )  # fmt: skip


def _mentions(rng: random.Random, named: list[str], used: list[str]) -> list[str]:
    """The telescope sentences of one paper: science for the ones it used, mentions and
    traps for the others, several of each."""
    out = []
    for key in TELESCOPES:
        if key in used:
            out += [_fill(rng, rng.choice(_SCIENCE[key])) for _ in range(rng.randint(3, 9))]
        if key in named:
            out += [_fill(rng, rng.choice(_MENTION[key])) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.25:
            out.append(_fill(rng, rng.choice(_TRAPS[key])))
    return out


def paper_row(rng: random.Random, i: int, named: list[str], body_kb: float) -> dict[str, Any]:
    """One paper's fields; ``named`` are the telescopes it names (the first few used)."""
    used = named[: rng.randint(0, len(named))] if named else []
    special = _mentions(rng, named, used)
    rng.shuffle(special)
    target = int(body_kb * 1024)
    paragraphs, size, section = [], 0, 0
    while size < target:
        if size >= section * target / len(_SECTIONS) and section < len(_SECTIONS):
            paragraphs.append(f"\\section{{{_SECTIONS[section]}}}")
            section += 1
        sentences = [_fill(rng, rng.choice(_FILLER)) for _ in range(rng.randint(3, 7))]
        left = max(1.0, (target - size) / _PARAGRAPH_CHARS)  # paragraphs still to come
        if special and rng.random() < len(special) / left:  # spread over the whole paper
            sentences.insert(rng.randint(0, len(sentences)), special.pop())
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    paragraphs += special  # whatever did not fit in by chance
    abstract = " ".join(_fill(rng, rng.choice(_FILLER)) for _ in range(6))
    if used:
        abstract += " " + _fill(rng, _SCIENCE[used[0]][0])
    acknowledgments = "".join(_ACK[k] for k in used) + "We thank the referee."
    grants = ", ".join(_fill(rng, _GRANTS[k]) for k in named if rng.random() < 0.4)
    return {
        "bibcode": f"2024SYN..{i:06d}",
        "author": "Synthetic, A.",
        "year": 2024,
        "title": f"A multi-wavelength study of {_fill(rng, rng.choice(_OBJECTS))}",
        "abstract": abstract,
        "body": "\n\n".join(paragraphs),
        "acknowledgments": acknowledgments,
        "grants": grants,
        "_used": used,
    }


def tracs_rows(pairs: int, body_kb: float, seed: int = 17) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(split, row)`` for ``pairs`` rows in the TRACS test proportions."""
    rng = random.Random(seed)
    total = sum(TRACS_TEST.values())
    quota = {k: round(v * pairs / total) for k, v in TRACS_TEST.items()}
    quota["HST"] += pairs - sum(quota.values())
    i = 0
    while any(quota[k] > 0 for k in TELESCOPES):
        open_keys = [k for k in TELESCOPES if quota[k] > 0]
        named = rng.sample(open_keys, min(len(open_keys), rng.choice([1, 1, 2, 2, 3])))
        row = paper_row(rng, i, named, body_kb)
        used = row.pop("_used")
        for key in named:
            quota[key] -= 1
            yield key, row | {"telescope": key} | _labels(key in used)
        i += 1
    for _ in range(quota["NONE"]):
        row = paper_row(rng, i, [], body_kb)
        row.pop("_used")
        yield "NONE", row | {"telescope": "NONE", **_labels(False), "mention": False}
        i += 1


def _labels(science: bool) -> dict[str, bool]:
    return {"science": science, "instrumentation": False, "mention": not science,
            "not_telescope": False}  # fmt: skip


def write_tracs(out: Path, pairs: int, body_kb: float, seed: int = 17) -> Path:
    """Write the split files into ``out`` (kept when already written with these settings)."""
    marker = out / f".done-{pairs}-{body_kb:g}-{seed}"
    if marker.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    buffers: dict[str, list[dict[str, Any]]] = {k: [] for k in TRACS_TEST}

    def flush(split: str) -> None:
        table = pa.Table.from_pylist(buffers[split])
        if split not in writers:
            path = out / f"{split}_reference_test.parquet"
            writers[split] = pq.ParquetWriter(path, table.schema)
        writers[split].write_table(table)
        buffers[split] = []

    for split, row in tracs_rows(pairs, body_kb, seed):
        buffers[split].append(row)
        if len(buffers[split]) >= 500:
            flush(split)
    for split in TRACS_TEST:
        if buffers[split]:
            flush(split)
    for writer in writers.values():
        writer.close()
    marker.touch()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pairs", type=int, default=sum(TRACS_TEST.values()))
    parser.add_argument("--body-kb", type=float, default=60)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    write_tracs(args.out, args.pairs, args.body_kb, args.seed)
    print(args.out)


if __name__ == "__main__":
    main()

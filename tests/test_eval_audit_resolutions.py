"""A suspect a librarian resolved is not flagged again by the incremental audit unless its
text changes (the resolution and the text hashes live in the job store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amc.settings import load_settings
from amc.store import Reviewer, open_store
from amc.web.audit import resolve_suspect
from eval.incremental import run_incremental_audit
from eval.suspects import LATEST_CSV, read_suspects_csv
from eval.synthetic import make_labelled_pairs, write_jsonl


@pytest.mark.slow
def test_resolved_suspect_stays_resolved_until_its_text_changes(tmp_path: Path) -> None:
    pairs = make_labelled_pairs(160, seed=3)
    labels = write_jsonl(pairs, tmp_path / "labels.jsonl")
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    target = next(i for i, p in enumerate(pairs) if p.gold and p.gold.science)
    records[target].update(science=False, mention=True)  # a planted labelling mistake
    labels.write_text("".join(json.dumps(r) + "\n" for r in records))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = load_settings(environ={}, database_url=url)
    out = tmp_path / "reports"
    pair_id = pairs[target].pair_id

    first = run_incremental_audit(settings, labels, out)
    assert pair_id in [s.pair_id for s in first.suspects]
    with open_store(url) as store:
        done = resolve_suspect(store, out, pair_id, "keep", Reviewer("Ada", 1), "checked the PDF")
        assert done.action == "audit_keep" and done.labels.mention
        assert store.audit_resolutions()[pair_id].text_hash  # the text it was resolved on

    again = run_incremental_audit(settings, labels, out)
    assert pair_id not in [s.pair_id for s in again.suspects] and again.new_suspects == []
    assert pair_id not in [s.pair_id for s in read_suspects_csv(out / LATEST_CSV) or []]
    others = [s.pair_id for s in first.suspects if s.pair_id != pair_id]
    assert [s.pair_id for s in again.suspects] == others  # the rest are still flagged
    full = run_incremental_audit(settings, labels, out, full=True)
    assert pair_id not in [s.pair_id for s in full.suspects]

    records[target]["body"] += " A new paragraph: we re-reduced the data with a new pipeline."
    labels.write_text("".join(json.dumps(r) + "\n" for r in records))
    changed = run_incremental_audit(settings, labels, out)
    assert changed.n_scored == 1 and pair_id in changed.new_suspects

"""Print one of the README's set-up commands: ``python3 .ci/readme_command.py install|test``.

The README marks its two set-up code blocks with ``<!-- setup: install -->`` and
``<!-- setup: test -->``; ``.ci/run`` runs what this prints, so the commands a newcomer
copies are the ones CI runs, verbatim.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def setup_command(name: str, readme: str) -> str:
    """The code block after ``<!-- setup: NAME -->`` (its text, without the fences)."""
    found = re.search(rf"<!-- setup: {re.escape(name)} -->\s*```bash\n(.*?)\n```", readme, re.S)
    if found is None:
        raise SystemExit(f"README.md has no code block marked <!-- setup: {name} -->")
    return found[1]


if __name__ == "__main__":
    print(setup_command(sys.argv[1], README.read_text(encoding="utf-8")))

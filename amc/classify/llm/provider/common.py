"""What the provider seam's modules share: status classes, key handling, error text, and
the lazily imported litellm (its import takes seconds; the CLI must start fast)."""

from __future__ import annotations

from functools import cache
from typing import Any

#: chat messages as every provider takes them: [{"role": ..., "content": ...}, ...]
ChatMessages = list[dict[str, str]]

#: statuses that mean "try again later"; 408/409 are what some gateways send
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529}
#: statuses that no retry will fix and that affect every request of the run
FATAL_STATUS = {401, 403, 404}
#: a local server without a key still needs a non-empty one for the OpenAI client
DUMMY_KEY = "sk-no-key-needed"


@cache
def load_litellm() -> Any:
    """Import litellm on first use: the import takes seconds and the CLI must start fast."""
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banners in a librarian's terminal
    return litellm


def short_error(exc: Exception | None) -> str:
    if exc is None:
        return "no error recorded"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"

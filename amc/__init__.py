"""amc, the automated mission classifier.

The pipeline is plain functions over the pydantic models in ``amc.models``:
load (``amc.ingest``) -> find snippets (``amc.snippets``) -> classify
(``amc.rules`` and later tiers) -> write (``amc.output``) -> score (``eval``).
"""

import os

# litellm downloads its price map at import unless told to use the bundled copy;
# amc never reaches the network on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

"""amc, the automated mission classifier.

The pipeline is plain functions over the pydantic models in ``amc.domain.models``:
read inputs into (paper, telescope) pairs (``amc.ingest``) -> find snippets
(``amc.snippets``) -> classify with a tier (``amc.classify``) -> write results
(``amc.output``) or keep them in the job store (``amc.jobs``, ``amc.store``).
``amc.cli`` and ``amc.web`` are the edges; ``eval/`` scores and audits.
Layers, bottom to top: ``domain``, ``settings``, ``registry`` -> stages -> jobs ->
edges; imports only point down (``tests/test_architecture.py`` checks it).
"""

import os

# litellm downloads its price map at import unless told to use the bundled copy;
# amc never reaches the network on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

"""Classification: from (pair, snippets) to a verdict, by one of four tiers.

- ``dispatch``: ``classify_pairs`` and ``PairClassifier``, the one entry point for
  every tier (``rules``, ``trained``, ``llm``, ``cascade``);
- ``rules``: tier 0, local and instant; ``trained/``: the scikit-learn tier;
  ``llm/``: the LLM tier (the only code that talks to a model provider);
- ``cascade``: the cheap tier first, the LLM only for the pairs it is unsure of;
- ``stream``: classify a stream of pairs in input order, keeping the LLM busy;
- ``estimate``: tokens and dollars of a run before anything is spent.
"""

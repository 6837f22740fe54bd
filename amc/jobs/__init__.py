"""Job-store batches: inputs submitted together and processed by ``amc run`` or workers.

- ``submit``: spool the inputs and register the batch and its papers (idempotent);
- ``spool``: the submitted pairs on disk, read back a paper at a time;
- ``process``: claim, classify and save papers; run a whole batch in-process; export.

A job-store *batch* is not a provider *Batch API* batch (``amc.classify.llm.provider_batch``).
"""

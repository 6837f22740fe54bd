"""The LLM classification tier.

Entry points: ``classify_pairs_llm`` (async) / ``classify_pairs_llm_sync``, ``LLMSession``
(a stream of small submissions sharing one client, for batches and workers) and
``estimate_cost``, all configured by ``settings.llm`` (``amc.settings.llm.LLMSettings``);
``preflight`` refuses a run that cannot go as configured before anything is sent;
the provider's Batch API is ``provider_batch`` (a plan of files within the provider's
limits: ``run_provider_batch`` or its steps ``submit_provider_batch``,
``poll_provider_batch``, ``collect_provider_batch``);
``warm_up`` prepares a worker process.

Inside: ``request`` builds the messages from prompt files (``prompts``) and ranked
snippets; ``conversation`` asks, validates (``schema``), checks quotes (``quotes``,
``verdict``) and re-asks; ``tier`` runs many requests concurrently; ``results`` turns
verdicts into classifications; ``cost`` prices calls and keeps the budget. Only
``provider/`` talks to a model provider (litellm, the OpenAI SDK, aiohttp).
"""

from amc.classify.llm.cost import CostEstimate, estimate_cost
from amc.classify.llm.errors import (
    RUN_STOP_KINDS,
    LLMAnswerError,
    LLMBudgetExceeded,
    LLMError,
    LLMProviderRefused,
    LLMRequestError,
    LLMRequestRejected,
    LLMRunStopped,
    LLMUnavailableError,
    PromptError,
    ProviderBatchError,
    ProviderBatchPending,
)
from amc.classify.llm.provider_batch import (
    ProviderBatchPlan,
    collect_provider_batch,
    poll_provider_batch,
    run_provider_batch,
    submit_provider_batch,
)
from amc.classify.llm.tier import (
    TIER,
    LLMSession,
    classify_pairs_llm,
    classify_pairs_llm_sync,
    is_stop_row,
    preflight,
    warm_up,
)

__all__ = [
    "RESUMABLE_KINDS",
    "RUN_STOP_KINDS",
    "TIER",
    "CostEstimate",
    "LLMAnswerError",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMProviderRefused",
    "LLMRequestError",
    "LLMRequestRejected",
    "LLMRunStopped",
    "LLMSession",
    "LLMUnavailableError",
    "PromptError",
    "ProviderBatchError",
    "ProviderBatchPending",
    "ProviderBatchPlan",
    "classify_pairs_llm",
    "classify_pairs_llm_sync",
    "collect_provider_batch",
    "estimate_cost",
    "is_stop_row",
    "poll_provider_batch",
    "preflight",
    "run_provider_batch",
    "submit_provider_batch",
    "warm_up",
]

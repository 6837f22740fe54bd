"""The LLM classification tier.

Entry points: ``classify_pairs_llm`` (async) / ``classify_pairs_llm_sync``, ``LLMSession``
(a stream of small submissions sharing one client, for batches and workers) and
``estimate_cost``, all configured by ``settings.llm`` (``amc.settings.llm.LLMSettings``);
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
    LLMAnswerError,
    LLMBudgetExceeded,
    LLMError,
    LLMRequestError,
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
    warm_up,
)

__all__ = [
    "TIER",
    "CostEstimate",
    "LLMAnswerError",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMRequestError",
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
    "poll_provider_batch",
    "run_provider_batch",
    "submit_provider_batch",
    "warm_up",
]

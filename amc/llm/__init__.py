"""The LLM classification tier.

Entry points: ``classify_pairs_llm`` (async) / ``classify_pairs_llm_sync``, ``LLMSession``
(a stream of small submissions sharing one client, for batches and workers) and
``estimate_cost``, configured by one ``LLMConfig``; the OpenAI Batch API mode
is ``run_batch`` (or its steps ``submit_batch``, ``poll_batch``,
``collect_batch``); ``warm_up`` prepares a worker process. Only
``amc.llm.client`` (chat, through litellm or its lean HTTP transport for
OpenAI-compatible endpoints, ``_openai_http``) and ``amc.llm.batch_client``
(files and batches, through the openai SDK) talk to the provider; everything
else is plain functions over the models in ``amc.models``.
"""

from amc.llm.batch_api import collect_batch, poll_batch, run_batch, submit_batch
from amc.llm.batch_state import BatchState
from amc.llm.classify import (
    TIER,
    LLMSession,
    classify_pairs_llm,
    classify_pairs_llm_sync,
    warm_up,
)
from amc.llm.config import LLMConfig, ModelPrice
from amc.llm.cost import CostEstimate, estimate_cost
from amc.llm.errors import (
    LLMAnswerError,
    LLMBatchError,
    LLMBatchPending,
    LLMBudgetExceeded,
    LLMError,
    LLMRequestError,
    LLMRunStopped,
    LLMUnavailableError,
    PromptError,
)
from amc.llm.ranking import rank_snippets

__all__ = [
    "TIER",
    "BatchState",
    "CostEstimate",
    "LLMAnswerError",
    "LLMBatchError",
    "LLMBatchPending",
    "LLMBudgetExceeded",
    "LLMConfig",
    "LLMError",
    "LLMRequestError",
    "LLMRunStopped",
    "LLMSession",
    "LLMUnavailableError",
    "ModelPrice",
    "PromptError",
    "classify_pairs_llm",
    "classify_pairs_llm_sync",
    "collect_batch",
    "estimate_cost",
    "poll_batch",
    "rank_snippets",
    "run_batch",
    "submit_batch",
    "warm_up",
]

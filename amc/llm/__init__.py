"""The LLM classification tier.

Entry points: ``classify_pairs_llm`` (async) / ``classify_pairs_llm_sync`` and
``estimate_cost``, configured by one ``LLMConfig``. Only ``amc.llm.client``
talks to the provider (through litellm); everything else is plain functions
over the models in ``amc.models``.
"""

from amc.llm.classify import TIER, classify_pairs_llm, classify_pairs_llm_sync
from amc.llm.config import LLMConfig, ModelPrice
from amc.llm.cost import CostEstimate, estimate_cost
from amc.llm.errors import (
    LLMAnswerError,
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
    "CostEstimate",
    "LLMAnswerError",
    "LLMBudgetExceeded",
    "LLMConfig",
    "LLMError",
    "LLMRequestError",
    "LLMRunStopped",
    "LLMUnavailableError",
    "ModelPrice",
    "PromptError",
    "classify_pairs_llm",
    "classify_pairs_llm_sync",
    "estimate_cost",
    "rank_snippets",
]

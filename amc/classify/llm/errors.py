"""Errors of the LLM tier. All subclass ``AmcError``; messages say what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from amc.domain.errors import AmcError

if TYPE_CHECKING:
    from amc.domain.models import Classification


class LLMError(AmcError):
    """A request to the model failed for one pair (recorded on the pair, the run goes on)."""

    kind = "llm"


class LLMRequestError(LLMError):
    """The provider refused or kept failing one request after all retries."""

    kind = "llm_request"


class LLMAnswerError(LLMError):
    """The model's answer stayed invalid after the allowed re-asks."""

    kind = "llm_answer"

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class PromptError(LLMError):
    """A prompt file is missing or invalid (names the file and what is wrong)."""

    kind = "prompt"


class LLMRunStopped(LLMError):
    """The whole run stopped; ``completed`` holds the pairs finished before the stop."""

    kind = "llm_stopped"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.completed: list[Classification] = []


class LLMUnavailableError(LLMRunStopped):
    """The model cannot be reached or refuses every request (key, URL, model name, outage)."""

    kind = "llm_unavailable"


class LLMBudgetExceeded(LLMRunStopped):
    """The spent cost reached ``max_cost_usd``."""

    kind = "llm_budget"


class ProviderBatchError(LLMError):
    """A Batch API run cannot go on as asked (state file of another input, batch not
    finished, batch failed as a whole); the message says what to do next."""

    kind = "llm_batch"


class ProviderBatchPending(ProviderBatchError):
    """The batch is still running when the caller stopped waiting; re-run to resume."""

    kind = "llm_batch_pending"

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
    """The provider kept failing one request (5xx, 429, timeouts, lost connections) after
    all retries: transient, so a resumed run tries the pair again."""

    kind = "llm_request"


class LLMRequestRejected(LLMRequestError):
    """The provider rejected one request (400, 413, 422: too long, malformed): sending the
    same request again would be rejected again, so it is not retried, even on resume."""

    kind = "llm_rejected"


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
    """The whole run stopped: no new request is sent. ``completed`` holds the pairs finished
    before the stop; ``reason`` says in a few words why, for the rows of the pairs it left
    unclassified. A stop is resumable (``resumable``): running the same command again
    picks up where it ended, except when the provider refused the run's configuration."""

    kind = "llm_stopped"
    resumable = True

    def __init__(self, message: str, reason: str = "the LLM run stopped") -> None:
        super().__init__(message)
        self.reason = reason
        self.completed: list[Classification] = []


class LLMUnavailableError(LLMRunStopped):
    """The provider failed ``max_consecutive_failures`` requests in a row (outage, bad URL)."""

    kind = "llm_unavailable"


class LLMProviderRefused(LLMUnavailableError):
    """The provider refused the run's configuration (HTTP 401, 403, 404: key, access,
    model name): no retry helps, so the first such answer stops the run and nothing else
    is sent. Not resumable as is: the settings must change first."""

    kind = "llm_refused"
    resumable = False


class LLMBudgetExceeded(LLMRunStopped):
    """The next request could cost more than what is left of ``max_cost_usd``."""

    kind = "llm_budget"


#: error kinds of the rows a run stop left unclassified
RUN_STOP_KINDS = frozenset(
    {LLMRunStopped.kind, LLMUnavailableError.kind, LLMProviderRefused.kind, LLMBudgetExceeded.kind}
)
#: error kinds a resumed run (the same command again) redoes: what a stop left, and what
#: the provider failed for a while (an outage often ends in a stop); the pairs that
#: failed for their own reason (unreadable input, an answer that stayed invalid, a
#: rejected request) are redone only when asked (``amc retry --failed``)
RESUMABLE_KINDS = RUN_STOP_KINDS | {LLMRequestError.kind}


class ProviderBatchError(LLMError):
    """A Batch API run cannot go on as asked (state file of another input, batch not
    finished, batch failed as a whole); the message says what to do next."""

    kind = "llm_batch"


class ProviderBatchPending(ProviderBatchError):
    """The batch is still running when the caller stopped waiting; re-run to resume."""

    kind = "llm_batch_pending"

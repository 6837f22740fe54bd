"""One request's conversation with the model: ask, validate, re-ask, judge.

At most ``1 + max_reasks`` calls per request. A re-ask sends the model's own
answer back with what was wrong (invalid JSON or schema, a missing telescope,
or science/instrumentation backed only by quotes that are not in the paper).
An accepted answer is cached under the original request, so a re-run replays
it with no call and reaches the same verdict. A valid answer whose quote re-ask
cannot be sent (the run stopped) is accepted as it is, unsupported claims
downgraded: it was paid for, and it is cached like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel

from amc.classify.llm.cache import AnswerCache, cache_key
from amc.classify.llm.cost import add_usage, call_cost
from amc.classify.llm.errors import LLMAnswerError, LLMError, LLMRunStopped
from amc.classify.llm.links import LinkFieldError, answer_links, check_links
from amc.classify.llm.provider.chat import Completion, LLMClient
from amc.classify.llm.provider.common import ChatMessages
from amc.classify.llm.quotes import QuoteLocator
from amc.classify.llm.request import Request
from amc.classify.llm.schema import (
    AnyPairAnswer,
    CitedPairAnswer,
    CitedPaperAnswer,
    PairAnswer,
    PaperAnswer,
    check_paper_answer,
    parse_answer,
)
from amc.classify.llm.sentences import check_citations
from amc.classify.llm.verdict import Verdict, downgrade, judge
from amc.domain.models import LLMCall, Usage
from amc.settings.llm import LLMSettings

#: a raw answer kept on a failed pair is cut to this many characters
RAW_KEEP_CHARS = 4000


@dataclass
class Outcome:
    """The verdicts of one request (one per pair, in request order) and what it cost."""

    verdicts: list[Verdict]
    usage: Usage
    cached: bool
    attempts: int


async def ask(
    request: Request,
    client: LLMClient,
    cache: AnswerCache | None,
    config: LLMSettings,
) -> Outcome:
    """Run the request to an accepted answer, or raise ``LLMError`` (``usage`` attached:
    the calls made before a failure or a run stop were paid for)."""
    conversation = _Conversation(request, client, config)
    key = request_key(request, config)
    cached = cache.get(key) if cache is not None else None
    try:
        if cached is not None:
            # an accepted answer is replayed as is: no re-ask, same verdict as before
            return Outcome(verdicts_from_text(request, cached), Usage(), True, 0)
        outcome = await conversation.run()
    except LLMError as exc:
        exc.usage = conversation.usage  # type: ignore[attr-defined]
        raise
    if cache is not None:
        cache.put(key, config.model, request.prompt.hash, conversation.accepted_text)
    return outcome


def verdicts_from_text(request: Request, text: str) -> list[Verdict]:
    """The final verdicts of an answer that cannot be re-asked (a cached answer, a Batch API
    line): validated, quotes checked, unsupported claims downgraded. ``ValueError`` when
    the text is not a valid answer."""
    answer = _parse(request, text)
    return _final(request, answer, _judged(request, answer))


def request_key(request: Request, config: LLMSettings) -> str:
    """The answer cache's key of this request under this configuration."""
    params = {
        "temperature": config.temperature,
        "max_output_tokens": config.max_output_tokens,
        "schema": request.schema,
    }
    return cache_key(config.model, request.prompt.hash, request.messages, params)


class _Conversation:
    def __init__(self, request: Request, client: LLMClient, config: LLMSettings) -> None:
        self.request = request
        self.client = client
        self.config = config
        self.messages: ChatMessages = list(request.messages)
        self.usage = Usage()
        self.accepted_text = ""

    async def run(self) -> Outcome:
        reasks = self.config.max_reasks
        #: the last valid answer, kept if the run stops before its quote re-ask is answered
        valid: tuple[str, BaseModel, list[Verdict]] | None = None
        for attempt in range(1, reasks + 2):
            try:
                text = await self._call()
            except LLMRunStopped:
                if valid is None:
                    raise
                return self._accept(*valid, attempt - 1)
            try:
                answer = _parse(self.request, text)
            except LinkFieldError as exc:
                if attempt <= reasks:
                    self._reask(text, "reask_invalid", error=str(exc))
                    continue
                # the labels and evidence stand; the malformed link fields are dropped, so
                # the pair's links are the rules' (as for an answer without link fields)
                assert exc.answer is not None
                answer = _without_links(exc.answer)
            except ValueError as exc:
                if attempt > reasks:
                    raise LLMAnswerError(
                        f"the model's answer stayed invalid after {attempt} attempt(s): {exc}",
                        raw=text[:RAW_KEEP_CHARS],
                    ) from None
                self._reask(text, "reask_invalid", error=str(exc))
                continue
            verdicts = _judged(self.request, answer)
            unverified = [q for v in verdicts if v.unsupported for q in v.unverified_quotes]
            if unverified and attempt <= reasks and self.client.stop is None:
                valid = (text, answer, verdicts)
                self._reask(text, "reask_quotes", quotes="; ".join(repr(q) for q in unverified))
                continue
            return self._accept(text, answer, verdicts, attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _accept(
        self, text: str, answer: BaseModel, verdicts: list[Verdict], attempts: int
    ) -> Outcome:
        self.accepted_text = text
        return Outcome(_final(self.request, answer, verdicts), self.usage, False, attempts)

    async def _call(self) -> str:
        clock = time.monotonic()
        completion = await self.client.complete(
            self.messages,
            self.request.schema,
            max_tokens=self.request.max_tokens,
            cache_key=self.request.cache_key,
        )
        record = call_record(self.config, completion, time.monotonic() - clock)
        call = Usage(
            calls=1,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            cached_tokens=record.cached_tokens,
            cache_write_tokens=record.cache_write_tokens,
            cost_usd=record.cost_usd,
            call_log=[record],
        )
        self.usage = add_usage(self.usage, call)  # the client has settled it with the budget
        return completion.text

    def _reask(self, answer_text: str, message: str, **values: str) -> None:
        follow_up = self.request.prompt.render(message, **values)
        self.messages += [
            {"role": "assistant", "content": answer_text},
            {"role": "user", "content": follow_up},
        ]


def call_record(config: LLMSettings, completion: Completion, latency_s: float) -> LLMCall:
    """One answered call as logged: its tokens (cache reads and writes apart) and price."""
    cost = call_cost(
        config,
        completion.prompt_tokens,
        completion.completion_tokens,
        cached=completion.cached_tokens,
        written=completion.cache_write_tokens,
    )
    return LLMCall(
        model=config.model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        cached_tokens=completion.cached_tokens,
        cache_write_tokens=completion.cache_write_tokens,
        cost_usd=cost,
        latency_s=round(latency_s, 4),
    )


def _parse(request: Request, text: str) -> BaseModel:
    """The validated answer: the schema, one entry per telescope, cited numbers shown."""
    answer = parse_answer(text, request.answer_model)
    if isinstance(answer, PaperAnswer | CitedPaperAnswer):
        check_paper_answer(answer, request.telescopes)
    answers = _answers(request, answer)
    cited = [c.sentence for a in answers if isinstance(a, CitedPairAnswer)
             for c in a.evidence]  # fmt: skip
    check_citations(cited, len(request.sentences))
    for a, item, labelled in zip(answers, request.inputs, request.candidates, strict=True):
        if isinstance(a, CitedPairAnswer):
            try:
                check_links(a, item.telescope, labelled, len(request.sentences))
            except LinkFieldError as exc:
                exc.answer = answer
                raise
    return answer


def _without_links(answer: BaseModel) -> BaseModel:
    """``answer`` with its link fields taken out (a paper answer: every telescope's)."""
    if isinstance(answer, CitedPaperAnswer):
        results = [_without_links(r) for r in answer.results]
        return answer.model_copy(update={"results": results})
    return answer.model_copy(update={"instruments": None, "ids": None})


def _answers(request: Request, answer: BaseModel) -> list[AnyPairAnswer]:
    """The per-pair answers in request order."""
    if isinstance(answer, PaperAnswer | CitedPaperAnswer):
        by_key = {r.telescope: r for r in answer.results}
        return [by_key[key] for key in request.telescopes]
    assert isinstance(answer, PairAnswer | CitedPairAnswer)
    return [answer]


def _judged(request: Request, answer: BaseModel) -> list[Verdict]:
    locator = QuoteLocator(request.inputs[0].pair.paper)
    return [
        judge(a, item, locator, request.sentences)
        for a, item in zip(_answers(request, answer), request.inputs, strict=True)
    ]


def _final(request: Request, answer: BaseModel, verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts with unsupported science/instrumentation claims downgraded, and the
    answer's links on those still science or instrumentation."""
    out = []
    for verdict, item, pair_answer, labelled in zip(
        verdicts, request.inputs, _answers(request, answer), request.candidates, strict=True
    ):
        final = downgrade(verdict, item, pair_answer)
        if isinstance(pair_answer, CitedPairAnswer) and pair_answer.gives_links:
            strong = final.labels.science or final.labels.instrumentation
            paper = item.pair.paper
            final.links = (
                answer_links(pair_answer, paper, item.telescope, labelled, request.sentences)
                if strong
                else []
            )
        out.append(final)
    return out

"""The provider Batch API's transport (files and batches), inside the provider seam.

OpenAI-protocol calls, through the ``openai`` SDK (installed with litellm):
upload an input JSONL (``purpose="batch"``), create a batch, read its status,
download a result file, and list files and batches (to find what an interrupted
run uploaded or created before its answer was lost). The SDK retries
429/5xx/timeouts itself (``max_retries`` from the config) and honours
``Retry-After``, except for uploads and creations: retrying those blindly could
upload or create twice, so the caller retries them after looking for what the
failed attempt left. Errors become ``LLMRequestError`` or, when no retry can
help (key, URL, model), ``LLMUnavailableError``. Everything is returned as plain
dicts and bytes so no SDK type leaks out.
"""

from __future__ import annotations

from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from amc.classify.llm.errors import LLMError, LLMRequestError, LLMUnavailableError
from amc.classify.llm.provider.common import DUMMY_KEY, FATAL_STATUS, short_error
from amc.settings.llm import LLMSettings

#: the chat endpoint every line of an input file targets
CHAT_ENDPOINT = "/v1/chat/completions"


@cache
def _openai() -> Any:
    """Import the SDK on first use (about a second) so the CLI starts fast."""
    import openai

    return openai


def provider_model(model: str) -> str:
    """The model name the provider expects in a line's body ('openai/gpt-4o-mini' ->
    'gpt-4o-mini'); other litellm providers have no OpenAI Batch API."""
    if model.startswith("openai/"):
        return model.removeprefix("openai/")
    if "/" in model:
        raise LLMError(
            f"model {model!r}: the Batch API mode speaks the OpenAI protocol only; use an "
            "'openai/<model>' model (with --api-base for a compatible server) or the online mode"
        )
    return model


class ProviderBatchClient:
    """The Batch API endpoints of one provider (``config.api_base``, default OpenAI)."""

    def __init__(self, config: LLMSettings) -> None:
        self.config = config
        openai = _openai()
        key = config.key or (DUMMY_KEY if config.api_base else None)
        try:
            self._client = openai.OpenAI(
                api_key=key,
                base_url=config.api_base,
                timeout=config.timeout_s,
                max_retries=config.max_retries,
            )
        except openai.OpenAIError as exc:  # no key given and none in the environment
            raise LLMUnavailableError(
                f"cannot reach the Batch API: {exc}; set OPENAI_API_KEY or --api-key"
            ) from None

    def upload(self, source: bytes | Path, filename: str) -> str:
        """Upload an input JSONL file (bytes, or a file streamed from disk); its file id.
        Not retried here (see the module docstring)."""
        create = self._client.with_options(max_retries=0).files.create
        if isinstance(source, Path):
            with source.open("rb") as handle:
                file = self._call(
                    "upload the batch input",
                    create,
                    file=(filename, handle, "application/jsonl"),
                    purpose="batch",
                )
        else:
            file = self._call(
                "upload the batch input",
                create,
                file=(filename, source, "application/jsonl"),
                purpose="batch",
            )
        return str(file.id)

    def create(self, input_file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        """Create a chat-completions batch over an uploaded file (24 h window). Not retried
        here (see the module docstring)."""
        batch = self._call(
            "create the batch",
            self._client.with_options(max_retries=0).batches.create,
            input_file_id=input_file_id,
            endpoint=CHAT_ENDPOINT,
            completion_window="24h",
            metadata=metadata,
        )
        return dict(batch.model_dump())

    def find_file(self, filename: str, size: int) -> str | None:
        """The id of an uploaded batch input file with this name and size, if any."""
        files = self._call(  # the SDK fetches the next pages as the list is read
            "list the uploaded files", lambda: list(self._client.files.list(purpose="batch"))
        )
        for file in files:
            if file.filename == filename and (not size or file.bytes == size):
                return str(file.id)
        return None

    def find_batch(self, input_file_id: str, limit: int = 1000) -> dict[str, Any] | None:
        """The most recent batch over ``input_file_id`` among the last ``limit``, if any."""
        batches = self._call(
            "list the batches", lambda: list(islice(self._client.batches.list(limit=100), limit))
        )
        for batch in batches:
            if batch.input_file_id == input_file_id:
                return dict(batch.model_dump())
        return None

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch's current state (status, file ids, request counts, errors)."""
        batch = self._call(f"read batch {batch_id}", self._client.batches.retrieve, batch_id)
        return dict(batch.model_dump())

    def download(self, file_id: str) -> bytes:
        """The content of a result file (output or error JSONL)."""
        response = self._call(f"download file {file_id}", self._client.files.content, file_id)
        return bytes(response.content)

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        openai = _openai()
        try:
            return method(*args, **kwargs)
        except openai.APIStatusError as exc:
            message = f"could not {what}: HTTP {exc.status_code}: {short_error(exc)}"
            if exc.status_code in FATAL_STATUS:
                raise LLMUnavailableError(
                    f"{message}; check the API key (OPENAI_API_KEY or --api-key), --api-base "
                    "and whether the provider offers the Batch API"
                ) from None
            raise LLMRequestError(message) from None
        except openai.OpenAIError as exc:  # connection lost, timeout (after the SDK's retries)
            raise LLMRequestError(
                f"could not {what} at {self.config.api_base or 'the provider'}: "
                f"{short_error(exc)}; "
                "run again with the same state file to resume"
            ) from None

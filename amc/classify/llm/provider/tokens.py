"""Token counts and bundled prices, offline (litellm ships its tokenizers and price map)."""

from __future__ import annotations

from amc.classify.llm.provider.common import ChatMessages, load_litellm


def count_tokens(model: str, messages: ChatMessages) -> int:
    """Prompt tokens of ``messages`` for ``model``; works offline (bundled tokenizers)."""
    return int(load_litellm().token_counter(model=model, messages=messages))


def count_text_tokens(model: str, text: str) -> int:
    """Tokens of a plain text for ``model`` (offline)."""
    return int(load_litellm().token_counter(model=model, text=text))


#: models litellm has no price for (asking again costs ~0.5 ms per call)
_unpriced_models: set[str] = set()


def bundled_price(
    model: str, prompt_tokens: int, completion_tokens: int, cached: int = 0, written: int = 0
) -> float | None:
    """Cost in US dollars from litellm's bundled price map, with the prompt-cache tokens
    (``cached`` read, ``written``; both parts of ``prompt_tokens``) at the model's cache
    prices where the map has them; None for an unmapped model."""
    if model in _unpriced_models:
        return None
    try:
        prompt_cost, completion_cost = load_litellm().cost_per_token(
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cache_read_input_tokens=cached,
            cache_creation_input_tokens=written,
        )
    except Exception:  # litellm raises several kinds for unmapped (local) models
        _unpriced_models.add(model)
        return None
    return float(prompt_cost) + float(completion_cost)

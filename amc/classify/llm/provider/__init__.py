"""The one seam to model providers: the only code that imports litellm, the OpenAI SDK or
aiohttp.

- ``chat``: ``LLMClient`` (one chat request: concurrency, retries, breaker, output style);
- ``openai_http``: the lean pooled HTTP transport for OpenAI-compatible endpoints;
- ``batches``: files and batches of the provider's Batch API;
- ``tokens``: token counts and bundled prices (litellm's offline tables).
"""

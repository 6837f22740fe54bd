"""A token bucket in Redis, shared by every worker: LLM requests and tokens per minute.

Providers limit an API key, not a process, so the limit must hold for the whole
fleet. Each bucket holds at most one minute's allowance and refills continuously;
one Lua script checks and takes both buckets atomically, using Redis's own clock
so workers on machines with skewed clocks agree. A worker calls ``acquire``
before submitting a paper's pairs to the LLM tier (``amc.batches._acquire``).
"""

from __future__ import annotations

import random
import time
from typing import Any

import redis

from amc.domain.errors import AmcError

KEY_PREFIX = "amc:ratelimit:"
#: longest single sleep, so a freed bucket (e.g. limits raised) is noticed soon
MAX_SLEEP_S = 2.0

# KEYS[1]: bucket hash. ARGV: rpm, tpm (0 = unlimited), requests, tokens, force (1: take
# without checking). Returns the seconds to wait (as a string: Lua numbers become integers).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local need_r, need_t, force = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local b = redis.call('HMGET', KEYS[1], 'req', 'tok', 'ts')
local req, tok = tonumber(b[1]) or rpm, tonumber(b[2]) or tpm
local dt = math.max(0, now - (tonumber(b[3]) or now))
req = math.min(rpm, req + dt * rpm / 60)
tok = math.min(tpm, tok + dt * tpm / 60)
local wait = 0
if not force then
  if rpm > 0 and req < need_r then wait = math.max(wait, (need_r - req) * 60 / rpm) end
  if tpm > 0 and tok < need_t then wait = math.max(wait, (need_t - tok) * 60 / tpm) end
end
if wait == 0 then
  if rpm > 0 then req = req - need_r end
  if tpm > 0 then tok = tok - need_t end
end
redis.call('HSET', KEYS[1], 'req', req, 'tok', tok, 'ts', now)
redis.call('EXPIRE', KEYS[1], 300)
return tostring(wait)
"""


class RateLimitError(AmcError):
    """The shared rate limit cannot be consulted (Redis unreachable)."""

    kind = "rate_limit"


class RedisTokenBucket:
    """Requests-per-minute and tokens-per-minute buckets in Redis (``amc.batches.Limiter``).

    ``rpm``/``tpm`` of None mean no limit on that dimension. ``name`` keys the
    bucket: one per model, since providers limit each model separately.
    """

    def __init__(
        self, client: redis.Redis, rpm: int | None, tpm: int | None, name: str = "default"
    ) -> None:
        self.client = client
        self.rpm = rpm or 0
        self.tpm = tpm or 0
        self.key = KEY_PREFIX + name
        self._script = client.register_script(_SCRIPT)

    @classmethod
    def from_url(cls, url: str, rpm: int | None, tpm: int | None, name: str) -> RedisTokenBucket:
        return cls(redis.Redis.from_url(url), rpm, tpm, name)

    def acquire(self, requests: int, tokens: int) -> float:
        """Wait until ``requests`` calls and ``tokens`` tokens fit; the seconds waited.

        A request bigger than a whole minute's allowance is clamped to it (it could
        never fit otherwise) and so waits for a full bucket.
        """
        requests = min(requests, self.rpm) if self.rpm else requests
        tokens = min(tokens, self.tpm) if self.tpm else tokens
        waited = 0.0
        while (wait := self._take(requests, tokens, force=False)) > 0:
            # jitter: workers woken together must not stampede the bucket
            pause = min(wait, MAX_SLEEP_S) * random.uniform(1.0, 1.1)
            time.sleep(pause)
            waited += pause
        return waited

    def charge(self, tokens: int) -> None:
        """Take ``tokens`` now even if the bucket goes negative (callers then wait longer)."""
        if tokens > 0 and self.tpm:
            self._take(0, tokens, force=True)

    def _take(self, requests: int, tokens: int, force: bool) -> float:
        args: list[Any] = [self.rpm, self.tpm, requests, tokens, "1" if force else "0"]
        try:
            return float(self._script(keys=[self.key], args=args))
        except redis.RedisError as exc:
            raise RateLimitError(
                f"cannot reach Redis for the shared LLM rate limit ({exc}); "
                "check AMC_BROKER_URL or unset AMC_LLM_RPM/AMC_LLM_TPM"
            ) from None

"""Sliding-window rate limits in Redis, and the ``RateLimit-*`` headers that report them.

Each window is a sorted set of the accepted requests' times (a sliding log: exact, at most ``limit``
members). One Lua script checks every window of a request and records it in all of them only if all
allow it, so a refused request costs nothing. Time is Redis's (``TIME``), shared by every replica.

Windows of one API request (all one hour):
- signed in: ``rl:user:{id}`` at the account's ``requests_per_hour`` (none when unlimited);
- anonymous: ``rl:anon:{ip}`` at the free tier's ``requests_per_hour``;
- always: ``rl:ip:{ip}`` at ``rate_limit_ip_per_hour`` (many accounts behind one address).

Headers (draft-ietf-httpapi-ratelimit-headers-07) describe the tightest window: ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` (s until a slot frees), ``RateLimit-Policy``
(``100;w=3600``); a 429 adds ``Retry-After`` (s, RFC 9110 §10.2.3).
Source: https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-ratelimit-headers-07
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

WINDOW_S = 3600

_SCRIPT = r"""
local window = tonumber(ARGV[1])
local member = ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {now}
local allowed = 1
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or now
  if count >= limit then allowed = 0 end
  out[#out + 1] = count
  out[#out + 1] = tonumber(oldest)
end
if allowed == 1 then
  for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, window)
  end
end
table.insert(out, 1, allowed)
return out
"""


@dataclass(frozen=True)
class Window:
    """One window to count a request in: its Redis key, its limit (requests per hour) and its name."""

    key: str
    limit: int
    scope: str


@dataclass(frozen=True)
class WindowState:
    """A window after the request: how many of ``limit`` remain and when the oldest counted request
    leaves it (``reset_s``)."""

    window: Window
    remaining: int
    reset_s: int


@dataclass(frozen=True)
class Verdict:
    """Whether the request passed, and every window's state."""

    allowed: bool
    states: list[WindowState]

    def tightest(self) -> WindowState:
        """The window with the fewest requests left (the one the headers describe)."""
        return min(self.states, key=lambda s: (s.remaining, -s.reset_s))

    def refusing(self) -> WindowState | None:
        """The exhausted window that frees up last, when the request was refused."""
        full = [s for s in self.states if s.remaining == 0]
        return max(full, key=lambda s: s.reset_s) if not self.allowed and full else None

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers (and ``Retry-After`` when refused); empty without windows."""
        if not self.states:
            return {}
        s = self.tightest()
        out = {
            "RateLimit-Limit": str(s.window.limit),
            "RateLimit-Remaining": str(s.remaining),
            "RateLimit-Reset": str(s.reset_s),
            "RateLimit-Policy": f"{s.window.limit};w={WINDOW_S}",
        }
        refusing = self.refusing()
        if refusing is not None:
            out["Retry-After"] = str(refusing.reset_s)
        return out


class RateLimiter:
    """Checks and records requests against sliding one-hour windows."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, windows: list[Window]) -> Verdict:
        """Count one request in every window if all of them allow it."""
        if not windows:
            return Verdict(True, [])
        raw = await self._script(
            keys=[w.key for w in windows],
            args=[WINDOW_S * 1000, uuid.uuid4().hex, *(w.limit for w in windows)],
        )
        allowed, now = bool(int(raw[0])), int(raw[1])
        states = []
        for i, w in enumerate(windows):
            count, oldest = int(raw[2 + 2 * i]), int(raw[3 + 2 * i])
            used = count + (1 if allowed else 0)
            reset_ms = oldest + WINDOW_S * 1000 - now if count else WINDOW_S * 1000
            states.append(WindowState(w, max(0, w.limit - used), max(1, math.ceil(reset_ms / 1000))))
        return Verdict(allowed, states)

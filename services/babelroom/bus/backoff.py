"""Capped exponential back-off with full jitter, for loops that retry a dependency (Redis, Postgres).

The n-th consecutive failure waits a random time in ``[0, min(cap_s, base_s · 2ⁿ)]``, never less than
``base_s / 2``; a success resets the sequence. With the defaults: 0.2 s, 0.4 s, 0.8 s … up to 5 s.

Source: "Exponential Backoff And Jitter", AWS Architecture Blog (2015), the "full jitter" variant.
"""

from __future__ import annotations

import asyncio
import contextlib
import random


class Backoff:
    """The delays of one retry loop.

    Args:
        base_s: the first delay's upper bound (s).
        cap_s: the largest delay (s).
    """

    def __init__(self, base_s: float = 0.2, cap_s: float = 5.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (s); counts one more failure."""
        ceiling = min(self.cap_s, self.base_s * 2**self.failures)
        self.failures += 1
        return max(self.base_s / 2, random.uniform(0, ceiling))

    def reset(self) -> None:
        """A success: the next failure waits ``base_s`` again."""
        self.failures = 0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Sleep :meth:`next_delay`, returning early when ``stop`` is set."""
        delay = self.next_delay()
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

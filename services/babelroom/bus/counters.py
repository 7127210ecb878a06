"""Sequence counters in Redis that never go back, even when Redis loses its data.

The per-speaker ``seq`` and the room-wide ``room_seq`` are Redis counters (``INCR``). A Redis that
restarts without its data would start them again at 1, and a new final would then reuse the number
of one already stored (``transcript_segments`` is unique per room + speaker + seq, so it would be
dropped as a replay). Whoever assigns numbers therefore remembers the highest one it knows of (the
``floor``: what it issued, or what PostgreSQL holds) and :func:`incr_above` lifts the counter above it
in one atomic step.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

# KEYS[1]: the counter; ARGV[1]: the floor. INCR, and if the result is not above the floor, jump to floor + 1.
_INCR_ABOVE = """
local value = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if value <= floor then
  value = floor + 1
  redis.call('SET', KEYS[1], value)
end
return value
"""


async def incr_above(redis: aioredis.Redis, key: str, floor: int) -> int:
    """``INCR key``, but never a value ``<= floor`` (the counter is set to ``floor + 1`` then).

    Args:
        key: the counter's key (it has no expiry of its own here).
        floor: the highest number already in use (0: none).

    Returns:
        The new number, ``> floor``.

    Raises:
        redis.exceptions.ConnectionError: Redis is unreachable.
    """
    return int(cast(int, await redis.eval(_INCR_ABOVE, 1, key, str(floor))))

"""Capacity of the STT and MT pools, counted in concurrent speaking streams, kept in Redis.

Every STT and MT worker registers itself (``register``) with its slot count
(``worker_capacity_streams``) and renews that every ``capacity_heartbeat_s``; an instance not heard
from for ``capacity_instance_ttl_s`` is gone. A speaking participant holds a **lease** (``room|user``)
with one slot on one instance of each pool. Leases are renewed by the participant's open sockets and
heartbeats and lapse after ``room_lease_ttl_s`` without one (a vanished client frees its slots by
itself). A listen-only participant holds a lease with no slot, which only marks presence.

All state changes run in one Lua script, so any number of gateway replicas can admit concurrently
and the last slot goes to exactly one of them. Time is Redis's own (``TIME``), not the replicas'.

Keys (``{pool}`` is ``stt`` or ``mt``):
- ``cap:{pool}:alive`` ZSET instance → registration expiry (Unix s);
- ``cap:{pool}:slots`` HASH instance → slots; ``cap:{pool}:draining`` SET of draining instances;
- ``cap:{pool}:used:{instance}`` ZSET lease → lease expiry;
- ``cap:lease:{lease}`` HASH pool → instance (+ ``room``), expiring with the lease;
- ``cap:room:{room}`` SET of the room's leases.

Placement picks the live, non-draining instance with the lowest utilisation. A lease whose instance
died is moved to another live instance on its next renewal if one has a free slot; if none has, the
lease stays without a slot in that pool (the stream goes on: the consumer groups spread the work)
until one frees up. The script touches keys it computes, so it needs a single Redis, not a cluster.

Source: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from babelroom import metrics

log = structlog.get_logger(__name__)

POOLS = ("stt", "mt")

_SCRIPT = r"""
local op = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6

local function k(pool, what) return 'cap:' .. pool .. ':' .. what end

local function live(pool)
  local alive = k(pool, 'alive')
  for _, inst in ipairs(redis.call('ZRANGEBYSCORE', alive, '-inf', now)) do
    redis.call('ZREM', alive, inst)
    redis.call('HDEL', k(pool, 'slots'), inst)
    redis.call('SREM', k(pool, 'draining'), inst)
    redis.call('DEL', k(pool, 'used:' .. inst))
  end
  return redis.call('ZRANGEBYSCORE', alive, '(' .. now, '+inf')
end

local function used(pool, inst)
  local key = k(pool, 'used:' .. inst)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZCARD', key)
end

local function pick(pool)
  local best, ratio = nil, 2
  for _, inst in ipairs(live(pool)) do
    if redis.call('SISMEMBER', k(pool, 'draining'), inst) == 0 then
      local slots = tonumber(redis.call('HGET', k(pool, 'slots'), inst) or '0')
      local n = used(pool, inst)
      if slots > 0 and n < slots and n / slots < ratio then best, ratio = inst, n / slots end
    end
  end
  return best
end

local function placed(pool, inst, lease)
  if not inst or inst == '' then return false end
  local alive = redis.call('ZSCORE', k(pool, 'alive'), inst)
  local held = redis.call('ZSCORE', k(pool, 'used:' .. inst), lease)
  return alive and tonumber(alive) > now and held and tonumber(held) > now
end

local function drop(lease, room)
  local lkey = 'cap:lease:' .. lease
  local fields = redis.call('HGETALL', lkey)
  for i = 1, #fields, 2 do
    if fields[i] ~= 'room' and fields[i + 1] ~= '' then
      redis.call('ZREM', k(fields[i], 'used:' .. fields[i + 1]), lease)
    end
  end
  redis.call('DEL', lkey)
  redis.call('SREM', 'cap:room:' .. room, lease)
end

if op == 'acquire' then
  local ttl, lease, room = tonumber(ARGV[2]), ARGV[3], ARGV[4]
  local lkey = 'cap:lease:' .. lease
  local chosen = {}
  for i = 5, #ARGV do
    local pool = ARGV[i]
    local current = redis.call('HGET', lkey, pool)
    if placed(pool, current, lease) then
      chosen[pool] = current
    else
      local inst = pick(pool)
      if not inst then return {0, pool} end
      chosen[pool] = inst
    end
  end
  for pool, inst in pairs(chosen) do
    local previous = redis.call('HGET', lkey, pool)
    if previous and previous ~= '' and previous ~= inst then
      redis.call('ZREM', k(pool, 'used:' .. previous), lease)
    end
    redis.call('ZADD', k(pool, 'used:' .. inst), now + ttl, lease)
    redis.call('HSET', lkey, pool, inst)
  end
  redis.call('HSET', lkey, 'room', room)
  redis.call('PEXPIRE', lkey, math.floor(ttl * 1000))
  redis.call('SADD', 'cap:room:' .. room, lease)
  return {1, ''}
elseif op == 'renew' then
  local ttl, lease = tonumber(ARGV[2]), ARGV[3]
  local lkey = 'cap:lease:' .. lease
  if redis.call('EXISTS', lkey) == 0 then return {0, 'gone'} end
  local unplaced = ''
  local fields = redis.call('HGETALL', lkey)
  for i = 1, #fields, 2 do
    local pool, inst = fields[i], fields[i + 1]
    if pool ~= 'room' then
      if not placed(pool, inst, lease) then
        if inst ~= '' then redis.call('ZREM', k(pool, 'used:' .. inst), lease) end
        inst = pick(pool) or ''
        redis.call('HSET', lkey, pool, inst)
      end
      if inst == '' then unplaced = pool else redis.call('ZADD', k(pool, 'used:' .. inst), now + ttl, lease) end
    end
  end
  redis.call('PEXPIRE', lkey, math.floor(ttl * 1000))
  return {1, unplaced}
elseif op == 'release' then
  drop(ARGV[2], ARGV[3])
  return {1, ''}
elseif op == 'release_room' then
  local room = ARGV[2]
  for _, lease in ipairs(redis.call('SMEMBERS', 'cap:room:' .. room)) do drop(lease, room) end
  redis.call('DEL', 'cap:room:' .. room)
  return {1, ''}
elseif op == 'register' then
  local ttl, pool, inst, slots = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
  redis.call('ZADD', k(pool, 'alive'), now + ttl, inst)
  redis.call('HSET', k(pool, 'slots'), inst, slots)
  return {1, ''}
elseif op == 'deregister' then
  local pool, inst = ARGV[2], ARGV[3]
  redis.call('ZREM', k(pool, 'alive'), inst)
  redis.call('HDEL', k(pool, 'slots'), inst)
  redis.call('SREM', k(pool, 'draining'), inst)
  redis.call('DEL', k(pool, 'used:' .. inst))
  return {1, ''}
elseif op == 'drain' then
  local pool, inst, on = ARGV[2], ARGV[3], ARGV[4]
  local alive = redis.call('ZSCORE', k(pool, 'alive'), inst)
  if not alive or tonumber(alive) <= now then return {0, 'unknown'} end
  if on == '1' then redis.call('SADD', k(pool, 'draining'), inst) else redis.call('SREM', k(pool, 'draining'), inst) end
  return {1, ''}
elseif op == 'snapshot' then
  local out = {}
  for i = 2, #ARGV do
    local pool = ARGV[i]
    for _, inst in ipairs(live(pool)) do
      out[#out + 1] = pool
      out[#out + 1] = inst
      out[#out + 1] = redis.call('HGET', k(pool, 'slots'), inst) or '0'
      out[#out + 1] = used(pool, inst)
      out[#out + 1] = redis.call('SISMEMBER', k(pool, 'draining'), inst)
    end
  end
  return out
end
return redis.error_reply('unknown op ' .. op)
"""


class NoCapacity(Exception):
    """No live, non-draining instance of ``pool`` has a free slot.

    Args:
        pool: ``stt`` or ``mt``.
        retry_after_s: an estimate of when to try again (s), when the raiser has one (the room
            manager does; the HTTP API sends it as ``Retry-After``).
    """

    def __init__(self, pool: str, retry_after_s: int | None = None) -> None:
        super().__init__(f"no {pool.upper()} capacity left: every instance is full, draining or gone")
        self.pool, self.retry_after_s = pool, retry_after_s


@dataclass(frozen=True)
class InstanceState:
    """One registered worker instance as the capacity state sees it."""

    pool: str
    instance: str
    slots: int
    used: int
    draining: bool

    @property
    def utilisation(self) -> float:
        return self.used / self.slots if self.slots else 0.0


def lease_id(room: str, user: str) -> str:
    """The lease of ``user`` in ``room``."""
    return f"{room}|{user}"


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Capacity:
    """The Redis capacity state (see the module docstring).

    Args:
        redis: asyncio client of the shared Redis.
        lease_ttl_s: how long a lease lives without renewal (s).
    """

    def __init__(self, redis: aioredis.Redis, lease_ttl_s: float) -> None:
        self.redis = redis
        self.lease_ttl_s = lease_ttl_s
        self._script = redis.register_script(_SCRIPT)

    async def _run(self, *args: object) -> list:
        return await self._script(args=[str(a) for a in args])

    async def acquire(self, room: str, user: str, pools: tuple[str, ...] = POOLS) -> None:
        """Give ``user`` in ``room`` a lease with a slot in each of ``pools`` (none: presence only).

        Idempotent: a lease that already holds a live slot keeps it (and is renewed).

        Raises:
            NoCapacity: some pool has no free slot; then nothing changed.
        """
        ok, pool = await self._run("acquire", self.lease_ttl_s, lease_id(room, user), room, *pools)
        if not int(ok):
            metrics.CAPACITY_REFUSED.labels(_s(pool)).inc()
            raise NoCapacity(_s(pool))

    async def renew(self, room: str, user: str) -> bool:
        """Extend the lease (re-placing a slot whose instance died); False when it has lapsed."""
        ok, unplaced = await self._run("renew", self.lease_ttl_s, lease_id(room, user))
        if int(ok) and unplaced:
            log.warning("capacity.unplaced", room=room, user=user, pool=_s(unplaced))
        return bool(int(ok))

    async def release(self, room: str, user: str) -> None:
        """Free ``user``'s slots in ``room`` (leave)."""
        await self._run("release", lease_id(room, user), room)

    async def release_room(self, room: str) -> None:
        """Free every slot of ``room`` (close, expiry)."""
        await self._run("release_room", room)

    async def present(self, room: str, users: list[str]) -> set[str]:
        """Which of ``users`` still hold a live lease in ``room``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for user in users:
                pipe.exists(f"cap:lease:{lease_id(room, user)}")
            found = await pipe.execute()
        return {user for user, n in zip(users, found, strict=True) if n}

    async def register(self, pool: str, instance: str, slots: int, ttl_s: float) -> None:
        """Register (or renew) a worker ``instance`` of ``pool`` with ``slots`` for ``ttl_s``."""
        await self._run("register", ttl_s, pool, instance, slots)

    async def deregister(self, pool: str, instance: str) -> None:
        """Remove an instance at once (clean shutdown); its leases move on their next renewal."""
        await self._run("deregister", pool, instance)

    async def set_draining(self, pool: str, instance: str, draining: bool) -> bool:
        """Start or stop draining a live instance; False when no such instance is registered."""
        ok, _ = await self._run("drain", pool, instance, "1" if draining else "0")
        return bool(int(ok))

    async def snapshot(self, pools: tuple[str, ...] = POOLS) -> list[InstanceState]:
        """Every live instance with its slots, used slots and drain flag (expired state purged)."""
        flat = await self._run("snapshot", *pools)
        return [
            InstanceState(_s(flat[i]), _s(flat[i + 1]), int(flat[i + 2]), int(flat[i + 3]), bool(int(flat[i + 4])))
            for i in range(0, len(flat), 5)
        ]


def export_gauges(states: list[InstanceState], previous: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Set the per-instance capacity gauges; remove those of instances gone since ``previous``.

    Returns:
        The (pool, worker) label pairs exported now, to pass as ``previous`` next time.
    """
    current = set()
    for s in states:
        labels = (s.pool, s.instance)
        current.add(labels)
        metrics.CAPACITY_SLOTS.labels(*labels).set(s.slots)
        metrics.CAPACITY_SLOTS_USED.labels(*labels).set(s.used)
        metrics.CAPACITY_UTILISATION.labels(*labels).set(s.utilisation)
        metrics.CAPACITY_DRAINING.labels(*labels).set(1 if s.draining else 0)
    for labels in previous - current:
        for gauge in (metrics.CAPACITY_SLOTS, metrics.CAPACITY_SLOTS_USED, metrics.CAPACITY_UTILISATION,
                      metrics.CAPACITY_DRAINING):
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)
    return current


async def keep_registered(capacity: Capacity, pool: str, instance: str, slots: int,
                          interval_s: float, ttl_s: float, stop: asyncio.Event | None = None) -> None:
    """A worker's registration loop: renew every ``interval_s`` until ``stop`` is set (or the task is
    cancelled), then deregister.

    Every heartbeat writes the whole registration, so one lost with Redis's data (a restart with no
    persistence, FLUSHALL) is back at the next heartbeat. A failed heartbeat (Redis unreachable,
    loading, any error) is logged and retried at the next one; it never ends the loop. Prefer
    ``stop`` to cancelling: the Redis client may swallow a cancellation that lands mid-command.
    """
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                await capacity.register(pool, instance, slots, ttl_s)
            except Exception as exc:  # noqa: BLE001 - the registration must outlive any Redis failure
                log.error("capacity.register_failed", pool=pool, instance=instance, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
    finally:
        try:
            await asyncio.shield(capacity.deregister(pool, instance))
        except Exception as exc:  # noqa: BLE001 - Redis may be gone at shutdown; the TTL cleans up
            log.warning("capacity.deregister_failed", pool=pool, instance=instance, error=str(exc))

"""The consume loop shared by every pipeline stage (STT, MT, persist …).

A stage reads a batch of entries, parses each with its schema, hands the parsed batch to a handler
and acknowledges the entries the handler finished. Failures and what the loop does about them:

- Redis unreachable (connection refused, reset, timeout, still loading its data): retry with capped
  exponential back-off (0.2 s → 5 s, jittered); ``babelroom_bus_reconnects_total`` counts each recovery.
- The stream or the consumer group is gone (NOGROUP: Redis restarted empty, or lost its data): create
  both again (XGROUP CREATE … MKSTREAM) and go on.
- A malformed entry: copied to ``<stream>:dead`` (reason ``malformed``) and acknowledged.
- The handler raised :class:`DependencyDown` (its database … is unreachable): the batch is held, its
  entries kept pending under this consumer without counting deliveries, and retried with back-off
  until the dependency is back (or ``stop``).
- The handler raised :class:`BadEntry`: a batch is split and retried entry by entry; an entry that
  fails alone is dead-lettered (reason ``bad_entry``).
- The handler raised anything else: the batch stays pending and is reclaimed after ``claim_idle_ms``;
  an entry delivered more than ``max_deliveries`` times is dead-lettered (reason ``max_deliveries``).
- Any other error (a Redis reply the loop does not expect …) ends :func:`run_stage` with it, and
  :class:`~babelroom.bus.health.StageHealth` turns ``dead``: the worker process then exits (70).

Every dead letter is counted in ``babelroom_bus_dead_letters_total{stream,reason}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import structlog
from pydantic import ValidationError
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from babelroom import metrics
from babelroom.bus.backoff import Backoff
from babelroom.bus.health import StageHealth
from babelroom.bus.schemas import Message, now_ms
from babelroom.bus.streams import Consumer, Entry

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Message)
BatchHandler = Callable[[list[tuple[Entry, M]]], Awaitable[None]]

#: Redis errors after which the loop retries: the server is unreachable, restarting or loading.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)


class DependencyDown(Exception):
    """Raised by a handler when a dependency it needs (the database …) is unreachable.

    The batch is not at fault: :func:`run_stage` holds it and retries it until the dependency is back.
    """


class BadEntry(Exception):
    """Raised by a handler when its batch holds an entry that can never be processed (a constraint it
    violates …); :func:`run_stage` finds it by retrying the batch entry by entry, and dead-letters it."""


class Revision(Protocol):
    """What :func:`prioritise` reads of a message (:class:`SegmentAudio`, :class:`Transcript`)."""

    @property
    def kind(self) -> str: ...
    @property
    def segment_id(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def timings(self) -> dict[str, float]: ...


R = TypeVar("R", bound=Revision)


def _group_missing(exc: ResponseError) -> bool:
    """NOGROUP: the stream or group is gone; UNBLOCKED: it went while XREADGROUP was waiting on it."""
    return str(exc).startswith(("NOGROUP", "UNBLOCKED"))


async def _deliveries(consumer: Consumer, entry_id: str) -> int:
    pending = await consumer.redis.xpending_range(
        consumer.stream, consumer.group, min=entry_id, max=entry_id, count=1
    )
    return int(pending[0]["times_delivered"]) if pending else 0


async def _dead_letter(consumer: Consumer, entry: Entry, reason: str, error: str = "") -> None:
    log.error("bus.dead_letter", stream=consumer.stream, id=entry.id, reason=reason, error=error)
    metrics.BUS_POISON.labels(consumer.stream).inc()
    metrics.BUS_DEAD_LETTERS.labels(consumer.stream, reason).inc()
    await consumer.dead_letter(entry, reason)


class _Loop(Generic[M]):
    """One :func:`run_stage` call's state (see there)."""

    def __init__(self, consumer: Consumer, schema: type[M], handler: BatchHandler[M], *, batch_size: int,
                 max_deliveries: int, stop: asyncio.Event, health: StageHealth) -> None:
        self.consumer, self.schema, self.handler = consumer, schema, handler
        self.batch_size, self.max_deliveries = batch_size, max_deliveries
        self.stop, self.health = stop, health
        self.backoff = Backoff()
        self.group_ready = False
        self.lost = False

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                await self._round()
            except REDIS_UNAVAILABLE as exc:
                await self._retry("redis_unavailable", exc)
            except ResponseError as exc:
                if not _group_missing(exc):
                    raise
                self.group_ready = False
                await self._retry("group_missing", exc)

    async def _retry(self, reason: str, exc: Exception) -> None:
        if not self.lost:
            log.error("bus.lost", stream=self.consumer.stream, reason=reason, error=str(exc))
        self.lost = True
        self.health.set("reconnecting", reason)
        await self.backoff.wait(self.stop)

    async def _round(self) -> None:
        consumer = self.consumer
        if not self.group_ready:
            await consumer.start()
            self.group_ready = True
        entries = await consumer.read(self.batch_size)
        if self.lost:
            self.lost = False
            metrics.BUS_RECONNECTS.labels(consumer.stream).inc()
            log.info("bus.resumed", stream=consumer.stream, consumer=consumer.name)
        self.backoff.reset()
        self.health.read_ok()
        batch: list[tuple[Entry, M]] = []
        for entry in entries:
            if entry.reclaimed and await _deliveries(consumer, entry.id) > self.max_deliveries:
                await _dead_letter(consumer, entry, "max_deliveries")
                continue
            try:
                batch.append((entry, self.schema.from_fields(entry.fields)))
            except (ValidationError, KeyError) as exc:
                await _dead_letter(consumer, entry, "malformed", str(exc))
        if batch:
            self.health.handling(True)
            try:
                await self._handle(batch)
            finally:
                self.health.handling(False)

    async def _handle(self, batch: list[tuple[Entry, M]]) -> None:
        consumer = self.consumer
        refresh_s = min(5.0, consumer.claim_idle_ms / 2000)  # kept pending well before others may claim
        held = Backoff(base_s=min(0.2, refresh_s / 2), cap_s=refresh_s)
        while True:
            try:
                await self.handler(batch)
            except DependencyDown as exc:
                if self.stop.is_set():
                    return  # left pending: reclaimed after claim_idle_ms
                if held.failures == 0:
                    log.error("stage.dependency_down", stream=consumer.stream, size=len(batch), error=str(exc))
                self.health.set("waiting", str(exc))
                await consumer.keep_pending(*(entry.id for entry, _ in batch))
                await held.wait(self.stop)
                continue
            except BadEntry as exc:
                if len(batch) == 1:
                    await _dead_letter(consumer, batch[0][0], "bad_entry", str(exc))
                    return
                for one in batch:
                    await self._handle([one])
                return
            except Exception:
                log.exception("stage.handler_failed", stream=consumer.stream, size=len(batch))
                return  # left pending: reclaimed by a live consumer after claim_idle_ms
            if held.failures:
                log.info("stage.dependency_back", stream=consumer.stream)
                self.health.read_ok()
            await consumer.ack(*(entry.id for entry, _ in batch))
            return


async def run_stage(
    consumer: Consumer,
    schema: type[M],
    handler: BatchHandler[M],
    *,
    batch_size: int = 8,
    max_deliveries: int = 5,
    stop: asyncio.Event | None = None,
    health: StageHealth | None = None,
) -> None:
    """Consume ``consumer``'s stream until ``stop`` is set (or forever), riding out Redis outages.

    Args:
        schema: the message class of the stream.
        handler: processes a batch of ``(entry, message)``; it must finish (publish its outputs)
            before returning, since the entries are acknowledged right after. It may raise
            :class:`DependencyDown` or :class:`BadEntry` (see the module docstring).
        batch_size: entries read per XREADGROUP.
        max_deliveries: an entry delivered more often than this without success is dead-lettered.
        health: updated as the loop goes (see :class:`~babelroom.bus.health.StageHealth`).

    Raises:
        Exception: an unexpected error (not a Redis outage nor a lost group); ``health`` is then
            ``dead``.
    """
    health = health or StageHealth(consumer.block_ms / 1000)
    loop = _Loop(consumer, schema, handler, batch_size=batch_size, max_deliveries=max_deliveries,
                 stop=stop or asyncio.Event(), health=health)
    try:
        await loop.run()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        health.set("dead", repr(exc))
        raise


def prioritise(messages: list[R], stream: str, *, max_age_ms: float, stamp: str) -> list[R]:
    """Finals first (in order), then the newest partial of each segment that has no final here.

    A partial is shed (and counted in ``babelroom_bus_dropped_total``) when a newer partial or the
    final of its segment is in the same batch ("superseded"), or when more than ``max_age_ms`` passed
    since its ``timings[stamp]`` ("stale"). Finals are never shed.
    """
    finals = [m for m in messages if m.kind == "final"]
    final_ids = {m.segment_id for m in finals}
    newest: dict[str, R] = {}
    now = now_ms()
    for m in messages:
        if m.kind == "final":
            continue
        if m.segment_id in final_ids:
            metrics.BUS_DROPPED.labels(stream, "partial", "superseded").inc()
            continue
        if now - m.timings.get(stamp, now) > max_age_ms:
            metrics.BUS_DROPPED.labels(stream, "partial", "stale").inc()
            continue
        previous = newest.get(m.segment_id)
        if previous is not None:
            metrics.BUS_DROPPED.labels(stream, "partial", "superseded").inc()
            if previous.revision > m.revision:
                continue
        newest[m.segment_id] = m
    return finals + list(newest.values())

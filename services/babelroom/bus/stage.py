"""The consume loop shared by every pipeline stage (STT, MT …).

A stage reads a batch of entries, parses each with its schema, hands the parsed batch to a handler
and acknowledges the entries the handler finished. Malformed entries are acknowledged and counted
(``babelroom_bus_poison_total``); an entry whose handler raised stays pending and is reclaimed
after ``claim_idle_ms``, until it has been delivered ``max_deliveries`` times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import structlog
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from babelroom import metrics
from babelroom.bus.schemas import Message, now_ms
from babelroom.bus.streams import Consumer, Entry

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Message)
BatchHandler = Callable[[list[tuple[Entry, M]]], Awaitable[None]]


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


async def _deliveries(consumer: Consumer, entry_id: str) -> int:
    pending = await consumer.redis.xpending_range(
        consumer.stream, consumer.group, min=entry_id, max=entry_id, count=1
    )
    return int(pending[0]["times_delivered"]) if pending else 0


async def run_stage(
    consumer: Consumer,
    schema: type[M],
    handler: BatchHandler[M],
    *,
    batch_size: int = 8,
    max_deliveries: int = 5,
    stop: asyncio.Event | None = None,
) -> None:
    """Consume ``consumer``'s stream until ``stop`` is set (or forever).

    Args:
        schema: the message class of the stream.
        handler: processes a batch of ``(entry, message)``; it must finish (publish its outputs)
            before returning, since the entries are acknowledged right after.
        batch_size: entries read per XREADGROUP.
        max_deliveries: an entry delivered this often without success is dropped as poison.
    """
    await consumer.start()
    stop = stop or asyncio.Event()
    while not stop.is_set():
        batch: list[tuple[Entry, M]] = []
        try:
            entries = await consumer.read(batch_size)
        except RedisConnectionError as exc:
            log.error("bus.unreachable", stream=consumer.stream, error=str(exc))
            await asyncio.sleep(1.0)
            continue
        for entry in entries:
            if entry.reclaimed and await _deliveries(consumer, entry.id) > max_deliveries:
                log.error("bus.poison", stream=consumer.stream, id=entry.id, reason="max_deliveries")
                metrics.BUS_POISON.labels(consumer.stream).inc()
                await consumer.ack(entry.id)
                continue
            try:
                batch.append((entry, schema.from_fields(entry.fields)))
            except (ValidationError, KeyError) as exc:
                log.error("bus.poison", stream=consumer.stream, id=entry.id, error=str(exc))
                metrics.BUS_POISON.labels(consumer.stream).inc()
                await consumer.ack(entry.id)
        if not batch:
            continue
        try:
            await handler(batch)
        except Exception:
            log.exception("stage.handler_failed", stream=consumer.stream, size=len(batch))
            continue  # left pending: reclaimed by a live consumer after claim_idle_ms
        for entry, _ in batch:
            await consumer.ack(entry.id)


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

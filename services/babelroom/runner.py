"""Runs a pipeline stage as a service: the consume loop plus its ops HTTP server.

Once its model is loaded, the worker registers in the capacity state of its pool (the consumer
group: ``stt`` or ``mt``) as ``instance_id`` with ``worker_capacity_streams`` slots, renewed every
``capacity_heartbeat_s`` (see :mod:`babelroom.capacity`); it deregisters when it stops.

The process stops on SIGINT/SIGTERM: uvicorn catches the signal, the consume loop is cancelled,
and entries it had read but not acknowledged are reclaimed by another worker (XAUTOCLAIM).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
import structlog

from babelroom.bus.schemas import Message
from babelroom.bus.stage import BatchHandler, run_stage
from babelroom.bus.streams import Consumer
from babelroom.capacity import Capacity, keep_registered
from babelroom.config import Settings
from babelroom.ops_http import serve_ops

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)


def consumer_name(settings: Settings) -> str:
    """A name unique to this process within its consumer group."""
    return f"{settings.instance_id or socket.gethostname()}-{os.getpid()}"


async def run_worker(
    *,
    settings: Settings,
    redis: aioredis.Redis,
    stream: str,
    group: str,
    schema: type[M],
    load: Callable[[], Awaitable[BatchHandler[M]]],
    port: int,
    batch_size: int,
) -> None:
    """Serve ``/healthz``, ``/readyz``, ``/metrics`` at once; ``load()`` the model, then consume.

    ``/readyz`` reports ``model`` false until ``load()`` returned and ``redis`` false while Redis is
    unreachable.
    """
    consumer = Consumer(
        redis, stream, group, consumer_name(settings), claim_idle_ms=settings.bus_claim_idle_ms
    )
    loaded = asyncio.Event()

    async def consume() -> None:
        handler = await load()
        loaded.set()
        log.info("worker.started", stream=stream, group=group, consumer=consumer.name, port=port)
        registration = asyncio.create_task(keep_registered(
            Capacity(redis, settings.room_lease_ttl_s), group, settings.instance_id,
            settings.worker_capacity_streams, settings.capacity_heartbeat_s, settings.capacity_instance_ttl_s,
        ))
        try:
            await run_stage(consumer, schema, handler, batch_size=batch_size)
        finally:
            registration.cancel()
            await asyncio.gather(registration, return_exceptions=True)

    async def model_ready() -> bool:
        return loaded.is_set()

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    loop_task = asyncio.create_task(consume())
    try:
        await serve_ops({"model": model_ready, "redis": redis_ready}, "0.0.0.0", port)
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)
        await redis.aclose()
        log.info("worker.stopped", consumer=consumer.name)

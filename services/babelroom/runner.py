"""Runs a pipeline stage as a service: the consume loop plus its ops HTTP server.

Once its model is loaded, the worker registers in the capacity state of its pool (the consumer
group: ``stt`` or ``mt``) as ``instance_id`` with ``worker_capacity_streams`` slots, renewed every
``capacity_heartbeat_s`` (see :mod:`babelroom.capacity`); it deregisters when it stops.

The process stops on SIGINT/SIGTERM: uvicorn catches the signal, the consume loop is cancelled,
and entries it had read but not acknowledged are reclaimed by another worker (XAUTOCLAIM).

The consume loop rides out Redis outages by itself (:func:`babelroom.bus.stage.run_stage`). If it
ends anyway (the model failed to load, an unexpected error), the process logs one line
(``worker.consume_loop_died``) and exits with :data:`EX_SOFTWARE` (70), so Swarm starts a new one.
Health, from the loop's :class:`~babelroom.bus.health.StageHealth`:

- ``/healthz`` 503 when the loop died or stalled (a read round or a handler call that never ends);
- ``/readyz`` 503 until the model is loaded, while Redis does not answer, and while the loop is not
  consuming (check ``consuming``: reconnecting, or no XREADGROUP round for a few block periods).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
import structlog

from babelroom.bus.health import StageHealth
from babelroom.bus.schemas import Message
from babelroom.bus.stage import BatchHandler, run_stage
from babelroom.bus.streams import Consumer
from babelroom.capacity import Capacity, keep_registered
from babelroom.config import Settings
from babelroom.ops_http import serve_ops

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=Message)

#: The exit status of a worker whose consume loop died (sysexits.h: internal software error).
EX_SOFTWARE = 70


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
    delete_acked: bool = False,
    describe: Callable[[], dict[str, object]] | None = None,
) -> None:
    """Serve ``/healthz``, ``/readyz``, ``/metrics`` at once; ``load()`` the model, then consume.

    ``delete_acked``: XDEL the entries it acknowledges (only for a stream no other group reads).
    ``describe``: more fields for the ``/readyz`` body (the STT worker: which model serves which language).

    Raises:
        SystemExit: with :data:`EX_SOFTWARE` when the consume loop ended with an error.
    """
    consumer = Consumer(
        redis, stream, group, consumer_name(settings), claim_idle_ms=settings.bus_claim_idle_ms,
        delete_acked=delete_acked,
    )
    health = StageHealth(consumer.block_ms / 1000, handler_stall_s=settings.bus_handler_stall_s)
    loaded = asyncio.Event()

    async def consume() -> None:
        try:
            handler = await load()
        except Exception as exc:
            health.set("dead", f"load failed: {exc!r}")
            raise
        loaded.set()
        log.info("worker.started", stream=stream, group=group, consumer=consumer.name, port=port)
        deregister = asyncio.Event()
        registration = asyncio.create_task(keep_registered(
            Capacity(redis, settings.room_lease_ttl_s), group, settings.instance_id,
            settings.worker_capacity_streams, settings.capacity_heartbeat_s, settings.capacity_instance_ttl_s,
            stop=deregister,
        ))
        try:
            await run_stage(consumer, schema, handler, batch_size=batch_size, health=health)
        finally:
            deregister.set()
            await asyncio.gather(registration, return_exceptions=True)

    async def model_ready() -> bool:
        return loaded.is_set()

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    async def consuming() -> bool:
        return health.consuming()

    loop_task = asyncio.create_task(consume())
    try:
        await serve_ops({"model": model_ready, "redis": redis_ready, "consuming": consuming}, "0.0.0.0", port,
                        alive=health.alive, until=loop_task, describe=describe)
    finally:
        if not loop_task.done():
            loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)
        await redis.aclose()
        log.info("worker.stopped", consumer=consumer.name)
    if not loop_task.cancelled() and loop_task.exception() is not None:
        log.error("worker.consume_loop_died", consumer=consumer.name, error=repr(loop_task.exception()),
                  exit_code=EX_SOFTWARE)
        sys.exit(EX_SOFTWARE)

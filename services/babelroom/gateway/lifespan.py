"""The gateway's lifespan: connect Redis and PostgreSQL, start the background tasks, and stop them.

Each replica runs, besides serving requests: the migrations (when ``database_migrate_on_start``),
a member of the ``persist`` consumer group (finals → transcript history, :mod:`babelroom.persist`),
the room upkeep (expiry, vanished participants, gauges, :mod:`babelroom.rooms.upkeep`) and, with
``janus_enabled``, the call sync (audio taps for Janus publishers, :mod:`babelroom.sfu.calls`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI

from babelroom.api.ratelimit import RateLimiter
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.capacity import Capacity
from babelroom.config import Settings
from babelroom.db.migrate import upgrade
from babelroom.db.session import Database, database_url
from babelroom.gateway.admission import SocketCaps
from babelroom.gateway.room_feed import RoomFeeds
from babelroom.persist import run_persist
from babelroom.rooms.manager import RoomManager
from babelroom.rooms.upkeep import run_upkeep
from babelroom.sfu.calls import Calls, run_call_sync

log = structlog.get_logger(__name__)
SHUTDOWN_TIMEOUT_S = 5.0  # for the background tasks to end once cancelled


def gateway_lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The lifespan for :func:`babelroom.gateway.app.create_app`: fills ``app.state`` and runs the tasks.

    ``app.state`` gets ``settings``, ``redis``, ``audio_publisher``, ``db``, ``capacity``, ``rooms``,
    ``rate_limiter``, ``feeds`` (the sockets' room feeds) and ``socket_caps``. On shutdown the
    background tasks are cancelled before the connections close.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.redis = aioredis.from_url(settings.redis_url)
        app.state.audio_publisher = Publisher.for_stream(app.state.redis, AUDIO_STREAM, settings)
        url = await asyncio.to_thread(database_url, settings)
        if settings.database_migrate_on_start:
            await asyncio.to_thread(upgrade, url)
        app.state.db = Database(url, settings.database_pool_size)
        app.state.capacity = Capacity(app.state.redis, settings.room_lease_ttl_s)
        app.state.rooms = RoomManager(settings, app.state.redis, app.state.capacity)
        app.state.rate_limiter = RateLimiter(app.state.redis)
        app.state.feeds = RoomFeeds(app.state.redis, outage_grace_s=settings.ws_redis_outage_grace_s,
                                    queue_messages=settings.ws_queue_messages)
        app.state.socket_caps = SocketCaps(settings)
        app.state.rooms.calls = calls = Calls.from_settings(settings, app.state.redis)
        stop = asyncio.Event()
        background = [
            asyncio.create_task(run_persist(settings, app.state.redis, app.state.db, stop), name="persist"),
            asyncio.create_task(run_upkeep(app.state.rooms, app.state.db, settings.room_sweep_interval_s),
                                name="upkeep"),
        ]
        if calls is not None:
            sync = run_call_sync(calls, settings.janus_sync_interval_s)
            background.append(asyncio.create_task(sync, name="call-sync"))
        yield
        stop.set()
        for task in background:
            task.cancel()
        # Bounded: a task stuck in a Redis or PostgreSQL call that does not honour its cancellation
        # must not hang the gateway's shutdown (entries it held stay pending and are reclaimed).
        _, stuck = await asyncio.wait(background, timeout=SHUTDOWN_TIMEOUT_S)
        for task in stuck:
            log.warning("gateway.task_not_stopped", task=task.get_name(), timeout_s=SHUTDOWN_TIMEOUT_S)
        await app.state.feeds.close()
        if calls is not None:
            await calls.close()
        await app.state.db.close()
        await app.state.redis.aclose()

    return lifespan

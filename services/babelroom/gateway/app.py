"""The gateway's FastAPI application: the HTTP API, audio ingest, caption delivery and the ops routes.

Besides serving requests, each replica runs in its lifespan: the migrations (when
``database_migrate_on_start``), a member of the ``persist`` consumer group (finals → transcript
history, :mod:`babelroom.persist`) and the room upkeep (expiry, vanished participants, gauges,
:mod:`babelroom.rooms.upkeep`) and, with ``janus_enabled``, the
call sync (audio taps for Janus publishers, :mod:`babelroom.sfu.calls`). The OpenAPI schema is at
``/openapi.json``, the docs at ``/docs``.
When ``frontend_dir`` holds a build of the web app (``frontend/``), it is served at ``/``, after
every other route, so ``/api``, ``/ws`` and the ops routes win.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from babelroom import __version__
from babelroom.api import account, admin, auth, errors, rooms, transcripts
from babelroom.api.operation_ids import operation_id
from babelroom.api.ratelimit import RateLimiter
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.capacity import Capacity
from babelroom.config import Settings, get_settings
from babelroom.db.migrate import upgrade
from babelroom.db.session import Database, database_url
from babelroom.gateway import captions, ingest
from babelroom.metrics import HTTP_REQUEST_LATENCY
from babelroom.ops_http import ops_router
from babelroom.persist import run_persist
from babelroom.rooms.manager import RoomManager
from babelroom.rooms.upkeep import run_upkeep
from babelroom.sfu.calls import Calls, run_call_sync


class WebApp(StaticFiles):
    """The web app's static build: ``index.html`` at ``/``, hashed assets under ``/assets``.

    A WebSocket to a path no route has reaches this mount too; it is refused (close 1000, as
    Starlette's router does) rather than failing StaticFiles' HTTP-only assertion.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await WebSocketClose()(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def mount_web_app(app: FastAPI, frontend_dir: Path | None) -> bool:
    """Serve ``frontend_dir`` at ``/`` if it has an ``index.html``; call it after every route."""
    if frontend_dir is None or not (frontend_dir / "index.html").is_file():
        return False
    app.mount("/", WebApp(directory=frontend_dir, html=True), name="web")
    return True


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; Redis and PostgreSQL are connected in the lifespan."""
    settings = settings or get_settings()

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
        app.state.rooms.calls = calls = Calls.from_settings(settings, app.state.redis)
        stop = asyncio.Event()
        background = [
            asyncio.create_task(run_persist(settings, app.state.redis, app.state.db, stop)),
            asyncio.create_task(run_upkeep(app.state.rooms, app.state.db, settings.room_sweep_interval_s)),
        ]
        if calls is not None:
            background.append(asyncio.create_task(run_call_sync(calls, settings.janus_sync_interval_s)))
        yield
        stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if calls is not None:
            await calls.close()
        await app.state.db.close()
        await app.state.redis.aclose()

    async def redis_ready() -> bool:
        return bool(await app.state.redis.ping())

    async def postgres_ready() -> bool:
        return await app.state.db.ping()

    app = FastAPI(
        title="Babelroom API",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        description="Accounts and tiers, rooms with capacity admission, transcript history and "
        "administration. Errors are JSON `{error, detail}`; tier limits add `limit`, `allowed`, `tier`, "
        "`resets_at`. Every `/api` response carries `RateLimit-*` headers.",
    )
    errors.install(app)

    @app.middleware("http")
    async def rate_limit_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Copy the ``RateLimit-*`` headers the route's rate check computed onto its answer."""
        response = await call_next(request)
        for name, value in getattr(request.state, "rate_limit_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.middleware("http")
    async def observe_latency(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """``babelroom_http_request_duration_seconds`` by route template, method and status."""
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUEST_LATENCY.labels(template, request.method, str(status)).observe(
                time.perf_counter() - started
            )
    # /healthz, /readyz, /metrics: for the orchestrator and Prometheus, not part of the API's schema.
    app.include_router(ops_router({"redis": redis_ready, "postgres": postgres_ready}), include_in_schema=False)
    for module in (auth, account, rooms, transcripts, admin):
        app.include_router(module.router)
    app.include_router(ingest.router)
    app.include_router(captions.router)
    mount_web_app(app, settings.frontend_dir)  # last: /api, /ws and the ops routes come first
    return app

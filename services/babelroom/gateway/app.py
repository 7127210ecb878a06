"""The gateway's FastAPI application: audio ingest, caption delivery and the ops routes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response

from babelroom import __version__
from babelroom.config import Settings, get_settings
from babelroom.metrics import HTTP_REQUEST_LATENCY
from babelroom.gateway import captions, ingest
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.ops_http import ops_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; Redis is connected in the lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.redis = aioredis.from_url(settings.redis_url)
        app.state.audio_publisher = Publisher.for_stream(app.state.redis, AUDIO_STREAM, settings)
        yield
        await app.state.redis.aclose()

    async def redis_ready() -> bool:
        return bool(await app.state.redis.ping())

    app = FastAPI(title="Babelroom gateway", version=__version__, lifespan=lifespan)

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
    app.include_router(ops_router({"redis": redis_ready}))
    app.include_router(ingest.router)
    app.include_router(captions.router)
    return app

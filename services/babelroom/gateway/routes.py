"""The gateway's routes: the ops routes, the HTTP API, the sockets and the web app, in that order.

When ``frontend_dir`` holds a build of the web app (``frontend/``), it is served at ``/``, after
every other route, so ``/api``, ``/ws`` and the ops routes win.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from babelroom.api import account, admin, auth, documents, languages, rooms, transcripts, voice_samples
from babelroom.config import Settings
from babelroom.gateway import captions, ingest
from babelroom.ops_http import ops_router


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


def include_routes(app: FastAPI, settings: Settings) -> None:
    """Add every route to ``app``; the readiness checks use the connections the lifespan opened."""

    async def redis_ready() -> bool:
        return bool(await app.state.redis.ping())

    async def postgres_ready() -> bool:
        return bool(await app.state.db.ping())

    # /healthz, /readyz, /metrics: for the orchestrator and Prometheus, not part of the API's schema.
    app.include_router(ops_router({"redis": redis_ready, "postgres": postgres_ready}), include_in_schema=False)
    for module in (auth, account, rooms, transcripts, admin, languages, voice_samples, documents):
        app.include_router(module.router)
    app.include_router(ingest.router)
    app.include_router(captions.router)
    mount_web_app(app, settings.frontend_dir)  # last: /api, /ws and the ops routes come first

"""The operational HTTP surface every service exposes: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers 200 while the process runs. ``/readyz`` answers 200 only when every readiness
check passes (model loaded, Redis reachable …) and 503 with the failing checks otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse

from babelroom.metrics import render_latest

ReadinessCheck = Callable[[], Awaitable[bool]]


def ops_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    """Routes for liveness, readiness (``checks``: name → async predicate) and Prometheus metrics."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception:  # noqa: BLE001 - a failing check is a "not ready", never a 500
                results[name] = False
        ready = all(results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        body, content_type = render_latest()
        return Response(body, media_type=content_type)

    return router


async def serve_ops(checks: dict[str, ReadinessCheck], host: str, port: int) -> None:
    """Serve the ops routes on ``host:port`` in the running event loop.

    Returns when SIGINT/SIGTERM asks the process to stop (uvicorn captures both, then re-raises them).
    """
    app = FastAPI(title="babelroom-ops", docs_url=None, redoc_url=None)
    app.include_router(ops_router(checks))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off"))
    await server.serve()

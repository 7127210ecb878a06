"""The operational HTTP surface every service exposes: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers 200 while the process runs and its ``alive`` predicate (if any) holds, 503
otherwise (a stage worker: its consume loop died or stalled). ``/readyz`` answers 200 only when every
readiness check passes (model loaded, Redis reachable, consuming …) and 503 with the failing checks
otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse

from babelroom.metrics import DEPENDENCY_UP, render_latest

ReadinessCheck = Callable[[], Awaitable[bool]]


async def run_checks(checks: dict[str, ReadinessCheck]) -> dict[str, bool]:
    """Run every readiness check (an exception counts as failed) and export each result as
    ``babelroom_dependency_up{dependency=name}``."""
    results: dict[str, bool] = {}
    for name, check in checks.items():
        try:
            results[name] = bool(await check())
        except Exception:  # noqa: BLE001 - a failing check is a "not ready", never a 500
            results[name] = False
        DEPENDENCY_UP.labels(name).set(1 if results[name] else 0)
    return results


def ops_router(checks: dict[str, ReadinessCheck], alive: Callable[[], bool] | None = None,
               describe: Callable[[], dict[str, object]] | None = None) -> APIRouter:
    """Routes for liveness (``alive``: a predicate; none: always alive), readiness (``checks``: name →
    async predicate; ``describe``: more fields of the ``/readyz`` body) and Prometheus metrics.

    Both ``/readyz`` and ``/metrics`` run the checks, so the dependency gauges are fresh at every scrape.
    """
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        if alive is None or alive():
            return JSONResponse({"status": "alive"})
        return JSONResponse({"status": "dead"}, status_code=503)

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await run_checks(checks)
        ready = all(results.values())
        body = {"ready": ready, "checks": results, **(describe() if describe else {})}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        await run_checks(checks)
        body, content_type = render_latest()
        return Response(body, media_type=content_type)

    return router


class _Server(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM and then *returns*.

    uvicorn re-raises the captured signal once it has stopped, which kills the process before the
    caller's clean-up (deregistering a worker, closing connections) runs, with status 143.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def serve_ops(
    checks: dict[str, ReadinessCheck],
    host: str,
    port: int,
    *,
    alive: Callable[[], bool] | None = None,
    until: asyncio.Future | None = None,
    describe: Callable[[], dict[str, object]] | None = None,
) -> None:
    """Serve the ops routes on ``host:port`` in the running event loop.

    Returns when SIGINT/SIGTERM asks the process to stop (the caller then cleans up and returns: exit
    status 0), or once ``until`` (a task the service cannot live without) is done.
    """
    app = FastAPI(title="babelroom-ops", docs_url=None, redoc_url=None)
    app.include_router(ops_router(checks, alive, describe))
    server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off"))
    if until is not None:
        until.add_done_callback(lambda _: setattr(server, "should_exit", True))
    await server.serve()

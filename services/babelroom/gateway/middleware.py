"""The gateway's HTTP middleware: rate-limit headers and request latency."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from babelroom.metrics import HTTP_REQUEST_LATENCY


async def rate_limit_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Copy the ``RateLimit-*`` headers the route's rate check computed onto its answer."""
    response = await call_next(request)
    for name, value in getattr(request.state, "rate_limit_headers", {}).items():
        response.headers.setdefault(name, value)
    return response


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
        HTTP_REQUEST_LATENCY.labels(template, request.method, str(status)).observe(time.perf_counter() - started)


def install_middleware(app: FastAPI) -> None:
    """Add the gateway's middleware to ``app`` (the last added runs first)."""
    app.middleware("http")(rate_limit_headers)
    app.middleware("http")(observe_latency)

"""The gateway's HTTP middleware: security headers, rate-limit headers and request latency.

Security headers (on the web app and the API alike; docs/security.md, "Headers"):

- ``Content-Security-Policy``: scripts, styles, fonts only from the gateway itself (the built web app has
  no inline script or style: React sets styles through the CSSOM, which CSP allows); images also from
  ``data:`` (the favicon) and ``blob:``; connections to the gateway, its WebSockets (``public_url``'s
  ``ws(s)`` origin) and, with ``janus_enabled``, the Janus API the browser talks to; no plugins, no
  framing (``frame-ancestors 'none'``). ``/docs`` and ``/redoc`` (FastAPI's pages, an inline script and
  a CDN) get a policy that allows exactly those.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (room links stay private),
  ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``), ``Cross-Origin-Opener-Policy``.
- ``Permissions-Policy``: microphone and camera for the gateway's own pages only; the rest off.
- ``Strict-Transport-Security`` (one year) when ``environment`` is production (TLS at the proxy).

Source: https://owasp.org/www-project-secure-headers/, https://www.w3.org/TR/CSP3/
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from babelroom.config import Settings
from babelroom.metrics import HTTP_REQUEST_LATENCY

DOCS_PATHS = ("/docs", "/redoc")
#: FastAPI's /docs and /redoc: an inline set-up script and Swagger UI / ReDoc from jsDelivr.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
PERMISSIONS_POLICY = ("microphone=(self), camera=(self), display-capture=(self), geolocation=(), payment=(), usb=()")
HSTS = "max-age=31536000; includeSubDomains"
CallNext = Callable[[Request], Awaitable[Response]]


def _origin(url: str, scheme: str | None = None) -> str | None:
    """``https://a.example:8443/x`` → ``https://a.example:8443`` (with ``scheme`` replacing its scheme)."""
    parts = urlsplit(url)
    return f"{scheme or parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    """The web app's and the API's ``Content-Security-Policy`` for ``settings`` (see the module)."""
    connect = ["'self'"]
    if settings.public_url:
        ws_scheme = "wss" if settings.public_url.startswith("https:") else "ws"
        connect.append(_origin(settings.public_url, ws_scheme) or "")
    if settings.janus_enabled:
        connect.append(_origin(settings.janus_public_url or settings.janus_url) or "")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; "
            "img-src 'self' data: blob:; media-src 'self' blob:; "
            f"connect-src {' '.join(dict.fromkeys(filter(None, connect)))}; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def security_headers(settings: Settings, docs: bool = False) -> dict[str, str]:
    """Every security header of a response (``docs``: FastAPI's documentation pages)."""
    headers = {
        "Content-Security-Policy": DOCS_CSP if docs else content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if settings.environment == "production":
        headers["Strict-Transport-Security"] = HSTS
    return headers


def security_headers_middleware(settings: Settings) -> Callable[[Request, CallNext], Awaitable[Response]]:
    """An HTTP middleware setting :func:`security_headers` on every answer (a route's own value wins)."""
    app_headers, docs_headers = security_headers(settings), security_headers(settings, docs=True)

    async def add_security_headers(request: Request, call_next: CallNext) -> Response:
        response = await call_next(request)
        for name, value in (docs_headers if request.url.path.startswith(DOCS_PATHS) else app_headers).items():
            response.headers.setdefault(name, value)
        return response

    return add_security_headers


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


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the gateway's middleware to ``app`` (the last added runs first)."""
    app.middleware("http")(rate_limit_headers)
    app.middleware("http")(security_headers_middleware(settings))
    app.middleware("http")(observe_latency)

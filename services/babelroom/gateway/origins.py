"""Which web pages may open the gateway's WebSockets: the Origin check against cross-site WebSocket
hijacking (a page elsewhere opening a socket with the visitor's token).

A browser always sends ``Origin`` on a WebSocket handshake; a request without one comes from a
non-browser client (the CLI, the bench, a test) and is allowed, since it carries its own token and no
ambient credentials. With ``public_url`` set, the Origin must be its origin or one of
``allowed_origins``; without it, the Origin's host must be the handshake's ``Host`` (same origin, which
also holds behind a proxy that keeps ``Host``, and for the Vite dev server's proxy).

Refused sockets are accepted, then closed with 4403 and a reason, and counted in
``babelroom_ws_origin_refused_total`` (and ``babelroom_ws_closed_total`` with code 4403).

Source: RFC 6455 §10.2 (Origin considerations), https://owasp.org/www-community/attacks/Cross-Site_WebSocket_Hijacking
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from fastapi import WebSocket

from babelroom import metrics
from babelroom.config import Settings
from babelroom.gateway.deps import close_with

log = structlog.get_logger(__name__)
CLOSE_FOREIGN_ORIGIN = 4403
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalise(origin: str) -> str:
    """``HTTPS://Example.org:443/`` → ``https://example.org``: scheme and host lower-case, no default
    port, no path; ``""`` for something that is not an origin (``null``, no scheme or host)."""
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.hostname:
        return ""
    try:
        port = parts.port
    except ValueError:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None and port != default else "")


def allowed_origins(settings: Settings) -> set[str]:
    """The normalised origins of ``public_url`` and ``allowed_origins`` (empty: same-origin rule)."""
    configured = [settings.public_url or "", *settings.allowed_origins.split(",")]
    return {o for o in map(normalise, configured) if o}


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Whether a handshake with ``Origin: origin`` and ``Host: host`` may proceed (see the module)."""
    if origin is None:
        return True
    configured = allowed_origins(settings)
    wanted = normalise(origin)
    if configured:
        return wanted in configured
    scheme = urlsplit(wanted).scheme
    return bool(wanted and host) and wanted == normalise(f"{scheme}://{host}")


async def refuse_foreign_origin(ws: WebSocket, endpoint: str) -> bool:
    """Close ``ws`` with 4403 if its Origin is not allowed; returns whether it was refused."""
    origin = ws.headers.get("origin")
    if origin_allowed(origin, ws.headers.get("host"), ws.app.state.settings):
        return False
    shown = (origin or "")[:60]
    metrics.WS_ORIGIN_REFUSED.labels(endpoint).inc()
    log.warning("ws.origin_refused", endpoint=endpoint, origin=shown)
    await ws.accept()
    await close_with(ws, endpoint, CLOSE_FOREIGN_ORIGIN, f"origin {shown} not allowed")
    return True

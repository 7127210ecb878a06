"""Small pieces the gateway's socket routes share: closing a socket with a reason, or with 1013 while a
dependency is unreachable."""

from __future__ import annotations

from fastapi import WebSocket

from babelroom import metrics


async def close_with(ws: WebSocket, endpoint: str, code: int, reason: str) -> None:
    """Close ``ws`` with ``code`` and a human-readable ``reason`` (≤ 123 bytes, RFC 6455 §5.5)."""
    metrics.WS_CLOSED.labels(endpoint, str(code)).inc()
    await ws.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))


def unavailable_close(dependency: str) -> tuple[int, str]:
    """Close code (1013, Try Again Later, RFC 6455 §7.4.1) and reason while ``dependency``
    (``redis``, ``postgres``) is unreachable."""
    return 1013, f"try again later: {dependency} unavailable"


async def close_unavailable(ws: WebSocket, endpoint: str, dependency: str) -> None:
    """Close ``ws`` with 1013 naming ``dependency``, counted in ``babelroom_dependency_unavailable_total``."""
    metrics.DEPENDENCY_UNAVAILABLE.labels(dependency, "socket").inc()
    await close_with(ws, endpoint, *unavailable_close(dependency))

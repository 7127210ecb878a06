"""Small pieces the gateway's socket routes share: closing a socket with a reason."""

from __future__ import annotations

from fastapi import WebSocket

from babelroom import metrics


async def close_with(ws: WebSocket, endpoint: str, code: int, reason: str) -> None:
    """Close ``ws`` with ``code`` and a human-readable ``reason`` (≤ 123 bytes, RFC 6455 §5.5)."""
    metrics.WS_CLOSED.labels(endpoint, str(code)).inc()
    await ws.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))

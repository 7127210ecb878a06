"""Small pieces the gateway's routes share: validation and closing a socket with a reason."""

from __future__ import annotations

import re

from fastapi import WebSocket

from babelroom import metrics

_LANG = re.compile(r"^[a-z]{2}$")


def language_code(value: str | None) -> str:
    """Validate an ISO 639-1 code (two lower-case letters).

    Raises:
        ValueError: missing or not two letters.
    """
    if not value or not _LANG.match(value):
        raise ValueError(f"lang must be an ISO 639-1 code like 'es', got {value!r}")
    return value


async def close_with(ws: WebSocket, endpoint: str, code: int, reason: str) -> None:
    """Close ``ws`` with ``code`` and a human-readable ``reason`` (≤ 123 bytes, RFC 6455 §5.5)."""
    metrics.WS_CLOSED.labels(endpoint, str(code)).inc()
    await ws.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))

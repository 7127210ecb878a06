"""Keep access tokens out of the logs: uvicorn logs every request's path with its query string
(``uvicorn.access``) and every WebSocket handshake's (``uvicorn.error``), and sockets carry their
token as ``?token=…``.

:class:`RedactTokens` rewrites ``token=<value>`` (and ``access_token=``, ``refresh_token=``) in a
record's message and arguments to ``token=[redacted]``; :func:`install` puts it on both loggers
(``babelroom gateway`` does, before uvicorn starts).
"""

from __future__ import annotations

import logging
import re

PATTERN = re.compile(r"(\b(?:access_|refresh_)?token=)[^&\s\"']+", re.IGNORECASE)
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """``text`` with every query token's value replaced by ``[redacted]``."""
    return PATTERN.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """A filter that redacts tokens in place and lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add :class:`RedactTokens` to uvicorn's access and error loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())

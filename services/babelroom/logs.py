"""structlog set-up: one JSON object per line on stderr, or a console renderer for humans (on a terminal).

Source: https://www.structlog.org/en/stable/standard-library.html
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Literal, TextIO, cast

import structlog


class LogLevel(StrEnum):
    """The logging level names :func:`configure_logging` takes (a CLI's choices)."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (it is swapped by test runners and tools)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json: bool | Literal["auto"] = True) -> None:
    """Route structlog and the standard library's logging through one renderer.

    Args:
        level: a logging level name (``DEBUG``, ``INFO`` …).
        json: JSON lines when true, a coloured console format when false; ``"auto"``: the console
            format when stderr is a terminal, JSON otherwise (a container, a pipe, a file).
    """
    if json == "auto":
        json = not sys.stderr.isatty()
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # PrintLogger only calls write() and flush(), which is all _CurrentStderr has.
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))  # one line per request

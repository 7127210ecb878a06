"""Sending Celery tasks from the services that do not run them (gateway, STT): a send-only client on the
broker, so that those processes never import :mod:`babelroom.jobs` (foundations never import workers) nor the
workers' heavy libraries (torch lives on the jobs image only).

Source: https://docs.celeryq.dev/en/stable/reference/celery.html#celery.Celery.send_task
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery


@lru_cache
def producer(broker: str) -> Celery:
    """A Celery client on ``broker`` (a Redis URL) that only sends tasks by name (``send_task``); blocking:
    call it from a thread in async code."""
    return Celery("babelroom", broker=broker, set_as_current=False)

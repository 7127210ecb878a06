"""``babelroom jobs``: a Celery worker (solo pool: one task at a time, in this process, so that the
task metrics are this process's) with, optionally, the embedded beat scheduler, plus the ops HTTP
server (``/healthz``, ``/readyz`` with Redis, ``/metrics``) on ``jobs_metrics_port`` in a thread.

Run exactly one ``--beat`` per deployment (each beat sends every scheduled task).
"""

from __future__ import annotations

import asyncio
import threading

import redis.asyncio as aioredis

from babelroom.config import Settings
from babelroom.jobs.app import app
from babelroom.ops_http import serve_ops


def _serve_ops(settings: Settings) -> None:
    async def main() -> None:
        redis = aioredis.from_url(settings.redis_url)

        async def redis_ready() -> bool:
            return bool(await redis.ping())

        await serve_ops({"redis": redis_ready}, "0.0.0.0", settings.jobs_metrics_port)

    asyncio.run(main())


def run_worker(settings: Settings, *, queues: str, beat: bool) -> None:
    """Start the ops server thread, then the Celery worker (returns when the worker stops)."""
    threading.Thread(target=_serve_ops, args=(settings,), name="ops-http", daemon=True).start()
    argv = ["worker", "--pool=solo", "--loglevel=INFO", f"--queues={queues}", f"--hostname=jobs@{settings.instance_id}"]
    if beat:
        schedule = settings.state_dir / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={schedule}"]
    app.worker_main(argv)

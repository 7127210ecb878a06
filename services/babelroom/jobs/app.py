"""The Celery application of the background jobs (``babelroom jobs``), with Redis as the broker.

Queues: ``maintenance`` (run by beat: the retention task every ``retention_interval_s``, and
``babelroom.requeue_pending`` every ``requeue_interval_s``: :mod:`babelroom.jobs.requeue`) and
``diarization`` (``babelroom.diarize``, queued by ingest for rooms with diarization on) and ``xtts``
(``babelroom.xtts``, queued by the TTS worker for speakers with a cloned voice; ``babelroom xtts``) and
``context`` (``babelroom.index_document`` and ``babelroom.order_context_terms``, queued by the gateway and the
STT worker: :mod:`babelroom.jobs.context`) and ``voice`` (``babelroom.check_voice_sample``, queued by the gateway
after a voice-sample upload: :mod:`babelroom.jobs.voice_check`).
Results are not kept (tasks log and count).

Source: https://docs.celeryq.dev/en/stable/userguide/configuration.html
"""

from __future__ import annotations

from celery import Celery

from babelroom.config import Settings, get_settings

MAINTENANCE_QUEUE = "maintenance"


def make_app(settings: Settings) -> Celery:
    """A Celery app on ``settings.redis_url`` with the beat schedule of the maintenance tasks."""
    app = Celery("babelroom", broker=settings.redis_url,
                 include=["babelroom.jobs.retention", "babelroom.jobs.diarization", "babelroom.jobs.xtts",
                          "babelroom.jobs.context", "babelroom.jobs.voice_check",
                          "babelroom.jobs.requeue"])
    app.conf.update(
        task_default_queue=MAINTENANCE_QUEUE,
        task_ignore_result=True,
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_prefetch_multiplier=1,  # a long task (diarization) never holds a second one back
        beat_schedule={
            "retention": {
                "task": "babelroom.retention",
                "schedule": settings.retention_interval_s,
                "options": {"queue": MAINTENANCE_QUEUE, "expires": settings.retention_interval_s},
            },
            "requeue-pending": {
                "task": "babelroom.requeue_pending",
                "schedule": settings.requeue_interval_s,
                "options": {"queue": MAINTENANCE_QUEUE, "expires": settings.requeue_interval_s},
            },
        },
    )
    return app


app = make_app(get_settings())

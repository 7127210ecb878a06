"""The one-speaker check of a voice sample as a job: the gateway (runtime image, no torch) stores a sample that
passed the other checks as ``speaker_check = pending`` and queues ``babelroom.check_voice_sample(sample_id)`` on
the ``voice`` queue; a jobs-image worker beside the stored samples (the stack's ``maintenance`` service,
``babelroom jobs --beat --queue maintenance,voice``) runs CAM++ on it
(:mod:`babelroom.jobs.voice_check`) and sets ``passed`` or ``failed``. Only ``passed`` samples are cloned.
"""

from __future__ import annotations

import uuid

import structlog

from babelroom.bus.tasks import producer
from babelroom.config import Settings

log = structlog.get_logger(__name__)

VOICE_QUEUE = "voice"
CHECK_TASK = "babelroom.check_voice_sample"


def queue_speaker_check(settings: Settings, sample_id: uuid.UUID, expires_s: float | None = None) -> None:
    """Send ``babelroom.check_voice_sample(sample_id)`` to the ``voice`` queue (blocking: run it in a thread).
    It never expires unless ``expires_s`` is given (a re-queued job, :mod:`babelroom.jobs.requeue`): the
    sample waits ``pending`` until a worker takes it.

    Raises:
        kombu/redis errors: the broker is unreachable (the caller counts it; the sample stays ``pending``).
    """
    producer(settings.redis_url).send_task(CHECK_TASK, args=[str(sample_id)], queue=VOICE_QUEUE,
                                           expires=expires_s)
    log.debug("voice.speaker_check_queued", sample=str(sample_id))

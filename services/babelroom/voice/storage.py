"""Where accepted voice samples live: one FLAC file per sample, ``voice_sample_dir/<user id>/<sample id>.flac``
(mono, at the upload's sample rate up to 48 kHz; whatever else the upload held, other streams or tags,
is not kept), plus its ``voice_samples`` row; the xtts worker keeps the sample's speaker latents beside
it (``<sample id>.xtts-<key>.npz``). Removing a sample removes all of them; :func:`purge_expired`
removes the samples past their ``expires_at`` (the retention job runs it).
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.audio.pcm import resample
from babelroom.db.models import VoiceSample

log = structlog.get_logger(__name__)

MAX_RATE = 48_000


def relative_path(user_id: uuid.UUID, sample_id: uuid.UUID) -> str:
    """``<user id>/<sample id>.flac``: the file of a sample under ``voice_sample_dir``."""
    return f"{user_id}/{sample_id}.flac"


def encode_flac(samples: npt.NDArray[np.float32], rate: int) -> bytes:
    """``(n,) float32`` mono as a 16-bit FLAC file (resampled to 48 kHz when above)."""
    if rate > MAX_RATE:
        samples, rate = resample(samples, rate, MAX_RATE), MAX_RATE
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def write(directory: Path, relative: str, data: bytes) -> None:
    """Store ``data`` at ``directory/relative`` (written to a temporary name, then renamed)."""
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)


def remove(directory: Path, relative: str | None) -> None:
    """Delete a stored sample's file and everything derived from it beside it, ``<sample id>.*`` (the XTTS
    latents, :mod:`babelroom.voice.latents`); absent already: nothing to do."""
    if relative:
        path = directory / relative
        path.unlink(missing_ok=True)
        for derived in path.parent.glob(f"{path.stem}.*"):
            derived.unlink(missing_ok=True)


async def purge_expired(session: AsyncSession, directory: Path, now: datetime) -> int:
    """Delete every sample whose ``expires_at`` has passed: its row, then its file. Returns how many."""
    rows = await session.execute(delete(VoiceSample).where(VoiceSample.expires_at <= now)
                                 .returning(VoiceSample.storage_path))
    paths = list(rows.scalars())
    await session.commit()
    for relative in paths:
        remove(directory, relative)
    if paths:
        log.info("voice_samples.expired", deleted=len(paths))
    return len(paths)

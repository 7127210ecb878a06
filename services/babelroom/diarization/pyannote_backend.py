"""``pyannote/speaker-diarization-3.1`` (segmentation-3.0, WeSpeaker ResNet34, agglomerative clustering).

Used when ``make models`` fetched it into ``models_dir/pyannote-speaker-diarization-3.1`` (its
``config.yaml`` rewritten to the local checkpoints) and ``pyannote.audio`` imports (the ``jobs``
image; pyannote.audio does not import on the torch of the light images). Published DER on AMI
(headset mix): 18.8 %.

Source: https://huggingface.co/pyannote/speaker-diarization-3.1
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np

from babelroom.diarization.engine import SAMPLE_RATE, Audio, Diarization, SpeakerTurn, check_audio
from babelroom.models.fetch import COMPLETE_MARKER

BACKEND = "pyannote-3.1"
MODEL_DIR = "pyannote-speaker-diarization-3.1"


def pyannote_available(models_dir: Path) -> bool:
    """Whether the fetched pipeline is complete under ``models_dir`` and pyannote.audio is installed."""
    model = models_dir / MODEL_DIR
    return (
        (model / COMPLETE_MARKER).is_file()
        and (model / "config.yaml").is_file()
        and importlib.util.find_spec("pyannote.audio") is not None
    )


class PyannoteDiarizer:
    """The pyannote pipeline loaded from ``models_dir`` (offline: the config names local files).

    Raises:
        FileNotFoundError: the pipeline was not fetched (check :func:`pyannote_available` first).
    """

    name = BACKEND

    def __init__(self, models_dir: Path, threads: int = 1) -> None:
        import torch
        from pyannote.audio import Pipeline

        config = models_dir / MODEL_DIR / "config.yaml"
        if not config.is_file():
            raise FileNotFoundError(config)
        torch.set_num_threads(threads)
        self._torch = torch
        self._pipeline: Any = Pipeline.from_pretrained(str(config))

    def diarize(self, audio: Audio) -> Diarization:
        """Speaker turns of ``audio`` (see :meth:`babelroom.diarization.engine.Diarizer.diarize`)."""
        check_audio(audio)
        started = time.monotonic()
        waveform = self._torch.from_numpy(audio).unsqueeze(0)
        output = self._pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, return_embeddings=True)
        if isinstance(output, tuple):  # pyannote.audio 3.x: (annotation, embeddings)
            annotation, vectors = output
        else:  # 4.x: DiarizeOutput
            annotation, vectors = output.speaker_diarization, output.speaker_embeddings
        labels = annotation.labels()
        turns = tuple(
            SpeakerTurn(round(segment.start, 3), round(segment.end, 3), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
        )
        embeddings = {str(label): np.asarray(vectors[i], dtype=np.float32) for i, label in enumerate(labels)}
        return Diarization(turns, embeddings, BACKEND, time.monotonic() - started)

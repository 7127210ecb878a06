"""The eval's offline transcripts come from the worker's own decoder, so that the streaming WER is held
against the same decoding (issue 9: "offline WER of the same model on the same clips").

Clips: the four Spanish recordings of ``tests/data/eval/es.tsv`` (``tests/data/speech-multi``, see its
``ATTRIBUTION.md``), Whisper base from ``babelroom models install --offline``: the worker's decoding of
finals (the final window and its native-window second decode of a loop, the prompt-skip check) and its
filter. No clip is left without text: greedy base loops on Picovoice cheetah v2.3 at 15 s, and the second
decode reads it. faster-whisper's ``transcribe()``, which the eval used before, decodes otherwise (it
printed that loop, "Uno de las las las …": offline WER 90.9% on the four clips, against 26% for the
worker's decoding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.dev.eval_manifest import read_manifest
from babelroom.dev.eval_speech import ClipRun, transcribe_offline
from babelroom.models.manifest import WHISPER_BASE, WHISPER_BASE_DIR
from babelroom.models.offline import install
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.whisper import WhisperSTT

ROOT = Path(__file__).resolve().parents[2]


def test_offline_is_the_workers_decoding_and_filter(tmp_path: Path) -> None:
    install(ROOT / "models", [WHISPER_BASE])
    settings = Settings(state_dir=tmp_path, stt_model=str(ROOT / "models" / WHISPER_BASE_DIR))
    clips = read_manifest(ROOT / "tests" / "data" / "eval" / "es.tsv")
    runs = [ClipRun(clip, "en", lead_s) for lead_s in (0.0, 0.11) for clip in clips]
    transcribe_offline(settings, runs, lambda: None)

    worker, kept = WhisperSTT(settings), HallucinationFilter(settings)
    expected = []
    for run in runs:  # a lead is that much silence before the clip
        audio = np.concatenate([np.zeros(round(run.lead_s * 16_000), np.float32), decode_file(run.clip.audio)])
        hypothesis = worker.transcribe(audio, run.clip.language, final=True)
        expected.append(hypothesis.text if kept.check(hypothesis) is None else "")
    offline = [run.offline for run in runs]
    assert offline == expected and all(offline), offline
    assert [run.audio_s for run in runs[:4]] == [run.audio_s for run in runs[4:]]  # the clip's own length

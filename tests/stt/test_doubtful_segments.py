"""Speech that Silero doubts reaches the captions, through the real ingest and STT stage (real Redis,
Whisper base, lock step: :func:`streaming.stream_finals`).

Clip: ``tests/data/speech-multi/de_common_voice_de_17516889.wav`` (Common Voice German, CC0; see that
folder's ``ATTRIBUTION.md``), a thin recording on which Silero's speech probability peaks at 0.39,
below ``vad_silero_threshold``: the segmenter used to drop it (``rejected_silero``), so it had no final.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from faster_whisper import decode_audio
from streaming import stream_finals, wer

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "speech-multi" / "de_common_voice_de_17516889.wav"
REFERENCE = "die beamten gehen nun verstärkt gegen illegale straßenrennen vor"


def test_a_recording_silero_doubts_gets_its_final(whisper_base, redis_url: str) -> None:
    """One final, as good as the clip decoded whole."""
    engine, settings = whisper_base
    clip = decode_audio(str(CLIP))
    silence = np.zeros(16_000, np.float32)
    finals = asyncio.run(stream_finals(np.concatenate([silence, clip, silence]), "de", settings, engine, redis_url))
    assert len(finals) == 1 and not finals[0].cut, finals
    offline = engine.transcribe(clip, "de", final=True).text
    assert wer([REFERENCE], [finals[0].text], "de") <= wer([REFERENCE], [offline], "de") + 0.01, (finals, offline)


def test_noise_silero_doubts_gets_no_caption(whisper_base, redis_url: str) -> None:
    """White noise at RMS 0.3 (3 s; Silero peaks at 0.29 on its segment): a doubtful final, on which
    Whisper base hears "Die Klinik ist nicht so gut." unsure (no_speech 0.60, avg_logprob -2.2): dropped."""
    engine, settings = whisper_base
    noise = (np.random.default_rng(2).standard_normal(48_000) * 0.3).astype(np.float32)
    silence = np.zeros(16_000, np.float32)
    assert asyncio.run(stream_finals(np.concatenate([silence, noise, silence]), "de", settings, engine,
                                     redis_url)) == []

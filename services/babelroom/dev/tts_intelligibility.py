"""Intelligibility of a voice: synthesise sentences, transcribe them back with Whisper, score the WER
(:func:`babelroom.dev.eval_scoring.word_error_rate`, the normalisation ``babelroom eval`` uses).

The figures in :mod:`babelroom.tts.voices` come from :func:`measure` on the first NTREX-128 dev lines
(``tests/data/mt``) with Whisper base (int8, greedy). A lower WER means a listener understands more.
Needs the ``eval`` extra (jiwer, whisper-normalizer) and a faster-whisper model directory.

Usage: ``python -m babelroom.dev.tts_intelligibility MODELS_DIR WHISPER_DIR [N]`` prints one row per
(backend, language): WER, real-time factor and audio seconds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel

from babelroom.audio.pcm import resample
from babelroom.dev.eval_scoring import word_error_rate
from babelroom.tts.base import TextToSpeech

NTREX = Path(__file__).resolve().parents[3] / "tests" / "data" / "mt"
NTREX_FILES = {"en": "eng", "es": "spa", "pt": "por"}
WHISPER_RATE = 16_000


def ntrex(language: str, n: int) -> list[str]:
    """The first ``n`` NTREX-128 dev sentences of ``language``."""
    lines = (NTREX / f"ntrex128-dev.{NTREX_FILES[language]}.txt").read_text(encoding="utf-8").splitlines()
    return lines[:n]


@dataclass(frozen=True)
class Intelligibility:
    backend: str
    voice: str
    language: str
    wer: float  # word error rate over all sentences (0 = every word back)
    rtf: float  # compute seconds per audio second
    audio_s: float


def transcribe(model: WhisperModel, speech_16k: npt.NDArray[np.float32], language: str) -> str:
    """What Whisper hears in ``(n,) float32`` 16 kHz audio, said in ``language``."""
    segments, _ = model.transcribe(speech_16k, language=language, beam_size=1, vad_filter=False,
                                   condition_on_previous_text=False)
    return " ".join(segment.text.strip() for segment in segments)


def measure(tts: TextToSpeech, language: str, sentences: list[str], model: WhisperModel) -> Intelligibility:
    """Speak each sentence with ``tts``, transcribe it back, and score the corpus WER."""
    hypotheses = []
    compute = audio = 0.0
    voice = ""
    for sentence in sentences:
        speech = tts.synthesize(sentence, language)
        voice, compute, audio = speech.voice, compute + speech.compute_s, audio + speech.duration_s
        hypotheses.append(transcribe(model, resample(speech.samples, speech.sample_rate, WHISPER_RATE), language))
    return Intelligibility(tts.name, voice, language, word_error_rate(sentences, hypotheses, language),
                           compute / audio, audio)


def main(argv: list[str]) -> None:
    from babelroom.tts.espeak import EspeakTextToSpeech
    from babelroom.tts.kokoro import KokoroTextToSpeech
    from babelroom.tts.piper import PiperTextToSpeech

    models_dir, whisper_dir = Path(argv[0]), argv[1]
    n = int(argv[2]) if len(argv) > 2 else 5
    model = WhisperModel(whisper_dir, device="cpu", compute_type="int8", cpu_threads=1)
    backends: list[TextToSpeech] = [EspeakTextToSpeech(), KokoroTextToSpeech(models_dir / "kokoro"),
                                    PiperTextToSpeech(models_dir / "piper")]
    for tts in backends:
        for language in NTREX_FILES:
            if tts.supports(language):
                r = measure(tts, language, ntrex(language, n), model)
                sys.stdout.write(f"{r.backend:7} {r.voice:17} {r.language}  WER {r.wer:.3f}  RTF {r.rtf:.3f}  "
                                 f"audio {r.audio_s:.1f} s\n")
                sys.stdout.flush()
        tts.close()


if __name__ == "__main__":
    main(sys.argv[1:])

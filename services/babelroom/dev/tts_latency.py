"""Time from a final's text to its first speech ready to publish, per backend, whole sentence vs chunks.

The TTS worker (:mod:`babelroom.tts.worker`) publishes a sentence's first chunk as soon as it is
synthesised and Opus-encoded; the Redis ``XADD`` after it costs well under a millisecond. This
measures that path (``clauses`` → ``synthesize`` → ``encode_ogg_opus``) on NTREX-128 dev sentences,
with chunking off (``first_chars=0``: the sentence whole, as before chunking) and on.

Usage: ``python -m babelroom.dev.tts_latency MODELS_DIR [N] [THREADS] [FIRST_CHARS]`` prints one row per
(backend, language, mode): median and max seconds to first audio, and the mean sentence length (s of speech).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from babelroom.dev.tts_intelligibility import ntrex
from babelroom.tts.base import TextToSpeech
from babelroom.tts.chunking import clauses
from babelroom.tts.codec import encode_ogg_opus
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.kokoro import KokoroTextToSpeech
from babelroom.tts.piper import PiperTextToSpeech


def first_audio_s(tts: TextToSpeech, sentence: str, language: str, first_chars: int,
                  max_chars: int = 100) -> tuple[float, float]:
    """(seconds until the first chunk's Ogg Opus is ready, seconds of speech of the whole sentence)."""
    start = time.perf_counter()
    chunks = clauses(sentence, first_chars, max_chars)
    speech = tts.synthesize(chunks[0], language)
    encode_ogg_opus(speech.samples, speech.sample_rate)
    first = time.perf_counter() - start
    total = speech.duration_s + sum(tts.synthesize(chunk, language).duration_s for chunk in chunks[1:])
    return first, total


def main(models_dir: Path, n: int = 5, threads: int = 1, first_chars: int = 40) -> None:
    backends: list[TextToSpeech] = [KokoroTextToSpeech(models_dir / "kokoro", threads=threads),
                                    PiperTextToSpeech(models_dir / "piper", threads=threads), EspeakTextToSpeech()]
    try:
        for tts in backends:
            for language in ("en", "es", "pt"):
                if not tts.supports(language):
                    continue
                tts.synthesize("Warm up.", language)
                for mode, chars in (("whole", 0), ("chunks", first_chars)):
                    rows = [first_audio_s(tts, s, language, chars) for s in ntrex(language, n)]
                    firsts = [first for first, _ in rows]
                    sys.stdout.write(f"{tts.name:7} {language} {mode:6} threads={threads} first audio median "
                                     f"{statistics.median(firsts):.2f} s max {max(firsts):.2f} s; sentence "
                                     f"{statistics.mean(total for _, total in rows):.1f} s of speech\n")
                    sys.stdout.flush()
    finally:
        for tts in backends:
            tts.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), *(int(arg) for arg in sys.argv[2:5]))

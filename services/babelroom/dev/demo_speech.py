"""``babelroom demo --speak``: the Spanish listener's spoken translations put on the call's timeline as one
WAV, and that WAV transcribed back with Whisper to score it against the captions.

Timeline: each sentence starts when its ``speech`` header reached the listener, measured from the moment
the speaker's stream started (``SpeakerRun.t0``), as a listener playing it at once would hear it; a
sentence that arrives while the previous one still plays starts when that one ends (never overlapping,
as the web app plays them).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from babelroom.audio.pcm import float_to_s16le
from babelroom.dev.client import ReceivedSpeech
from babelroom.dev.eval_scoring import word_error_rate
from babelroom.tts.codec import OPUS_RATE, resample

WHISPER_RATE = 16_000


def speech_timeline(received: list[ReceivedSpeech], t0: float,
                    rate: int = OPUS_RATE) -> tuple[npt.NDArray[np.float32], list[float]]:
    """The sentences of ``received`` (in arrival order) placed on one ``(n,) float32`` track at ``rate``
    Hz, each at its header's arrival minus ``t0`` (wall clock, s) or right after the previous sentence,
    whichever is later; and each sentence's start (s).

    Raises:
        ValueError: a sentence's audio does not decode.
    """
    starts: list[float] = []
    pieces: list[tuple[int, npt.NDArray[np.float32]]] = []
    end = 0
    for r in sorted(received, key=lambda r: r.at):
        samples, sample_rate = r.samples()
        samples = resample(samples, sample_rate, rate)
        start = max(round((r.at - t0) * rate), end)
        pieces.append((start, samples))
        starts.append(start / rate)
        end = start + len(samples)
    track = np.zeros(end, np.float32)
    for start, samples in pieces:
        track[start:start + len(samples)] = samples
    return track, starts


def write_wav(track: npt.NDArray[np.float32], path: Path, rate: int = OPUS_RATE) -> None:
    """``track`` (``(n,) float32`` in [-1, 1]) as a mono 16-bit PCM WAV at ``rate`` Hz."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(float_to_s16le(track))


def transcribe(track: npt.NDArray[np.float32], language: str, whisper_dir: Path,
               rate: int = OPUS_RATE) -> str:
    """What Whisper (the model in ``whisper_dir``, greedy, int8) hears in ``track`` said in ``language``."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_dir), device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = model.transcribe(resample(track, rate, WHISPER_RATE), language=language, beam_size=1,
                                   condition_on_previous_text=False)
    return " ".join(segment.text.strip() for segment in segments)


def speech_wer(captions: list[str], heard: str, language: str) -> float:
    """WER of what Whisper ``heard`` in the speech track against the listener's captions joined, with
    ``babelroom eval``'s normalisation."""
    return word_error_rate([" ".join(captions)], [heard], language)

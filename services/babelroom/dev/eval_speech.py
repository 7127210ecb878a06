"""The speech half of ``babelroom eval``: each manifest clip through the real pipeline, and offline.

Streaming: on a :class:`~babelroom.dev.devstack.LocalStack` (Redis, gateway, STT and MT workers as
child processes), for each clip a speaker account opens a new room (so that no clip is prompted with
another's text), a listen-only account joins it and listens in the target language, and the speaker
streams the clip followed by :data:`TAIL_SILENCE_S` of silence (so that the last segment ends at a
pause, not at the stream's end) over the audio socket, at ``speed`` × real time (0: as fast as the
socket takes it). Once every segment the ingest accepted has its final (or retraction), or after
:data:`SETTLE_TIMEOUT_S`, the room is closed. The clip's streamed transcript is its finals' text in
room order.

Offline: the worker's own decoder transcribes each whole clip: :class:`~babelroom.stt.whisper.WhisperSTT`
on the same model (the directory the worker resolves for ``BABELROOM_STT_MODEL``) with the worker's
compute type, threads, beam size and window (greedy by default, no temperature fallback, no timestamps,
the finals' check for words an open prompt made it skip: :mod:`babelroom.stt.prompt_skip`),
and the worker's :class:`~babelroom.stt.hallucination.HallucinationFilter` (a dropped hypothesis counts
as no text, as a dropped final). A clip longer than the window is decoded in consecutive windows, each
prompted with the text before it. So offline and streaming differ only in what streaming adds (segments,
sentence cuts, partial-driven prompts): the reference the streaming WER is held against. (faster-whisper's
``transcribe()`` decodes differently: a 30 s window, timestamps, temperature fallback, conditioning on
previous text; its WER is not the pipeline's.)

Leads: where a clip's speech falls on the VAD's 30 ms frames and Whisper's 10 ms hops is arbitrary, and
moving it changes words (a language's WER moves by several points over start offsets of 0–500 ms:
docs/stt-models.md). So each clip may run once per lead (``--leads-ms``, e.g. 0, 110, 220: other frame
phases too), with that much silence before it, streamed and offline alike; WER, shares and latency pool
the runs, which estimates each figure instead of drawing it once.

Per final: whether its text ends a sentence (:func:`~babelroom.dev.eval_scoring.ends_sentence`),
whether a pause ended its segment (the segment notice's ``cut`` is false), and its latency (caption
received minus the moment its last speech sample was sent, as ``make bench``; only at ``speed`` 1).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from babelroom.audio.pcm import SAMPLE_RATE, decode_file
from babelroom.config import Settings
from babelroom.dev.client import ApiClient, Received, SpeakerRun, listen, stream_speaker
from babelroom.dev.devstack import LocalStack
from babelroom.dev.eval_manifest import Clip
from babelroom.dev.eval_scoring import ends_sentence
from babelroom.stt.models import resolve_model

#: Silence streamed after each clip (s): longer than the VAD's trailing silence, so a pause ends it.
TAIL_SILENCE_S = 1.5
#: How long to wait for a clip's finals after its stream ended (s).
SETTLE_TIMEOUT_S = 60.0
#: Runs streamed by one speaker account: each costs it two API requests (open and close a room), and a
#: free account may make 100 an hour (``requests_per_hour``: 429 past it).
RUNS_PER_ACCOUNT = 40


@dataclass
class FinalCaption:
    """One final caption of a streamed clip."""

    text: str
    translation: str
    backend: str
    ends_sentence: bool
    pause: bool
    latency_ms: float | None


@dataclass
class ClipRun:
    """A clip's streamed and offline transcripts."""

    clip: Clip
    target: str
    lead_s: float = 0.0  # silence put before the clip, streamed and offline alike
    finals: list[FinalCaption] = field(default_factory=list)
    offline: str = ""
    missing: int = 0  # accepted segments that got no final in time

    @property
    def streamed(self) -> str:
        return " ".join(f.text for f in self.finals if f.text)

    @property
    def translated(self) -> str:
        return " ".join(f.translation for f in self.finals if f.translation)

    @cached_property
    def samples(self) -> np.ndarray:
        """The clip alone, ``(n,) float32`` 16 kHz, decoded once (offline and streaming both take it)."""
        return decode_file(self.clip.audio)

    @property
    def audio_s(self) -> float:
        """The clip's length (s), without the lead or the silence appended."""
        return self.samples.size / SAMPLE_RATE

    def audio(self) -> np.ndarray:
        """The clip after ``lead_s`` of silence, ``(n,) float32`` 16 kHz."""
        return np.concatenate([np.zeros(round(self.lead_s * SAMPLE_RATE), np.float32), self.samples])


def transcribe_offline(settings: Settings, runs: list[ClipRun], on_clip: Callable[[], None]) -> None:
    """Each run's clip (after its lead) transcribed whole by the worker's decoder and filter, into
    :attr:`ClipRun.offline` (see the module docstring).

    Raises:
        FileNotFoundError: the model directory is incomplete or missing (as the worker would).
    """
    from babelroom.stt.hallucination import HallucinationFilter
    from babelroom.stt.whisper import WhisperSTT

    engine = WhisperSTT(settings, resolve_model(settings))
    hallucinations = HallucinationFilter(settings)
    window = round(engine.window_s * SAMPLE_RATE)
    for run in runs:
        audio, text = run.audio(), ""
        for start in range(0, audio.size, window):
            hypothesis = engine.transcribe(audio[start : start + window], run.clip.language, text or None, final=True)
            if hypothesis.text and hallucinations.check(hypothesis) is None:
                text = f"{text} {hypothesis.text}".strip()
        run.offline = text
        on_clip()


async def stream_clips(stack: LocalStack, runs: list[ClipRun], speed: float, on_clip: Callable[[], None]) -> None:
    """Stream every clip of ``runs`` through ``stack`` (one at a time) and fill in its finals; a new pair of
    accounts every :data:`RUNS_PER_ACCOUNT` runs."""
    for first in range(0, len(runs), RUNS_PER_ACCOUNT):
        await _stream_with_new_accounts(stack, runs[first : first + RUNS_PER_ACCOUNT], speed, on_clip)


async def _stream_with_new_accounts(stack: LocalStack, runs: list[ClipRun], speed: float,
                                    on_clip: Callable[[], None]) -> None:
    tag = uuid.uuid4().hex[:6]
    async with ApiClient(stack.gateway_url) as speaker, ApiClient(stack.gateway_url) as listener:
        await speaker.register(f"eval-{tag}-speaker@eval.babelroom.local", secrets.token_urlsafe(16), "Speaker")
        await listener.register(f"eval-{tag}-listener@eval.babelroom.local", secrets.token_urlsafe(16), "Listener")
        for run in runs:
            room = (await speaker.create_room(f"eval {run.clip.audio.name}"))["id"]
            try:
                await listener.join(room, listen_only=True)
                await _stream_one(stack, room, speaker.token, listener.token, run, speed)
            finally:
                await speaker.close_room(room)
            on_clip()


async def _stream_one(stack: LocalStack, room: str, speaker_token: str, listener_token: str, run: ClipRun,
                      speed: float) -> None:
    received: list[Received] = []
    stop, connected = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(
        listen(stack.ws_url(f"/ws/rooms/{room}/captions?lang={run.target}"), received.append, stop, connected,
               token=listener_token))
    try:
        await asyncio.wait_for(connected.wait(), 10)
        audio = np.concatenate([run.audio(), np.zeros(int(TAIL_SILENCE_S * SAMPLE_RATE), np.float32)])
        speaker = SpeakerRun("speaker")
        await stream_speaker(stack.ws_url(f"/ws/rooms/{room}/audio"), speaker, token=speaker_token, name="Speaker",
                             language=run.clip.language, audio=audio, realtime=speed > 0, speed=speed or 1.0)
        accepted = {n["segment_id"]: n for n in speaker.accepted()}
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not set(accepted) <= _settled(received) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await listener
    finals = sorted((r for r in received if r.caption.type == "final" and r.caption.segment_id in accepted),
                    key=lambda r: r.caption.room_seq)
    run.missing = len(set(accepted) - _settled(received))
    for r in finals:
        c = r.caption
        run.finals.append(FinalCaption(
            text=c.text,
            translation=c.translation.text if c.translation.language == run.target else "",
            backend=c.translation.backend,
            ends_sentence=ends_sentence(c.text),
            pause=not accepted[c.segment_id].get("cut", False),
            latency_ms=round((r.at - speaker.speech_end_wall(c.audio_end_ms)) * 1000, 1) if speed == 1 else None,
        ))


def _settled(received: list[Received]) -> set[str]:
    return {r.caption.segment_id for r in received if r.caption.type in ("final", "retract")}


def model_env(model: str | None) -> dict[str, str]:
    """The stack's environment for STT ``model`` (None: the settings' own)."""
    return {} if model is None else {"BABELROOM_STT_MODEL": model}


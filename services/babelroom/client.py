"""A Python client of the gateway's WebSockets, used by the demo, the benchmark and the tests.

Timing convention: a speaker streams its audio in real time, sending each chunk once the audio in it
has "happened" (chunk k, covering samples [k·n, (k+1)·n), leaves at ``t0 + (k+1)·n / 16000``). A sample
at ``t`` ms of the speaker's timeline was therefore sent at ``t0 + t / 1000``: that is how the final
latency (caption received minus end of the segment's speech) is measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import websockets

from babelroom.audio.pcm import float_to_s16le
from babelroom.bus.schemas import Caption

SAMPLE_RATE = 16_000


@dataclass
class SpeakerRun:
    """What one streamed speaker saw: its start time and the server's segment notices."""

    participant: str
    t0: float = 0.0  # wall clock (s since the epoch) of sample 0
    audio_s: float = 0.0
    notices: list[dict] = field(default_factory=list)

    def accepted(self) -> list[dict]:
        """Notices of segments that went on to STT (each should produce a final or a retraction)."""
        return [n for n in self.notices if n["segment_id"]]

    def speech_end_wall(self, audio_end_ms: int) -> float:
        """Wall-clock time (s) at which the sample at ``audio_end_ms`` was sent."""
        return self.t0 + audio_end_ms / 1000.0


@dataclass
class Received:
    """A caption and when this client received it (wall clock, s)."""

    caption: Caption
    at: float


async def stream_speaker(
    url: str,
    run: SpeakerRun,
    *,
    name: str,
    language: str,
    audio: np.ndarray,
    chunk_ms: int = 40,
    realtime: bool = True,
) -> SpeakerRun:
    """Stream ``audio`` (``(n,) float32`` at 16 kHz) to ``url`` (…/ws/rooms/{room}/audio).

    ``run`` is filled in as the stream goes (``t0`` at the first sample, then the notices), so that
    a caller can compute latencies while it is still streaming.

    Raises:
        websockets.exceptions.ConnectionClosedError: the server refused the stream (code and reason
            are on the exception).
    """
    run.audio_s = len(audio) / SAMPLE_RATE
    step = SAMPLE_RATE * chunk_ms // 1000
    async with websockets.connect(url, max_size=None) as ws:
        header = {
            "participant": run.participant,
            "name": name,
            "language": language,
            "sample_rate": SAMPLE_RATE,
            "channels": 1,
            "format": "s16le",
        }
        await ws.send(json.dumps(header))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"unexpected reply to the header: {ready}")

        async def read_notices() -> None:
            async for message in ws:
                run.notices.append(json.loads(message))

        reader = asyncio.create_task(read_notices())
        run.t0 = time.time()
        for k, start in enumerate(range(0, len(audio), step)):
            if realtime:
                delay = run.t0 + (start + step) / SAMPLE_RATE - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(float_to_s16le(audio[start : start + step]))
        await ws.send(json.dumps({"type": "end"}))
        await reader  # the server closes after flushing and notifying
    return run


async def listen(
    url: str,
    on_caption: Callable[[Received], None],
    stop: asyncio.Event,
    connected: asyncio.Event | None = None,
) -> None:
    """Receive captions from ``url`` (…/ws/rooms/{room}/captions?lang=xx) until ``stop`` is set."""
    async with websockets.connect(url, max_size=None) as ws:
        if connected is not None:
            connected.set()
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            on_caption(Received(Caption.model_validate_json(message), time.time()))

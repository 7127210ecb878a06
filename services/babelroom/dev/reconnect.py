"""A listener and a speaker that come back after their socket drops, for ``babelroom chaos`` and ``soak``.

:func:`listen_with_reconnect` reconnects to the captions socket with ``since=<last room_seq seen>``, so
the gateway replays the finals it missed while away (see :mod:`babelroom.gateway.captions`); on an
audio-mode URL (``&audio=1``) it also keeps the spoken translations (speech is not replayed).
:func:`speak_with_reconnect` streams a clip in real time; when its socket drops it reconnects and goes
on from the clip's current real-time position (what was "said" while it was away is not sent, as with
a real microphone). Both retry every ``retry_s`` until ``stop`` is set; a ``room_closed`` notice ends them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import numpy as np
import websockets

from babelroom.audio.pcm import float_to_s16le
from babelroom.bus.schemas import Caption, SpeechAudio
from babelroom.dev.client import SAMPLE_RATE, Received, ReceivedSpeech, with_token

RETRY_S = 0.5


@dataclass
class SocketLog:
    """What one reconnecting socket saw.

    ``finals``: every final caption received (with its arrival time), duplicates included; ``speech``:
    every spoken translation (chunk) received in audio mode, its audio dropped after the size check;
    ``retracted``: segments withdrawn; ``notices``: raw notice objects (any ``code``); ``drops``: wall
    time and reason of each lost connection; ``segments``: the ingest's segment notices (speaker only).
    """

    finals: list[Received] = field(default_factory=list)
    speech: list[ReceivedSpeech] = field(default_factory=list)
    retracted: set[str] = field(default_factory=set)
    notices: list[dict] = field(default_factory=list)
    drops: list[tuple[float, str]] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    last_room_seq: int = 0
    closed: bool = False

    def lost_notices(self) -> list[dict]:
        """Notices telling the client that something it missed is lost (their code contains ``lost``)."""
        return [n for n in self.notices if "lost" in str(n.get("code", ""))]

    def accepted(self) -> set[str]:
        """Segments the ingest sent on to STT (each owes a final or a retraction)."""
        return {n["segment_id"] for n in self.segments if n.get("segment_id")}

    def settled(self) -> set[str]:
        return {r.caption.segment_id for r in self.finals} | self.retracted

    def add_notice(self, data: dict) -> None:
        self.notices.append(data)
        if data.get("code") == "room_closed":
            self.closed = True


async def listen_with_reconnect(
    url: str, token: str, log: SocketLog, stop: asyncio.Event, connected: asyncio.Event | None = None
) -> None:
    """Receive captions (and, with ``&audio=1``, speech) from ``url`` (…/captions?lang=xx) into ``log``
    until ``stop``, reconnecting.

    Raises:
        RuntimeError: a speech header not followed by exactly its ``audio_bytes`` in one binary frame.
    """
    while not stop.is_set() and not log.closed:
        since = f"&since={log.last_room_seq}" if log.last_room_seq else ""
        try:
            async with websockets.connect(with_token(url + since, token), max_size=None) as ws:
                if connected is not None:
                    connected.set()
                while not stop.is_set():
                    try:
                        message = await asyncio.wait_for(ws.recv(), 0.2)
                    except TimeoutError:
                        continue
                    data = json.loads(message)
                    if data.get("type") == "notice":
                        log.add_notice(data)
                        continue
                    if data.get("type") == "speech":
                        at, audio = time.time(), await ws.recv()
                        if not isinstance(audio, bytes) or len(audio) != data["audio_bytes"]:
                            raise RuntimeError(f"speech {data['segment_id']}: expected {data['audio_bytes']} bytes")
                        log.speech.append(ReceivedSpeech(SpeechAudio.model_validate(data), at, time.time()))
                        continue
                    caption = Caption.model_validate(data)
                    if caption.type == "final":
                        log.finals.append(Received(caption, time.time()))
                        log.last_room_seq = max(log.last_room_seq, caption.room_seq)
                    elif caption.type == "retract":
                        log.retracted.add(caption.segment_id)
        except (OSError, websockets.WebSocketException) as exc:
            log.drops.append((time.time(), repr(exc)))
            await asyncio.sleep(RETRY_S)


async def speak_with_reconnect(
    url: str, token: str, log: SocketLog, audio: np.ndarray, stop: asyncio.Event, *,
    participant: str, name: str, language: str, chunk_ms: int = 40,
) -> float:
    """Stream ``audio`` (``(n,) float32``, 16 kHz) to ``url`` (…/audio) in real time, reconnecting;
    segment notices go to ``log.segments``. Returns the wall time (s) of sample 0."""
    step = SAMPLE_RATE * chunk_ms // 1000
    t0 = time.time()
    end = len(audio)
    while not stop.is_set() and not log.closed:
        try:
            async with websockets.connect(with_token(url, token), max_size=None) as ws:
                await ws.send(json.dumps({"participant": participant, "name": name, "language": language,
                                          "sample_rate": SAMPLE_RATE, "channels": 1, "format": "s16le"}))
                ready = json.loads(await ws.recv())
                if ready.get("type") != "ready":
                    raise websockets.InvalidMessage(f"unexpected reply to the header: {ready}")
                reader = asyncio.create_task(_read_notices(ws, log))
                resume = int((time.time() - t0) * SAMPLE_RATE) // step * step
                for start in range(resume, end, step):
                    delay = t0 + (start + step) / SAMPLE_RATE - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if reader.done():  # the server closed the socket
                        reader.result()
                        raise websockets.ConnectionClosedError(None, None)
                    await ws.send(float_to_s16le(audio[start : start + step]))
                await ws.send(json.dumps({"type": "end"}))
                await reader  # the server closes after flushing and notifying
                return t0
        except (OSError, websockets.WebSocketException) as exc:
            log.drops.append((time.time(), repr(exc)))
            if time.time() - t0 > end / SAMPLE_RATE:
                return t0
            await asyncio.sleep(RETRY_S)
    return t0


async def _read_notices(ws: websockets.ClientConnection, log: SocketLog) -> None:
    async for message in ws:
        data = json.loads(message)
        if data.get("type") == "notice":
            log.add_notice(data)
        else:
            log.segments.append(data)

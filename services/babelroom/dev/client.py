"""A Python client of the gateway's API and WebSockets, used by the demo, the benchmark and the tests.

Sockets take an access token (sent as ``?token=``); :class:`ApiClient` gets one (register or log in)
and makes and joins rooms. Room notices (``{"type": "notice", …}``) are handed to ``on_notice``.

Timing convention: a speaker streams its audio in real time, sending each chunk once the audio in it
has "happened" (chunk k, covering samples [k·n, (k+1)·n), leaves at ``t0 + (k+1)·n / 16000``). A sample
at ``t`` ms of the speaker's timeline was therefore sent at ``t0 + t / 1000``: that is how the final
latency (caption received minus end of the segment's speech) is measured.

Audio mode (``&audio=1`` on the caption URL): each spoken translation arrives as a ``speech`` JSON header
and one binary frame of its Ogg Opus file; :func:`listen` hands both to ``on_speech`` as a
:class:`ReceivedSpeech`, whose :meth:`ReceivedSpeech.samples` decodes the audio with PyAV.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import websockets

from babelroom.audio.pcm import float_to_s16le
from babelroom.bus.schemas import Caption, Notice, SpeechAudio
from babelroom.tts.codec import decode_audio

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
        return [n for n in self.notices if n.get("type") == "segment" and n["segment_id"]]

    def speech_end_wall(self, audio_end_ms: int) -> float:
        """Wall-clock time (s) at which the sample at ``audio_end_ms`` was sent."""
        return self.t0 + audio_end_ms / 1000.0


@dataclass
class Received:
    """A caption and when this client received it (wall clock, s)."""

    caption: Caption
    at: float


@dataclass
class ReceivedSpeech:
    """A spoken translation (its ``audio`` filled from the binary frame), when its header arrived and
    when its audio (the binary frame: its first byte, as websockets hands frames over whole) arrived
    (wall clock, s)."""

    speech: SpeechAudio
    at: float
    audio_at: float

    def samples(self) -> tuple[npt.NDArray[np.float32], int]:
        """The decoded speech, ``(n,) float32`` mono, and its sample rate (48 kHz for Opus).

        Raises:
            ValueError: the audio does not decode.
        """
        return decode_audio(self.speech.audio)


def with_token(url: str, token: str) -> str:
    """``url`` with ``token`` as its ``token`` query parameter."""
    return f"{url}{'&' if '?' in url else '?'}token={token}"


async def stream_speaker(
    url: str,
    run: SpeakerRun,
    *,
    token: str,
    name: str,
    language: str,
    audio: np.ndarray,
    chunk_ms: int = 40,
    realtime: bool = True,
    speed: float = 1.0,
) -> SpeakerRun:
    """Stream ``audio`` (``(n,) float32`` at 16 kHz) to ``url`` (…/ws/rooms/{room}/audio) as the
    participant whose access ``token`` is given.

    With ``realtime``, chunks leave at ``speed`` × real time (2.0: twice as fast); else as fast as the
    socket takes them.

    ``run`` is filled in as the stream goes (``t0`` at the first sample, then the server's segment
    and room notices), so that a caller can compute latencies while it is still streaming.

    Raises:
        websockets.exceptions.ConnectionClosedError: the server refused the stream (code and reason
            are on the exception).
    """
    run.audio_s = len(audio) / SAMPLE_RATE
    step = SAMPLE_RATE * chunk_ms // 1000
    async with websockets.connect(with_token(url, token), max_size=None) as ws:
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
        for start in range(0, len(audio), step):
            if realtime:
                delay = run.t0 + (start + step) / SAMPLE_RATE / speed - time.time()
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
    *,
    token: str,
    on_notice: Callable[[Notice], None] | None = None,
    on_speech: Callable[[ReceivedSpeech], None] | None = None,
) -> None:
    """Receive captions from ``url`` (…/ws/rooms/{room}/captions?lang=xx[&audio=1]) until ``stop`` is set
    or the server closes the socket (room closed); spoken translations (``audio=1``) go to ``on_speech``.

    Raises:
        RuntimeError: a speech header not followed by exactly its ``audio_bytes`` in one binary frame.
    """
    async with websockets.connect(with_token(url, token), max_size=None) as ws:
        if connected is not None:
            connected.set()
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            except websockets.ConnectionClosedOK:
                return
            data = json.loads(message)
            if data.get("type") == "speech":
                at, audio = time.time(), await ws.recv()
                if not isinstance(audio, bytes) or len(audio) != data["audio_bytes"]:
                    raise RuntimeError(f"speech {data['segment_id']}: expected {data['audio_bytes']} bytes of audio")
                speech = SpeechAudio.model_validate(data)
                speech.audio = audio
                if on_speech is not None:
                    on_speech(ReceivedSpeech(speech, at, time.time()))
                continue
            if data.get("type") == "notice":
                if on_notice is not None:
                    on_notice(Notice.model_validate(data))
                continue
            on_caption(Received(Caption.model_validate(data), time.time()))


class ApiClient:
    """The HTTP API for one account: sign up or in, then rooms and transcripts.

    Args:
        base_url: the gateway (``http://127.0.0.1:8000``).

    Raises:
        httpx.HTTPStatusError: from any call the API refused (the JSON body says why).
    """

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.token = ""
        self.user_id = ""

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        response.raise_for_status()
        return response

    async def register(self, email: str, password: str, name: str) -> None:
        """Create the account and keep its access token."""
        pair = (await self._call("POST", "/api/auth/register",
                                 json={"email": email, "password": password, "display_name": name})).json()
        self.token, self.user_id = pair["access_token"], pair["user_id"]

    async def create_room(self, name: str, *, listen_only: bool = False, diarization: bool = False) -> dict:
        """Open a room (``diarization``: label speakers sharing a microphone; Pro, else 403)."""
        body = {"name": name, "listen_only": listen_only, **({"diarization": True} if diarization else {})}
        return (await self._call("POST", "/api/rooms", json=body)).json()

    async def join(self, room_id: str, *, listen_only: bool = False) -> dict:
        return (await self._call("POST", f"/api/rooms/{room_id}/join", json={"listen_only": listen_only})).json()

    async def close_room(self, room_id: str) -> dict:
        return (await self._call("POST", f"/api/rooms/{room_id}/close")).json()

    async def transcript(self, room_id: str) -> list[dict]:
        """Every persisted final of the room, in room order (following the pages)."""
        items: list[dict] = []
        after = 0
        while True:
            page = (await self._call("GET", f"/api/rooms/{room_id}/transcript",
                                     params={"after_seq": after, "limit": 500})).json()
            items += page["items"]
            if page["next_after_seq"] is None:
                return items
            after = page["next_after_seq"]

    async def export(self, room_id: str, fmt: str, lang: str | None = None) -> str:
        params = {"format": fmt, **({"lang": lang} if lang else {})}
        return (await self._call("GET", f"/api/rooms/{room_id}/transcript/export", params=params)).text

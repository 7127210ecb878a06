"""Janus restarts in the middle of a call; the platform recovers by itself and a client that rejoins
is transcribed again (chaos scenario ``janus-restart``).

The setup of test_janus_media.py (Janus in a network namespace, an aiortc publisher in another, a
MediaService in front of a LocalStack), but the room is run by :class:`Calls` with its call sync
(:func:`run_call_sync`, every 0.5 s), as in the gateway. Alice speaks the clip; Janus is stopped
after its first part ("... ask not what your country can do for you"), so the rest is spoken into
a dead server and lost. Janus is started again on the same port and configuration; a second
publisher process (the same client rejoining: new Janus session, same join token) retries its join
until the call sync has created the room again, publishes, and speaks the rest once more ("ask what
you can do for your country"). Its finals must come within ``RECOVERY_S`` of Janus being back.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import jiwer
import numpy as np
import redis.asyncio as aioredis
from bus_captions import BusCaptions
from janus_secrets import ADMIN_KEY, API_SECRET
from netns import socket_in
from speech_clip import CLIP, normalise, reference, write_wav

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.media.forwards import ForwardRegistry
from babelroom.media.service import MediaService
from babelroom.sfu.calls import Calls, run_call_sync
from babelroom.sfu.janus_client import JanusClient, VideoRoomAdmin
from babelroom.sfu.room_sync import RoomSync

PUBLISHER = Path(__file__).parent / "publisher.py"
SPLIT_S = 7.9  # the pause after "... can do for you" in the clip
RECOVERY_S = 10.0  # Janus back → the rejoined publisher's first final, beyond the length of its speech
SR = 16000


class Publisher:
    """publisher.py in the client namespace; its JSON lines in :attr:`events` as they come."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, netns, janus_ns_url: str, room: str, token: str, wav: Path, *args: str) -> Publisher:
        self.process = await asyncio.create_subprocess_exec(
            *netns.exec_prefix(netns.client), sys.executable, str(PUBLISHER),
            "--janus", janus_ns_url, "--api-secret", API_SECRET, "--room", room, "--id", "alice",
            "--display", "Alice", f"--token={token}", "--audio", str(wav), "--no-video", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                self.events.append(json.loads(line))
            except ValueError:  # not one of its lines (a library printing)
                self.events.append({"event": "stdout", "t": time.time(), "line": line.decode(errors="replace")})

    def at(self, event: str) -> float | None:
        """Wall clock of the first ``event`` line, or None."""
        return next((e["t"] for e in self.events if e["event"] == event), None)

    async def wait_for(self, event: str, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        while (t := self.at(event)) is None:
            if time.monotonic() > deadline or (self.process and self.process.returncode is not None):
                raise AssertionError(f"no {event!r} from the publisher: ... {self.events[-3:]}")
            await asyncio.sleep(0.05)
        return t

    async def stop(self) -> str:
        """Kill it if still running; its stderr tail."""
        assert self.process is not None and self.process.stderr is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            await self._reader
        return (await self.process.stderr.read()).decode()[-2000:]


async def run_restart(netns, janus, janus_url: str, janus_ns_url: str, stack, tmp_path: Path) -> dict:
    settings = Settings(redis_url=stack.redis_url, media_idle_flush_ms=800, janus_enabled=True,
                        janus_url=janus_url, janus_api_secret=API_SECRET, janus_admin_key=ADMIN_KEY,
                        janus_sync_interval_s=0.5)
    redis = aioredis.from_url(stack.redis_url)
    rtp_socket = socket_in(netns.server)
    rtp_socket.bind(("127.0.0.1", 0))
    media = MediaService(settings, redis)
    _, media_port = await media.start(sock=rtp_socket)
    sync = RoomSync(VideoRoomAdmin(JanusClient(janus_url, api_secret=API_SECRET, timeout_s=2.0), admin_key=ADMIN_KEY),
                    ForwardRegistry(redis), media_host="127.0.0.1", media_port=media_port, secret_key="test-key")
    calls = Calls(settings, redis, sync)
    room = f"call-{uuid.uuid4().hex[:6]}"
    call = await calls.joined(room, participant="alice", name="Alice", language="en", max_publishers=2, tier="free")
    assert call is not None
    captions = await BusCaptions(stack.redis_url, room).start()
    syncing = asyncio.create_task(run_call_sync(calls, settings.janus_sync_interval_s))

    clip = decode_file(CLIP)
    silence = np.zeros(SR * 2, np.float32)
    first, again = tmp_path / "first.wav", tmp_path / "again.wav"
    write_wav(first, np.concatenate([silence, clip, np.zeros(SR * 30, np.float32)]))
    write_wav(again, np.concatenate([silence[: SR // 2], clip[int(SPLIT_S * SR):], silence[:SR]]))
    out: dict = {}
    before = after = None
    try:
        # 1. Alice speaks; Janus dies at the pause after "for you" (2 s of silence lead the clip).
        before = await Publisher().start(netns, janus_ns_url, room, call.token, first)
        connected = await before.wait_for("connected", 60)
        await asyncio.sleep(max(0.0, connected + 2 + SPLIT_S - time.time()))
        out["janus_stopped"] = time.time()
        await asyncio.to_thread(janus.stop)
        out["taps_before"] = [f.ssrc for f in await sync.taps(room)]
        # 2. The client notices and rejoins (retrying) while Janus comes back on the same port.
        out["before_stderr"] = await before.stop()
        after = await Publisher().start(netns, janus_ns_url, room, call.token, again, "--join-retry-s", "20")
        await asyncio.sleep(2.0)
        await asyncio.to_thread(janus.start)
        out["janus_back"] = time.time()
        out["rejoined"] = await after.wait_for("connected", 30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and after.process and after.process.returncode is None:
            out["tapped"] = out.get("tapped") or next((f.created_ms / 1000 for f in await sync.taps(room)), None)
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                [t for c, t in captions.got["es"] if c.type == "final" and t > out["janus_back"]]
                and captions.quiet_for() > 5):
            await asyncio.sleep(0.2)
        out["taps_after"] = [f.ssrc for f in await sync.taps(room)]
    finally:
        out["after_stderr"] = await after.stop() if after else ""
        if before:
            await before.stop()
        syncing.cancel()
        await asyncio.gather(syncing, return_exceptions=True)
        await captions.stop()
        await calls.closed(room)
        await calls.close()
        await media.stop()
        await redis.aclose()
    out["before_events"], out["after_events"] = before.events, after.events
    out["finals"] = [(c, t) for c, t in captions.got["es"] if c.type == "final"]
    return out


def test_after_a_janus_restart_the_call_sync_recreates_the_room_and_a_rejoined_client_is_transcribed(
    netns, janus_in_netns, stack, tmp_path
):
    janus, janus_url, janus_ns_url = janus_in_netns
    out = asyncio.run(run_restart(netns, janus, janus_url, janus_ns_url, stack, tmp_path))
    back = out["janus_back"]
    # Speech after the rejoin cannot be final before the rejoined client is connected.
    finals_before = [c for c, t in out["finals"] if t < out["rejoined"]]
    finals_after = [(c, t) for c, t in out["finals"] if t > out["rejoined"]]
    words = normalise(reference()).split()
    said_before, said_after = " ".join(words[:14]), " ".join(words[14:])  # split after "for you"
    text_before = normalise(" ".join(c.text for c in finals_before))
    text_after = normalise(" ".join(c.text for c, _ in finals_after))
    rejoined = [e for e in out["after_events"] if e["event"] in ("join_retry", "joined", "connected")]
    report = {
        "before": text_before, "after": text_after,
        "outage_s": round(back - out["janus_stopped"], 2),
        "retries": sum(e["event"] == "join_retry" for e in rejoined),
        "joined_after_back_s": round(next(e["t"] for e in rejoined if e["event"] == "joined") - back, 2),
        "tapped_after_back_s": round(out["tapped"] - back, 2) if out.get("tapped") else None,
        "first_final_after_back_s": round(finals_after[0][1] - back, 2) if finals_after else None,
    }
    print("janus-restart:", json.dumps(report))
    assert said_before.endswith("can do for you") and said_after == "ask what you can do for your country"
    assert jiwer.wer(said_before, text_before) < 0.3, report
    assert finals_after, f"{report}\n{out['after_stderr']}\n{janus.log()[-3000:]}"
    assert jiwer.wer(said_after, text_after) < 0.3, report
    speech_s = len(decode_file(CLIP)) / SR - SPLIT_S + 0.5
    assert report["first_final_after_back_s"] < RECOVERY_S + speech_s, report
    assert out["taps_after"] == [], out  # the rejoined publisher left: its tap was stopped
    assert out["taps_before"] and all(c.speaker == "alice" for c, _ in out["finals"])

"""An audio tap follows its publisher and its speaker's membership (real Janus in a network namespace,
an aiortc publisher in the other; no media service needed: Janus forwards to an unused UDP port).

The web app changes the spoken language by joining again (the membership gets the new language and a
new token) and reconnecting the call: its publisher leaves and comes back under the same id, often
between two sync rounds. The sync must then replace the tap: the old one forwards nothing (Janus
dropped its forwarder with the publisher) and carries the old language. A membership change alone
(no republish) also restarts the tap with the new language.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import numpy as np
import redis.asyncio as aioredis
from janus_secrets import ADMIN_KEY, API_SECRET
from speech_clip import write_wav
from test_janus_restart import Publisher

from babelroom.media.forwards import ForwardRegistry
from babelroom.sfu.janus_client import JanusClient, VideoRoomAdmin
from babelroom.sfu.room_sync import RoomSync, Speaker

SR = 16000


def tone(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * SR)) / SR
    write_wav(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    return path


async def live_streams(sync: RoomSync, room: str) -> set[tuple[str, int]]:
    """(publisher id, stream id) of every forwarder Janus holds in ``room``."""
    return {(str(p["publisher_id"]), f["stream_id"])
            for p in await sync.admin.list_forwarders(room, secret=sync.room_secret(room))
            for f in p.get("forwarders", [])}


async def tap_when_active(sync: RoomSync, room: str, speakers: dict[str, Speaker], timeout_s: float = 10):
    """Sync until the room's one tap is live in Janus (the publisher may need a moment to be listed)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        await sync.sync_publishers(room, speakers)
        taps = await sync.taps(room)
        live = await live_streams(sync, room)
        if len(taps) == 1 and (taps[0].publisher_id, taps[0].stream_id) in live:
            return taps[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no live tap: taps {taps}, forwarders {live}")
        await asyncio.sleep(0.1)


async def scenario(netns, janus_url: str, janus_ns_url: str, redis_url: str, tmp_path: Path) -> dict:
    redis = aioredis.from_url(redis_url)
    sync = RoomSync(VideoRoomAdmin(JanusClient(janus_url, api_secret=API_SECRET), admin_key=ADMIN_KEY),
                    ForwardRegistry(redis), media_host="127.0.0.1", media_port=9, secret_key="test-key")
    room, token = f"call-{uuid.uuid4().hex[:6]}", RoomSync.new_join_token()
    await sync.open_room(room, max_publishers=2, bitrate_bps=256_000, tokens=[token])
    out: dict = {}
    first = again = None
    try:
        # 1. Alice publishes, speaking English: tapped.
        first = await Publisher().start(netns, janus_ns_url, room, token, tone(tmp_path / "short.wav", 3), "--no-video")
        await first.wait_for("connected", 60)
        out["first"] = await tap_when_active(sync, room, {"alice": Speaker("alice", "Alice", "en")})
        # 2. She switches to Spanish: her call reconnects at once (leave, join, publish), no sync between.
        assert first.process is not None
        await asyncio.wait_for(first.process.wait(), 30)  # it leaves the room when its file ends
        again = await Publisher().start(netns, janus_ns_url, room, token, tone(tmp_path / "long.wav", 30), "--no-video")
        await again.wait_for("connected", 60)
        spanish = {"alice": Speaker("alice", "Alice", "es")}
        out["after_republish"] = await sync.sync_publishers(room, spanish)
        out["taps_republished"] = await sync.taps(room)
        out["live_republished"] = await live_streams(sync, room)
        # 3. A membership change alone (no republish) also moves the tap to the new language.
        out["after_membership"] = await sync.sync_publishers(room, {"alice": Speaker("alice", "Alice", "de")})
        out["taps_membership"] = await sync.taps(room)
        out["live_membership"] = await live_streams(sync, room)
        out["steady"] = await sync.sync_publishers(room, {"alice": Speaker("alice", "Alice", "de")})
    finally:
        for p in (first, again):
            if p is not None:
                await p.stop()
        await sync.close_room(room)
        await sync.close()
        await redis.aclose()
    return out


def test_a_republished_or_relabelled_speaker_gets_a_new_live_tap(netns, janus_in_netns, redis_url, tmp_path):
    _, janus_url, janus_ns_url = janus_in_netns
    out = asyncio.run(scenario(netns, janus_url, janus_ns_url, redis_url, tmp_path))
    assert out["first"].language == "en"

    [tap] = out["taps_republished"]
    assert tap.language == "es", tap
    assert (tap.publisher_id, tap.stream_id) in out["live_republished"], (tap, out["live_republished"])
    assert [f.ssrc for f in out["after_republish"].stopped] == [out["first"].ssrc]

    [relabelled] = out["taps_membership"]
    assert relabelled.language == "de" and relabelled.ssrc != tap.ssrc
    assert (relabelled.publisher_id, relabelled.stream_id) in out["live_membership"]
    assert out["live_membership"] == {(relabelled.publisher_id, relabelled.stream_id)}  # the old forwarder is gone
    assert not out["steady"].started and not out["steady"].stopped  # nothing to change: nothing changes

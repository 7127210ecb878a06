"""WebRTC media through the real Janus into the pipeline, inside network namespaces made by the test.

Janus runs in the ``server`` namespace with ICE limited to its veth end; an aiortc publisher in the
``client`` namespace sends the real clip (Opus) and a small VP8 video through the VideoRoom; RoomSync
asks Janus to RTP-forward the publisher's audio to the media service, whose UDP socket lives in the
server namespace (127.0.0.1 there) while the service itself runs in this process, in front of a
LocalStack (Redis, gateway, STT with Whisper tiny.en, MT with apertium) in the root namespace.
English and Spanish finals of the clip must come out.

Media never leaves the two namespaces: they have no route anywhere else.
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
from prometheus_client import REGISTRY
from speech_clip import CLIP, normalise, reference, write_wav

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.media.forwards import ForwardRegistry
from babelroom.media.service import MediaService
from babelroom.sfu.janus_client import JanusClient, VideoRoomAdmin
from babelroom.sfu.room_sync import RoomSync, Speaker

PUBLISHER = Path(__file__).parent / "publisher.py"


async def run_call(netns, janus_url, janus_ns_url, stack, tmp_path) -> dict:
    """Open a room, publish the clip from the client namespace, tap it, collect captions."""
    settings = Settings(redis_url=stack.redis_url, media_idle_flush_ms=800)
    redis = aioredis.from_url(stack.redis_url)
    rtp_socket = socket_in(netns.server)  # the media service's socket, inside Janus's namespace
    rtp_socket.bind(("127.0.0.1", 0))
    media = MediaService(settings, redis)
    _, media_port = await media.start(sock=rtp_socket)
    sync = RoomSync(VideoRoomAdmin(JanusClient(janus_url, api_secret=API_SECRET), admin_key=ADMIN_KEY),
                    ForwardRegistry(redis), media_host="127.0.0.1", media_port=media_port,
                    secret_key="test-key")
    room, token = f"call-{uuid.uuid4().hex[:6]}", RoomSync.new_join_token()
    captions = await BusCaptions(stack.redis_url, room).start()
    # 2 s of silence first: the tap starts once Janus lists the publisher as active.
    clip = decode_file(CLIP)
    wav = tmp_path / "speech.wav"
    write_wav(wav, np.concatenate([np.zeros(32000, np.float32), clip, np.zeros(16000, np.float32)]))
    out: dict = {"events": [], "room": room}
    await sync.open_room(room, max_publishers=2, bitrate_bps=256_000, tokens=[token])
    publisher = await asyncio.create_subprocess_exec(
        *netns.exec_prefix(netns.client), sys.executable, str(PUBLISHER),
        "--janus", janus_ns_url, "--api-secret", API_SECRET,
        "--room", room, "--id", "alice", "--display", "Alice", f"--token={token}", "--audio", str(wav),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    speakers = {"alice": Speaker("alice", "Alice", "en")}
    try:
        tap = None
        while True:
            line = await asyncio.wait_for(publisher.stdout.readline(), 120)
            if not line:
                break
            event = json.loads(line)
            out["events"].append(event)
            if event["event"] == "connected":
                deadline = time.monotonic() + 10
                while tap is None and time.monotonic() < deadline:
                    started = (await sync.sync_publishers(room, speakers)).started
                    tap = started[0] if started else None
                    await asyncio.sleep(0.1)
                out["tap"] = tap
                out["participants"] = await sync.admin.list_participants(room)
                out["forwarders"] = await sync.admin.list_forwarders(room, secret=sync.room_secret(room))
        out["publisher_rc"] = await publisher.wait()
        out["publisher_stderr"] = (await publisher.stderr.read()).decode()[-3000:]
        # The publisher left: the next sync stops the tap, the media service flushes the segment.
        out["stopped"] = (await sync.sync_publishers(room, speakers)).stopped
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (captions.finals("es") and captions.quiet_for() > 5):
            await asyncio.sleep(0.2)
    finally:
        if publisher.returncode is None:
            publisher.kill()
            await publisher.wait()
        await captions.stop()
        await sync.close_room(room)
        await sync.close()
        await media.stop()
        await redis.aclose()
    out["captions"] = captions
    return out


def test_a_webrtc_publisher_through_janus_becomes_english_and_spanish_captions(
    netns, janus_in_netns, stack, tmp_path
):
    janus, janus_url, janus_ns_url = janus_in_netns
    accepted0 = REGISTRY.get_sample_value("babelroom_media_rtp_packets_total", {"outcome": "accepted"}) or 0
    out = asyncio.run(run_call(netns, janus_url, janus_ns_url, stack, tmp_path))

    events = {e["event"]: e for e in out["events"]}
    assert out["publisher_rc"] == 0, out["publisher_stderr"] + janus.log()[-2000:]
    assert {"opus", "vp8"} <= set(events["published"]["codecs"])
    assert out["tap"] is not None and out["tap"].publisher_id == "alice"
    assert [(p["id"], p["publisher"]) for p in out["participants"]] == [("alice", True)]
    forwarders = out["forwarders"][0]["forwarders"]
    assert [(f["type"], f["ssrc"]) for f in forwarders] == [("audio", out["tap"].ssrc)]
    assert [f.ssrc for f in out["stopped"]] == [out["tap"].ssrc]

    accepted = (REGISTRY.get_sample_value("babelroom_media_rtp_packets_total", {"outcome": "accepted"}) or 0
                - accepted0)
    assert accepted > 500  # ≥ 10 s of 20 ms packets
    finals_es, finals_en = out["captions"].finals("es"), out["captions"].finals("en")
    english = " ".join(c.text for c in finals_es)
    assert jiwer.wer(normalise(reference()), normalise(english)) < 0.25, english
    assert all(c.speaker == "alice" and c.speaker_name == "Alice" for c in finals_es)
    assert "país" in " ".join(c.translation.text for c in finals_es).lower()  # "your country"
    assert [c.text for c in finals_en] == [c.text for c in finals_es]

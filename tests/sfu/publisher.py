"""A WebRTC publisher for Janus's VideoRoom, run inside the client network namespace by
test_janus_media.py: aiortc sends a sound file's audio (Opus) and a small synthetic video (VP8).

Prints one JSON line per step on stdout (``joined``, ``published`` with the negotiated codecs and
mids, ``connected``, ``done``), then leaves the room. Exit code 0 on success.

    ip netns exec NS python publisher.py --janus http://10.77.0.1:8088/janus --room R --id alice \
        --token T --audio speech.wav [--api-secret S] [--join-retry-s 30]

With ``--join-retry-s``, a join that fails (Janus unreachable, or the room not there yet: a client
rejoining after a Janus restart) is tried again every 0.3 s for that long (``join_retry`` lines).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys
import time

import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer
from av import VideoFrame

from babelroom.sfu.janus_client import JanusClient, JanusError, JanusHandle, JanusSession


def say(event: str, **data: object) -> None:
    print(json.dumps({"event": event, "t": time.time(), **data}), flush=True)


class Pattern(VideoStreamTrack):
    """160×120 moving bars (30 fps): enough VP8 to prove the video path, cheap to encode."""

    async def recv(self) -> VideoFrame:
        pts, _ = await self.next_timestamp()
        x = (np.arange(160)[None, :] + pts // 9000) % 160
        img = np.repeat(((x * 255 // 160).astype(np.uint8))[:, :, None], 3, axis=2).repeat(120, axis=0)
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = pts, fractions.Fraction(1, 90000)
        return frame


async def next_plugin_event(session, want: str) -> tuple[dict, dict | None]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for event in await session.events():
            data = event.get("plugindata", {}).get("data", {})
            if "error_code" in data:
                raise RuntimeError(f"janus: {data}")
            if data.get("videoroom") == want or want in data:
                return data, event.get("jsep")
    raise TimeoutError(want)


async def join(client: JanusClient, args: argparse.Namespace) -> tuple[JanusSession, JanusHandle, dict]:
    """A new session joined to the room as a publisher: (session, handle, the ``joined`` event)."""
    deadline = time.monotonic() + args.join_retry_s
    while True:
        session = None
        try:
            session = await client.create_session()
            handle = await session.attach()
            await handle.message({"request": "join", "ptype": "publisher", "room": args.room, "id": args.id,
                                  "display": args.display or args.id, "token": args.token})
            joined, _ = await next_plugin_event(session, "joined")
            return session, handle, joined
        except (httpx.HTTPError, JanusError, RuntimeError) as exc:
            if session is not None:
                await session.destroy()
            if time.monotonic() > deadline:
                raise
            say("join_retry", error=str(exc)[:200])
            await asyncio.sleep(0.3)


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--janus", required=True)
    ap.add_argument("--api-secret")
    ap.add_argument("--room", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--display", default="")
    ap.add_argument("--token", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--join-retry-s", type=float, default=0.0)
    args = ap.parse_args()

    client = JanusClient(args.janus, api_secret=args.api_secret)
    session, handle, joined = await join(client, args)
    session.start_keepalive(10)
    say("joined", id=joined["id"])

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: host candidates only
    player = MediaPlayer(args.audio)
    pc.addTrack(player.audio)
    if not args.no_video:
        pc.addTrack(Pattern())
    connected = asyncio.Event()

    @pc.on("iceconnectionstatechange")
    def _state() -> None:
        say("ice", state=pc.iceConnectionState)
        if pc.iceConnectionState == "completed" or pc.iceConnectionState == "connected":
            connected.set()

    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
    await handle.message({"request": "publish", "audiocodec": "opus", "videocodec": "vp8"},
                         jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False})
    configured, jsep = await next_plugin_event(session, "configured")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))
    codecs = sorted({line.split()[1].split("/")[0].lower() for line in jsep["sdp"].splitlines()
                     if line.startswith("a=rtpmap:")})
    mids = {t.kind: t.mid for t in pc.getTransceivers()}
    say("published", codecs=codecs, mids=mids,
        streams=[{k: s.get(k) for k in ("type", "mid", "codec")} for s in configured.get("streams", [])])
    await asyncio.wait_for(connected.wait(), 20)
    say("connected")

    ended = asyncio.Event()
    player.audio.on("ended", ended.set)
    await asyncio.wait_for(ended.wait(), 300)
    await asyncio.sleep(0.5)
    say("done")
    await handle.message({"request": "leave"})
    await pc.close()
    await session.destroy()
    await client.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

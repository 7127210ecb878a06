"""The stereo check (issue 8, D13b): mono data under a two-channel header is told apart from real
stereo, and the audio socket counts the result."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import REGISTRY

from babelroom.gateway.audio_checks import StereoCheck

RATE = 16_000


def voice(seconds: float, seed: int = 0) -> np.ndarray:
    """A speech-like mono signal: harmonics of a gliding pitch under a syllable envelope, (n,) float."""
    t = np.arange(int(RATE * seconds)) / RATE
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    rng = np.random.default_rng(seed)
    return 0.2 * x * envelope + 0.002 * rng.standard_normal(t.size)


def s16(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 32767, -32768, 32767).astype("<i2")


def decide(interleaved: np.ndarray) -> str | None:
    check = StereoCheck(RATE, 1.0)
    for i in range(0, interleaved.size, 3200):
        check.feed(interleaved[i:i + 3200])
    return check.result


def test_mono_interleaved_as_stereo_is_detected():
    assert decide(s16(voice(2.5))) == "mono_as_stereo"


@pytest.mark.parametrize("right", ["same", "delayed", "independent"])
def test_real_stereo_is_consistent(right):
    left = voice(2.5)
    other = {"same": 0.8 * left, "delayed": np.roll(left, 3), "independent": voice(2.5, seed=1)[::-1]}[right]
    pairs = np.stack([left, other], axis=1).reshape(-1)
    assert decide(s16(pairs)) == "consistent"


def test_silence_decides_nothing():
    assert decide(np.zeros(RATE * 4, "<i2")) is None


def test_the_audio_socket_counts_the_check(gateway, accounts):
    owner = accounts.create()
    room = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    before = REGISTRY.get_sample_value("babelroom_ingest_channel_checks_total", {"result": "mono_as_stereo"}) or 0
    data = s16(voice(4.0)).tobytes()
    with gateway.websocket_connect(f"/ws/rooms/{room}/audio?token={owner.token}") as ws:
        ws.send_json({"participant": "x", "language": "en", "sample_rate": RATE, "channels": 2})
        assert ws.receive_json()["type"] == "ready"
        for i in range(0, len(data), 6400):
            ws.send_bytes(data[i:i + 6400])
        ws.send_json({"type": "end"})
        while ws.receive()["type"] != "websocket.close":
            pass
    after = REGISTRY.get_sample_value("babelroom_ingest_channel_checks_total", {"result": "mono_as_stereo"})
    assert after == before + 1

"""A real RTP/Opus sender for the tests: PyAV's libopus encoder, RFC 3550 packets, and a seeded
impairment plan (loss, reordering, duplication) whose effects the tests know exactly."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from babelroom.media.rtp import RtpPacket

OPUS_RATE = 48_000
FRAME = 960  # 20 ms
OPUS_PT = 111
SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
JFK = SPEECH / "jfk.flac"


def s16(pcm: bytes) -> np.ndarray:
    """s16le bytes as float32 in [-1, 1]."""
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0


def opus_payloads(path: Path, *, bitrate: int = 32_000, fec: bool = True, loss_pct: int = 10) -> list[bytes]:
    """The first audio stream of ``path`` as 20 ms mono Opus packets (libopus through PyAV)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = OPUS_RATE
    enc.layout = "mono"
    enc.format = "s16"
    enc.bit_rate = bitrate
    enc.time_base = Fraction(1, OPUS_RATE)
    enc.options = {"application": "voip", "frame_duration": "20", "fec": "1" if fec else "0",
                   "packet_loss": str(loss_pct)}
    resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
    pcm = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            pcm += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    pcm += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(pcm)
    samples = np.concatenate([samples, np.zeros(-len(samples) % FRAME, samples.dtype)])
    out = []
    for k in range(0, len(samples), FRAME):
        frame = av.AudioFrame.from_ndarray(samples[k : k + FRAME].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.pts = k
        frame.time_base = Fraction(1, OPUS_RATE)
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return out


def rtp_packets(payloads: list[bytes], *, ssrc: int, seq0: int = 0, ts0: int = 0) -> list[RtpPacket]:
    """One RTP packet per payload: sequence numbers from ``seq0`` (wrapping), 960 ticks apart."""
    return [
        RtpPacket(payload_type=OPUS_PT, marker=i == 0, sequence=(seq0 + i) & 0xFFFF,
                  timestamp=(ts0 + i * FRAME) & 0xFFFFFFFF, ssrc=ssrc, payload=p)
        for i, p in enumerate(payloads)
    ]


@dataclass
class Impairment:
    """What :func:`impair` did: indices (into the clean packet list) lost, duplicated, delayed."""

    lost: set[int] = field(default_factory=set)
    duplicated: set[int] = field(default_factory=set)
    delayed: set[int] = field(default_factory=set)


def impair(packets: list, *, seed: int, loss: float = 0.0, duplicate: float = 0.0,
           reorder: float = 0.0, max_shift: int = 2) -> tuple[list, Impairment]:
    """A send order with losses (never two in a row, so each is concealable and counted once),
    duplicates (sent again right after) and reordering (a packet sent 1..``max_shift`` places late;
    the jitter buffer's wait covers that at 20 ms pacing)."""
    rng = random.Random(seed)
    plan = Impairment()
    order = []
    for i in range(len(packets)):
        if 0 < i < len(packets) - 1 and i - 1 not in plan.lost and rng.random() < loss:
            plan.lost.add(i)
            continue
        order.append(i)
        if rng.random() < duplicate:
            plan.duplicated.add(i)
            order.append(i)
    for pos in range(1, len(order) - max_shift - 1):
        i = order[pos]
        if i in plan.duplicated or i in plan.delayed or rng.random() >= reorder:
            continue
        shift = rng.randint(1, max_shift)
        if any(order[pos + k] in plan.delayed for k in range(1, shift + 1)):
            continue
        order.insert(pos + shift, order.pop(pos))
        plan.delayed.add(i)
    return [packets[i] for i in order], plan


def send(packets: list[RtpPacket], address: tuple[str, int], *, pace_s: float = 0.02,
         start: float | None = None) -> None:
    """Send ``packets`` over UDP, the k-th at ``start + k·pace_s`` (0: as fast as possible)."""
    start = time.monotonic() if start is None else start
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for k, packet in enumerate(packets):
            if pace_s:
                delay = start + k * pace_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            s.sendto(packet.serialize(), address)

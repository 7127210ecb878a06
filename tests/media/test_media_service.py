"""The media service in this process, on a loopback UDP socket, with real Redis: RTP/Opus packets of
the real clip (encoded by PyAV's libopus) in, the same segments on the ``audio`` stream as the
WebSocket ingest's path makes of the same PCM."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from prometheus_client import REGISTRY
from rtp_source import impair, rtp_packets, send

from babelroom.audio.pcm import PcmDecoder, StreamFormat
from babelroom.bus.schemas import SegmentAudio
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.ingest import SpeakerIngest
from babelroom.media.forwards import ForwardRegistry
from babelroom.media.service import MediaService

SPEAKER = dict(room="r1", participant="alice", name="Alice", language="en")


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def bus_finals(redis, room: str = "r1") -> list[SegmentAudio]:
    entries = await redis.xrange(AUDIO_STREAM)
    msgs = [SegmentAudio.from_fields(f) for _, f in entries]
    return [m for m in msgs if m.kind == "final" and m.room == room]


async def reference_finals(settings, redis, decoded: list[bytes]) -> list[SegmentAudio]:
    """The WebSocket path on the same PCM: PcmDecoder (48 kHz s16le, one frame per packet) →
    SpeakerIngest, published to room ``ref``."""
    ingest = SpeakerIngest(room="ref", speaker="alice", speaker_name="Alice", language="en",
                           settings=settings, redis=redis,
                           publisher=Publisher.for_stream(redis, AUDIO_STREAM, settings))
    decoder = PcmDecoder(StreamFormat(participant="alice", language="en", sample_rate=48000))
    for frame in decoded:
        await ingest.feed(decoder.decode(frame))
    await ingest.feed(decoder.flush())
    await ingest.flush()
    return await bus_finals(redis, "ref")


async def run_service(settings, aredis, packets, *, register=True, pace_s=0.005, after=None):
    """Start the service, register the tap, send ``packets`` from a thread, wait for the stream to
    end by idle flush, stop. Returns (service, forward)."""
    service = MediaService(settings, aredis)
    address = await service.start("127.0.0.1", 0)
    forward = None
    if register:
        forward = await ForwardRegistry(aredis).register(**SPEAKER)
        packets = [type(p)(p.payload_type, p.marker, p.sequence, p.timestamp, forward.ssrc, p.payload)
                   for p in packets]
    await asyncio.to_thread(send, packets, address, pace_s=pace_s)
    if after is not None:
        await after(service, forward)
    await asyncio.sleep(settings.media_idle_flush_ms / 1000 + 0.5)
    await service.stop()
    return service, forward


@pytest.fixture
def media_settings(settings):
    # Packets go at 4× real time; a missing one is waited for 200 ms (40 packet times), so only a
    # sender thread stalled that long could turn a reordered packet into a loss.
    return settings.model_copy(update={"media_idle_flush_ms": 600, "media_jitter_ms": 200})


def same_segments(got: list[SegmentAudio], ref: list[SegmentAudio], *, tolerance_ms: int = 0) -> None:
    assert len(got) == len(ref) > 0
    for g, r in zip(got, ref, strict=True):
        assert abs(g.audio_start_ms - r.audio_start_ms) <= tolerance_ms
        assert abs(g.audio_end_ms - r.audio_end_ms) <= tolerance_ms
        assert g.dropped == r.dropped
        assert (g.speaker, g.speaker_name, g.language) == ("alice", "Alice", "en")


async def test_reordered_and_duplicated_packets_give_the_websocket_paths_segments(
    media_settings, aredis, jfk_opus, jfk_decoded
):
    """No loss: the jitter buffer restores the exact order, so the decoded PCM, and with it every
    segment (bounds and audio), equals the WebSocket path fed the same PCM."""
    ref = await reference_finals(media_settings, aredis, jfk_decoded)
    clean = rtp_packets(jfk_opus, ssrc=1, seq0=65_300, ts0=2**32 - 48_000)  # both counters wrap
    order, plan = impair(clean, seed=7, duplicate=0.04, reorder=0.08)
    dup0, reo0 = (metric("babelroom_media_rtp_packets_total", outcome="duplicate"),
                  metric("babelroom_media_rtp_reordered_total"))
    lost0 = sum(metric("babelroom_media_rtp_lost_total", concealment=c) for c in ("fec", "plc"))

    await run_service(media_settings, aredis, order)

    got = await bus_finals(aredis)
    same_segments(got, ref)
    for g, r in zip(got, ref, strict=True):
        a, b = np.frombuffer(g.pcm, "<i2"), np.frombuffer(r.pcm, "<i2")
        assert len(a) == len(b) and np.abs(a.astype(int) - b).max() <= 2  # float rounding only
    assert metric("babelroom_media_rtp_packets_total", outcome="duplicate") - dup0 == len(plan.duplicated) > 0
    assert metric("babelroom_media_rtp_reordered_total") - reo0 == len(plan.delayed) > 0
    assert sum(metric("babelroom_media_rtp_lost_total", concealment=c) for c in ("fec", "plc")) == lost0


async def test_lost_packets_are_concealed_and_counted(media_settings, aredis, jfk_opus, jfk_decoded):
    """5 % single losses (plus reordering and duplicates): each loss is rebuilt from the next
    packet's FEC, counted once; the segments keep their count and bounds within 60 ms."""
    ref = await reference_finals(media_settings, aredis, jfk_decoded)
    order, plan = impair(rtp_packets(jfk_opus, ssrc=1), seed=11, loss=0.05, duplicate=0.02, reorder=0.05)
    fec0, plc0 = (metric("babelroom_media_rtp_lost_total", concealment=c) for c in ("fec", "plc"))
    late0 = metric("babelroom_media_rtp_packets_total", outcome="late")

    await run_service(media_settings, aredis, order)

    assert metric("babelroom_media_rtp_lost_total", concealment="fec") - fec0 == len(plan.lost) > 10
    assert metric("babelroom_media_rtp_lost_total", concealment="plc") == plc0
    assert metric("babelroom_media_rtp_packets_total", outcome="late") == late0
    got = await bus_finals(aredis)
    # Where the 5 s cap cuts depends on the quietest frame, which concealment may move: compare the
    # speech covered, not every cut.
    assert all(g.dropped is None for g in got) and len(ref) - 1 <= len(got) <= len(ref) + 1
    assert abs(got[0].audio_start_ms - ref[0].audio_start_ms) <= 60
    assert abs(got[-1].audio_end_ms - ref[-1].audio_end_ms) <= 60


async def test_removing_the_tap_flushes_the_open_segment_at_once(media_settings, aredis, jfk_opus):
    """The publisher leaves mid-sentence (its tap is removed): the speech so far becomes a final
    right away, without waiting for trailing silence or the idle timeout."""
    settings = media_settings.model_copy(update={"media_idle_flush_ms": 30_000})
    registry = ForwardRegistry(aredis)
    removed_at = {}

    async def leave(service, forward):
        await asyncio.sleep(0.3)
        assert forward.ssrc in service.streams
        removed_at["t"] = time.monotonic()
        await registry.remove(forward.ssrc)
        for _ in range(100):
            if forward.ssrc not in service.streams:
                break
            await asyncio.sleep(0.02)
        removed_at["closed"] = time.monotonic()

    head = rtp_packets(jfk_opus[:150], ssrc=1)  # 3 s: the first sentence is still going
    await run_service(settings, aredis, head, after=leave)
    finals = await bus_finals(aredis)
    assert finals and finals[-1].dropped is None and finals[-1].audio_end_ms > 2000
    assert removed_at["closed"] - removed_at["t"] < 1.0


async def test_unknown_ssrc_is_dropped_until_registered(media_settings, aredis, jfk_opus):
    unknown0 = metric("babelroom_media_rtp_packets_total", outcome="unknown_ssrc")
    service = MediaService(media_settings, aredis)
    address = await service.start("127.0.0.1", 0)
    try:
        await asyncio.to_thread(send, rtp_packets(jfk_opus[:50], ssrc=4242), address, pace_s=0.005)
        await asyncio.sleep(0.3)
        assert metric("babelroom_media_rtp_packets_total", outcome="unknown_ssrc") - unknown0 == 50
        assert not service.streams and await aredis.xlen(AUDIO_STREAM) == 0
        # garbage and RTCP are counted apart, never parsed as audio
        malformed0 = metric("babelroom_media_rtp_packets_total", outcome="malformed")
        rtcp0 = metric("babelroom_media_rtp_packets_total", outcome="rtcp")
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x00" * 20, address)
            s.sendto(bytes([0x80, 200]) + b"\x00" * 26, address)  # an RTCP sender report
        await asyncio.sleep(0.2)
        assert metric("babelroom_media_rtp_packets_total", outcome="malformed") - malformed0 == 1
        assert metric("babelroom_media_rtp_packets_total", outcome="rtcp") - rtcp0 == 1
    finally:
        await service.stop()


async def test_a_timestamp_jump_is_filled_with_silence(media_settings, aredis, jfk_opus, jfk_decoded):
    """A sender that stops sending in a pause (DTX) but keeps its clock: the packets of 1 s of the
    clip are not sent and the next ones carry the later timestamps with contiguous sequence numbers.
    The segments after the gap keep the timeline of the reference (within one 30 ms VAD frame)."""
    gap = range(300, 350)  # 6.0–7.0 s: replaced by silence in the reference too
    kept = [i for i in range(len(jfk_opus)) if i not in gap]
    packets = [p for i, p in enumerate(rtp_packets(jfk_opus, ssrc=1)) if i not in gap]
    packets = [type(p)(p.payload_type, p.marker, k, p.timestamp, p.ssrc, p.payload) for k, p in enumerate(packets)]
    silence = bytes(1920)
    ref_pcm = [jfk_decoded[i] if i not in gap else silence for i in range(len(jfk_opus))]
    ref = await reference_finals(media_settings, aredis, ref_pcm)
    inserted0 = metric("babelroom_media_silence_inserted_seconds_total")

    await run_service(media_settings, aredis, packets)

    assert metric("babelroom_media_silence_inserted_seconds_total") - inserted0 == pytest.approx(1.0)
    same_segments(await bus_finals(aredis), ref, tolerance_ms=30)
    assert len(kept) == len(packets)

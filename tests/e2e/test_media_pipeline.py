"""The SFU audio tap as a process (``babelroom media`` in the local stack): the real clip as RTP/Opus
over loopback UDP, with loss, reordering and duplication, becomes English and Spanish finals through
real STT (Whisper tiny.en) and MT (apertium). Also measures the media service's CPU per stream."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
import jiwer
import psutil
import pytest
import redis.asyncio as aioredis

from babelroom.dev.devstack import LocalStack
from babelroom.media.forwards import ForwardRegistry

sys.path.insert(0, str(Path(__file__).parents[1] / "media"))

from bus_captions import BusCaptions  # noqa: E402
from rtp_source import JFK, SPEECH, impair, opus_payloads, rtp_packets, send  # noqa: E402


def reference() -> str:
    rows = [r.split("\t") for r in (SPEECH / "references.tsv").read_text().splitlines()[1:]]
    return {r[0]: r[-1] for r in rows}["jfk.flac"]


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


def scrape(url: str) -> dict[str, float]:
    out = {}
    for line in httpx.get(url).text.splitlines():
        if line.startswith("babelroom_media_"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"BABELROOM_MEDIA_IDLE_FLUSH_MS": "800", "BABELROOM_LOG_LEVEL": "INFO"}
    with LocalStack(state_dir=tmp_path_factory.mktemp("stack-media"), media=True, env=env) as s:
        yield s


async def speak_over_rtp(stack, packets, room: str) -> tuple[BusCaptions, float]:
    redis = aioredis.from_url(stack.redis_url)
    captions = await BusCaptions(stack.redis_url, room).start()
    registry = ForwardRegistry(redis)
    forward = await registry.register(room=room, participant="alice", name="Alice", language="en")
    packets = [type(p)(p.payload_type, p.marker, p.sequence, p.timestamp, forward.ssrc, p.payload) for p in packets]
    await asyncio.to_thread(send, packets, ("127.0.0.1", stack.media_rtp_port))
    sent_at = time.time()
    await asyncio.sleep(0.3)
    await registry.remove(forward.ssrc)  # the publisher leaves: its last segment is flushed at once
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (captions.finals("es") and captions.quiet_for() > 4):
        await asyncio.sleep(0.2)
    await captions.stop()
    await redis.aclose()
    return captions, sent_at


def test_rtp_with_loss_reordering_and_duplicates_becomes_english_and_spanish_finals(stack):
    media = next(s for s in stack.services if s.name == "media")
    metrics_url = media.ready_url.replace("/readyz", "/metrics")
    before = scrape(metrics_url)
    proc = psutil.Process(media.process.pid)
    cpu0 = sum(proc.cpu_times()[:2])

    order, plan = impair(rtp_packets(opus_payloads(JFK), ssrc=1, seq0=65_000), seed=3,
                         loss=0.03, duplicate=0.02, reorder=0.05)
    captions, _ = asyncio.run(speak_over_rtp(stack, order, f"rtp-{uuid.uuid4().hex[:6]}"))

    cpu_s = sum(proc.cpu_times()[:2]) - cpu0
    after = scrape(metrics_url)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    audio_s = (len(order) - len(plan.duplicated) + len(plan.lost)) * 0.020  # the clip: 11.0 s
    jitter_ms = (1000 * delta('babelroom_media_jitter_delay_seconds_sum')
                 / max(1, delta('babelroom_media_jitter_delay_seconds_count')))
    print(f"\nmedia service: {cpu_s:.2f} s CPU for {audio_s:.1f} s of audio "
          f"({100 * cpu_s / audio_s:.1f} % of a core per stream, STT/MT not included); "
          f"jitter delay mean {jitter_ms:.1f} ms")
    # Every planned loss is concealed once. On a loaded machine the sender thread may stall past the
    # jitter buffer's wait: that packet is then declared lost too and dropped as late when it comes.
    late = delta('babelroom_media_rtp_packets_total{outcome="late"}')
    lost = (delta('babelroom_media_rtp_lost_total{concealment="fec"}')
            + delta('babelroom_media_rtp_lost_total{concealment="plc"}'))
    assert lost - late == len(plan.lost) > 5 and late <= 3
    assert delta('babelroom_media_rtp_packets_total{outcome="duplicate"}') == len(plan.duplicated) > 0
    assert delta("babelroom_media_rtp_reordered_total") >= len(plan.delayed) - late > 0
    assert cpu_s / audio_s < 0.25  # decode + resample + VAD of one stream: a fraction of a core

    finals_es, finals_en = captions.finals("es"), captions.finals("en")
    english = " ".join(c.text for c in finals_es)
    assert jiwer.wer(normalise(reference()), normalise(english)) < 0.25, english
    assert all(c.speaker == "alice" and c.language == "en" for c in finals_es)
    assert "país" in " ".join(c.translation.text for c in finals_es).lower()  # "your country"
    assert [c.text for c in finals_en] == [c.text for c in finals_es]

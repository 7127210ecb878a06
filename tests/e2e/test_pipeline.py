"""The whole pipeline as separate processes (real Redis, gateway, Whisper tiny.en, the MT route table):
real speech in, English and Spanish captions out, and a killed STT worker loses no final."""

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pytest
import redis

from babelroom.audio.pcm import decode_file
from babelroom.bus.streams import AUDIO_STREAM, STT_GROUP
from babelroom.config import Settings
from babelroom.dev.client import ApiClient, SpeakerRun, listen, stream_speaker
from babelroom.dev.devstack import LocalStack
from babelroom.mt.factory import installed_capabilities
from babelroom.mt.routes import RouteTable

DATA = Path(__file__).resolve().parents[1] / "data" / "speech"
PAUSE = np.zeros(16000, np.float32)


def references() -> dict[str, str]:
    rows = [line.rstrip("\n").split("\t") for line in (DATA / "references.tsv").read_text().splitlines()[1:]]
    return {r[0]: r[-1] for r in rows}


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


@pytest.fixture(scope="module")
def stack(project_state_dir):
    env = {"BABELROOM_BUS_CLAIM_IDLE_MS": "1500", "BABELROOM_LOG_LEVEL": "INFO"}
    with LocalStack(state_dir=project_state_dir("e2e-stack"), stt_workers=2, env=env) as s:
        yield s


async def open_room(stack) -> tuple[str, str, str]:
    """Through the API: a speaker opens a room, a listener joins it; returns the room and both tokens."""
    tag = uuid.uuid4().hex[:6]
    async with ApiClient(stack.gateway_url) as speaker, ApiClient(stack.gateway_url) as listener:
        await speaker.register(f"alice-{tag}@e2e.local", "password-123", "Alice")
        await listener.register(f"lee-{tag}@e2e.local", "password-123", "Lee")
        room = (await speaker.create_room("e2e"))["id"]
        await listener.join(room, listen_only=True)
        return room, speaker.token, listener.token


async def converse(stack, audio, *, langs=("es", "en"), realtime=True, after_speaking=None):
    """Stream ``audio`` as one speaker; collect captions per listener language until every
    accepted segment has settled (final or retraction)."""
    room, speaker_token, listener_token = await open_room(stack)
    got = {lang: [] for lang in langs}
    stop = asyncio.Event()
    connected = {lang: asyncio.Event() for lang in langs}
    tasks = [
        asyncio.create_task(listen(stack.ws_url(f"/ws/rooms/{room}/captions?lang={lang}"), got[lang].append, stop,
                                   connected[lang], token=listener_token))
        for lang in langs
    ]
    await asyncio.gather(*(e.wait() for e in connected.values()))
    run = SpeakerRun("alice")
    speaking = asyncio.create_task(
        stream_speaker(stack.ws_url(f"/ws/rooms/{room}/audio"), run, token=speaker_token, name="Alice", language="en",
                       audio=audio, realtime=realtime)
    )
    await speaking
    if after_speaking is not None:
        await after_speaking()
    expected = {n["segment_id"] for n in run.accepted()}
    deadline = time.monotonic() + 90
    def settled(lang):
        return {r.caption.segment_id for r in got[lang] if r.caption.type in ("final", "retract")}
    while time.monotonic() < deadline and not all(expected <= settled(lang) for lang in langs):
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)
    return run, got


def test_english_speech_becomes_english_and_spanish_captions(stack):
    refs = references()
    clips = ["jfk.flac", "LJ001-0002.wav"]
    audio = np.concatenate([x for c in clips for x in (decode_file(DATA / c), PAUSE)])
    run, got = asyncio.run(converse(stack, audio))

    finals_es = [r.caption for r in got["es"] if r.caption.type == "final"]
    finals_en = [r.caption for r in got["en"] if r.caption.type == "final"]
    assert {c.segment_id for c in finals_es} == {n["segment_id"] for n in run.accepted()}
    assert [c.room_seq for c in finals_es] == list(range(1, len(finals_es) + 1))
    assert [c.seq for c in finals_es] == sorted(c.seq for c in finals_es)
    english = " ".join(c.text for c in finals_es)
    assert jiwer.wer(normalise(" ".join(refs[c] for c in clips)), normalise(english)) < 0.25
    # Apertium, or Bergamot through Portuguese then Apertium when `models install --offline` put Bergamot there.
    route = RouteTable(installed_capabilities(Settings())).best("en", "es")
    assert route is not None and route.name in ("apertium", "bergamot>pt>apertium")
    for c in finals_es:
        assert c.translation.language == "es" and c.translation.backend == route.name
        assert c.translation.text and c.translation.text != c.text
        assert {"stt", "mt", "delivery", "total"} <= set(c.stages_ms)
    assert "país" in " ".join(c.translation.text for c in finals_es).lower()  # "your country"
    # the English listener gets the source text as is
    assert [(c.text, c.translation.text, c.translation.backend) for c in finals_en] == [
        (c.text, c.text, "source") for c in finals_es
    ]
    # partials came first for the long first segment (jfk is 11 s: several partials)
    first = [r.caption for r in got["es"] if r.caption.segment_id == finals_es[0].segment_id]
    assert first[0].type == "partial" and first[-1].type == "final"


def test_a_killed_stt_worker_loses_no_final(stack):
    """Both STT workers are paused while the speech goes in. stt-0 is resumed and killed (SIGKILL)
    as soon as it holds unacknowledged entries; stt-1 is resumed and must reclaim them."""
    refs = references()
    clips = ["LJ001-0002.wav", "jfk.flac", "LJ001-0002.wav"]
    audio = np.concatenate([x for c in clips for x in (decode_file(DATA / c), PAUSE)])
    stt0, stt1 = (next(s for s in stack.services if s.name == n) for n in ("stt-0", "stt-1"))
    client = redis.Redis.from_url(stack.redis_url)
    for s in (stt0, stt1):
        os.kill(s.process.pid, signal.SIGSTOP)
    held = {}

    async def kill_stt0_holding_entries():
        os.kill(stt0.process.pid, signal.SIGCONT)
        name = f"stt-0-{stt0.process.pid}".encode()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            per_consumer = {c["name"]: c["pending"] for c in client.xinfo_consumers(AUDIO_STREAM, STT_GROUP)}
            if per_consumer.get(name, 0) > 0:
                os.kill(stt0.process.pid, signal.SIGKILL)
                held["entries"] = per_consumer[name]
                break
            await asyncio.sleep(0.005)
        os.kill(stt1.process.pid, signal.SIGCONT)

    run, got = asyncio.run(converse(stack, audio, langs=("es",), realtime=False,
                                    after_speaking=kill_stt0_holding_entries))

    assert stt0.process.wait(5) == -signal.SIGKILL and held["entries"] > 0
    finals = [r.caption for r in got["es"] if r.caption.type == "final"]
    assert {c.segment_id for c in finals} == {n["segment_id"] for n in run.accepted()}
    english = " ".join(c.text for c in sorted(finals, key=lambda c: c.seq))
    assert jiwer.wer(normalise(" ".join(refs[c] for c in clips)), normalise(english)) < 0.25
    # stt-0 may have held only partials: stt-1 then reclaims them after the finals went out.
    def reclaimed() -> float:
        text = httpx.get(stt1.ready_url.replace("readyz", "metrics")).text
        lines = [line for line in text.splitlines() if line.startswith("babelroom_bus_reclaimed_total{")]
        return float(lines[0].split()[-1]) if lines else 0.0

    deadline = time.monotonic() + 15
    while reclaimed() < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reclaimed() >= 1

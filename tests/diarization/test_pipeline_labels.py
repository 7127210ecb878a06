"""Speaker labels through the whole pipeline, as separate processes: a Pro room with diarization on, the
shared two-speaker sample streamed in real time as one participant's microphone (gateway, STT, MT,
persist), the real Celery worker on the ``diarization`` queue. A listener's caption socket gets
``speakers_updated`` notices naming two speakers for the captions it was shown, and the transcript and
its export carry the two labels."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from tests.conftest import run_sql
from tests.diarization.conftest import SAMPLE_WAV

from babelroom.bus.schemas import Notice
from babelroom.dev.client import ApiClient, Received, SpeakerRun, listen, stream_speaker
from babelroom.dev.devstack import LocalStack
from babelroom.dev.eval_diarization import read_audio

TWO = {"Speaker 1", "Speaker 2"}


@pytest.fixture(scope="module")
def stack(project_state_dir):
    env = {"BABELROOM_LOG_LEVEL": "INFO", "BABELROOM_DIARIZATION_JOB_EXPIRES_S": "120"}
    with LocalStack(state_dir=project_state_dir("diar-stack"), jobs_queues="diarization", env=env) as s:
        yield s


async def converse(stack: LocalStack) -> tuple[list[Received], list[Notice], dict]:
    """Ana (Pro) opens a room with diarization on and streams the sample; Lee listens in English until
    every final Ana's stream produced is in the transcript with a label (or 240 s); returns the captions
    and notices Lee got, and the transcript's items with its SRT and JSON exports."""
    tag = uuid.uuid4().hex[:6]
    ana, lee = ApiClient(stack.gateway_url), ApiClient(stack.gateway_url)
    await ana.register(f"ana-{tag}@diar.local", "password-123", "Shared mic")
    await lee.register(f"lee-{tag}@diar.local", "password-123", "Lee")
    await asyncio.to_thread(run_sql, stack.database_url, "UPDATE users SET tier_name = 'pro' WHERE id = :id",
                            params={"id": uuid.UUID(ana.user_id)})
    room = await ana.create_room("two on one mic", diarization=True)
    assert room["diarization"] is True
    await lee.join(room["id"], listen_only=True)
    captions: list[Received] = []
    notices: list[Notice] = []
    stop, connected = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(listen(stack.ws_url(f"/ws/rooms/{room['id']}/captions?lang=en"), captions.append,
                                          stop, connected, token=lee.token, on_notice=notices.append))
    await connected.wait()
    run = SpeakerRun("ana")
    await stream_speaker(stack.ws_url(f"/ws/rooms/{room['id']}/audio"), run, token=ana.token, name="Shared mic",
                         language="en", audio=read_audio(SAMPLE_WAV))
    expected = {n["segment_id"] for n in run.accepted()}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        settled = {r.caption.segment_id for r in captions if r.caption.type in ("final", "retract")}
        finals = {r.caption.segment_id for r in captions if r.caption.type == "final"}
        items = await ana.transcript(room["id"]) if expected <= settled else []
        if items and {i["segment_id"] for i in items} >= finals and all(i["speaker_label"] for i in items):
            break
        await asyncio.sleep(2)
    await asyncio.sleep(1)  # the notice of the last labels reaches the socket
    stop.set()
    await listener
    export = {"items": await ana.transcript(room["id"]), "srt": await ana.export(room["id"], "srt"),
              "json": json.loads(await ana.export(room["id"], "json"))}
    await lee.aclose()
    await ana.aclose()
    return captions, notices, export


def test_two_speakers_labelled_in_the_caption_feed_and_the_export(stack):
    captions, notices, export = asyncio.run(converse(stack))
    items, srt, cues = export["items"], export["srt"], export["json"]
    jobs_log = stack.service("jobs").log_path.read_text()
    assert "Task babelroom.diarize" in jobs_log, jobs_log[-3000:]
    finals = {r.caption.segment_id for r in captions if r.caption.type == "final"}
    said = [(r.caption.audio_start_ms, r.caption.audio_end_ms, r.caption.text) for r in captions
            if r.caption.type == "final"]
    assert len(finals) >= 2, said
    print("finals (start ms, end ms, text):", said)

    # The caption feed: speakers_updated notices label every final the listener was shown, two speakers
    # in all (a segment STT found no words in is labelled too: its caption was a retraction).
    updates = [n for n in notices if n.code == "speakers_updated"]
    shown: dict[str, str] = {}
    for n in updates:  # later notices relabel: what a web app shows at the end
        shown.update({s.segment_id: s.label for s in n.speakers or []})
    settled = {r.caption.segment_id for r in captions if r.caption.type in ("final", "retract")}
    assert finals <= set(shown) <= settled, (shown, finals, settled)
    assert set(shown.values()) == TWO, (updates, said)
    print("labels shown:", shown)

    # The transcript and its export: every final labelled, two speakers.
    assert items and {i["speaker_label"] for i in items} == TWO, items
    assert {i["segment_id"]: i["speaker_label"] for i in items} == {k: v for k, v in shown.items()
                                                                    if k in {i["segment_id"] for i in items}}
    assert "Shared mic (Speaker 1):" in srt and "Shared mic (Speaker 2):" in srt, srt
    assert {c["speaker_label"] for c in cues} == TWO

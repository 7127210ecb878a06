"""A room's documents reach the STT decode: real gateway, Redis, PostgreSQL and Whisper tiny.en on a real LJ Speech
clip whose name tiny.en misspells without the document ("Guttenberg"): the terms the upload cached are enough, no
indexing job has to run first. The nearest-chunk ordering of a room with more than ``context_max_terms`` terms
(a job on the jobs worker): tests/context/test_context_jobs.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis
from faster_whisper import decode_audio
from tests.api.test_tier_limits import room
from tests.context.test_documents_api import upload

from babelroom.bus.schemas import SegmentAudio, Transcript
from babelroom.bus.streams import TRANSCRIPT_STREAM, Publisher
from babelroom.config import Settings
from babelroom.context.room_cache import RoomContext
from babelroom.stt.hallucination import HallucinationFilter
from babelroom.stt.whisper import MAX_PROMPT_TOKENS, SAMPLE_RATE, WhisperSTT
from babelroom.stt.worker import SttStage

CLIP = Path(__file__).resolve().parents[1] / "data" / "speech" / "LJ001-0007.wav"  # "… the Gutenberg, or …"
NOTES = b"Our next meeting is about the Gutenberg Bible and the early printers of Mainz."


@pytest.fixture(scope="module")
def tiny_en() -> WhisperSTT:
    return WhisperSTT(Settings(stt_model="tiny.en", stt_beam_size=1, stt_compute_type="int8", stt_cpu_threads=2))


def final(room_id: str, segment: str, audio: np.ndarray) -> SegmentAudio:
    """A final of its own speaker (no previous text prompts it)."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    return SegmentAudio(room=room_id, speaker=segment, speaker_name=segment, language="en", segment_id=segment, seq=1,
                        audio_start_ms=0, audio_end_ms=round(audio.size / SAMPLE_RATE * 1000), kind="final",
                        revision=-1, pcm=pcm)


async def heard(settings: Settings, engine: WhisperSTT, room_id: str, segment: str) -> str:
    """The final text one STT stage (with the rooms' context) publishes for the clip in ``room_id``."""
    redis = aioredis.from_url(settings.redis_url)
    try:
        stage = SttStage(settings, redis, engine, HallucinationFilter(settings),
                         Publisher.for_stream(redis, TRANSCRIPT_STREAM, settings), RoomContext(settings, redis))
        await stage.handle([(None, final(room_id, segment, decode_audio(str(CLIP))))])
        entries = await redis.xrange(TRANSCRIPT_STREAM)
        return next(t.text for t in map(Transcript.from_fields, (f for _, f in reversed(entries)))
                    if t.segment_id == segment)
    finally:
        await redis.aclose()


def test_an_uploaded_document_corrects_a_name_in_the_captions(gateway, accounts, db_settings, tiny_en):
    owner = accounts.create("pro")
    with_doc, without = room(gateway, owner, "with").json()["id"], room(gateway, owner, "without").json()["id"]
    assert "Guttenberg" in asyncio.run(heard(db_settings, tiny_en, without, "s1"))  # tiny.en's own spelling
    made = upload(gateway, owner, with_doc, NOTES, name="agenda.txt")
    assert made.status_code == 201 and "Gutenberg" in made.json()["terms"]
    text = asyncio.run(heard(db_settings, tiny_en, with_doc, "s2"))
    assert "Gutenberg" in text and "Guttenberg" not in text, text
    assert "Guttenberg" in asyncio.run(heard(db_settings, tiny_en, without, "s3"))  # other rooms unchanged
    gateway.delete(f"/api/rooms/{with_doc}/documents/{made.json()['id']}", headers=owner.headers)
    assert "Guttenberg" in asyncio.run(heard(db_settings, tiny_en, with_doc, "s4"))  # deleted: as before


def test_the_prompt_keeps_whisper_budget(tiny_en):
    tokenizer = tiny_en._tokenizer("en")
    terms = [f"Term{i}x" for i in range(200)]
    hotwords = tiny_en._hotwords(tokenizer, terms, 100)
    assert 90 <= len(hotwords) <= 100
    assert tokenizer.decode(hotwords).strip().startswith("Term0x, Term1x,")
    kept = min(100, MAX_PROMPT_TOKENS - len(hotwords))
    tokens = tiny_en._prompt_tokens(tokenizer, "word " * 400, kept, hotwords)
    assert tokens[0] == tokenizer.sot_prev and tokens[1:1 + len(hotwords)] == hotwords
    assert len(tokens) - 1 - len(tokenizer.sot_sequence) - 1 <= MAX_PROMPT_TOKENS  # 223 after <|startofprev|>

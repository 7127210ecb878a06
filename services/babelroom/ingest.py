"""One speaker's audio after decoding: VAD segmentation and publication to the bus.

Every audio source (the gateway's audio WebSocket, the media service's RTP tap) decodes to
``(n,) float32`` mono at 16 kHz and feeds a :class:`SpeakerIngest`; from here on there is one path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import redis.asyncio as aioredis
import structlog

from babelroom import metrics
from babelroom.audio.pcm import float_to_s16le
from babelroom.audio.segmenter import SegmentDropped, Segmenter, SegmentFinal, SegmentUpdate
from babelroom.bus.counters import incr_above
from babelroom.bus.schemas import SegmentAudio, now_ms
from babelroom.bus.streams import Publisher, cut_key, sentence_end_key
from babelroom.config import Settings
from babelroom.diarization import buffer as diarization_buffer

log = structlog.get_logger(__name__)
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class SegmentNotice:
    """What the speaker's client is told about each of its finished segments."""

    segment_id: str
    seq: int
    status: str  # "accepted" or the reason it was dropped
    audio_start_ms: int
    audio_end_ms: int
    cut: bool = False  # the segmenter cut it (length cap), not a pause (trailing silence) or the end


class SpeakerIngest:
    """Segments one speaker's stream and publishes partial and final segment audio.

    Args:
        room, speaker, speaker_name, language: who speaks where, in what (ISO 639-1).
        settings: VAD and bus settings.
        redis: asyncio Redis client (for per-speaker sequence numbers).
        publisher: the ``audio`` stream publisher (:meth:`Publisher.for_stream`).
        seq_floor: the speaker's highest ``seq`` already used in this room (from the transcript),
            so that a Redis that lost its counters never hands out a stored number again.
    """

    def __init__(
        self,
        *,
        room: str,
        speaker: str,
        speaker_name: str,
        language: str,
        settings: Settings,
        redis: aioredis.Redis,
        publisher: Publisher,
        seq_floor: int = 0,
    ) -> None:
        self.room = room
        self.speaker = speaker
        self.speaker_name = speaker_name
        self.language = language
        self.redis = redis
        self.publisher = publisher
        self.segmenter = Segmenter.from_settings(settings)
        self.settings = settings
        self._diarized: bool | None = None  # the room's diarization flag, read at the first final
        self._ids: dict[int, tuple[str, int]] = {}
        self._seq_floor = seq_floor
        self._revisions: dict[int, int] = {}
        self._overlaps: dict[int, int] = {}  # index → ms of its audio repeated from the cut before it
        self._poll_samples = settings.sentence_poll_ms * SAMPLE_RATE // 1000
        self._unpolled = 0  # samples fed since the last look for a sentence cut

    async def feed(self, audio: np.ndarray) -> list[SegmentNotice]:
        """Push ``(n,) float32`` 16 kHz audio; publish what the segmenter emits.

        Returns:
            A notice for every segment that finished (accepted or dropped) in this call.
        """
        metrics.INGEST_AUDIO_SECONDS.inc(len(audio) / SAMPLE_RATE)
        events = self.segmenter.feed(audio)
        self._unpolled += len(audio)
        if self._unpolled >= self._poll_samples:
            self._unpolled = 0
            # A sentence STT found in the open segment ends it there (babelroom.stt.sentences).
            if (cut := await self._from_stt(cut_key)) is not None:
                events += self.segmenter.cut_at(*cut)
        if self.segmenter.may_end_early and (end := await self._from_stt(sentence_end_key)) is not None:
            # Asked on every feed from vad_sentence_end_silence_ms of silence on: STT's hypothesis of all
            # the segment's speech ends a sentence, so the segment need not wait for the full silence.
            events += self.segmenter.end_sentence(*end)
        return await self._publish_events(events)

    async def _from_stt(self, key: Callable[[str], str]) -> tuple[int, int] | None:
        """``(index, value)``: the open segment and the whole number STT stored under ``key(its id)``;
        None when there is none, or no partial of the segment went to STT yet."""
        index = self.segmenter.open_index
        if index is None or index not in self._ids:
            return None
        value = await self.redis.get(key(self._ids[index][0]))
        return None if value is None else (index, int(value))

    async def flush(self) -> list[SegmentNotice]:
        """End of stream: finish the open segment so that accepted speech is never lost."""
        return await self._publish_events(self.segmenter.flush())

    async def _identify(self, index: int) -> tuple[str, int]:
        if index not in self._ids:
            seq = await incr_above(self.redis, f"room:{self.room}:speaker:{self.speaker}:seq", self._seq_floor)
            self._seq_floor = seq
            self._ids[index] = (uuid.uuid4().hex[:16], seq)
        return self._ids[index]

    async def _publish_events(self, events: list) -> list[SegmentNotice]:
        notices = []
        for event in events:
            if isinstance(event, SegmentDropped) and event.index not in self._ids:
                # Rejected before any partial went out: nothing downstream to retract, no seq used.
                notices.append(
                    SegmentNotice("", 0, event.reason, event.audio_start_ms, event.audio_end_ms)
                )
                continue
            segment_id, seq = await self._identify(event.index)
            header = dict(
                room=self.room,
                speaker=self.speaker,
                speaker_name=self.speaker_name,
                language=self.language,
                segment_id=segment_id,
                seq=seq,
            )
            stamp = now_ms()
            overlap_ms = self._overlaps.get(event.index, 0)
            if isinstance(event, SegmentUpdate):
                revision = self._revisions.get(event.index, 0) + 1
                self._revisions[event.index] = revision
                await self.publisher.publish(
                    SegmentAudio(
                        **header,
                        kind="partial",
                        revision=revision,
                        overlap_ms=overlap_ms,
                        audio_start_ms=event.audio_start_ms,
                        audio_end_ms=event.audio_end_ms,
                        pcm=float_to_s16le(event.audio),
                        timings={"published": stamp},
                    ),
                    droppable=True,
                )
                continue
            dropped = event.reason if isinstance(event, SegmentDropped) else None
            final = SegmentAudio(
                **header,
                kind="final",
                revision=-1,
                dropped=dropped,
                overlap_ms=overlap_ms,
                doubtful=isinstance(event, SegmentFinal) and event.doubtful,
                audio_start_ms=event.audio_start_ms,
                audio_end_ms=event.audio_end_ms,
                pcm=b"" if dropped else float_to_s16le(event.audio),
                timings={"segment_end": stamp, "published": now_ms()},
            )
            await self.publisher.publish(final)
            if not dropped:
                await self._keep_for_diarization(final)
            self._ids.pop(event.index)
            self._revisions.pop(event.index, None)
            self._overlaps.pop(event.index, None)
            if isinstance(event, SegmentFinal) and event.next_overlap_ms:
                self._overlaps[event.index + 1] = event.next_overlap_ms
            notices.append(
                SegmentNotice(
                    segment_id=segment_id,
                    seq=seq,
                    status=dropped or "accepted",
                    audio_start_ms=event.audio_start_ms,
                    audio_end_ms=event.audio_end_ms,
                    cut=isinstance(event, SegmentFinal) and event.cut,
                )
            )
            log.debug("ingest.segment", room=self.room, speaker=self.speaker, seq=seq, status=dropped)
        return notices

    async def _keep_for_diarization(self, final: SegmentAudio) -> None:
        """Rooms with diarization on: buffer the final's audio for the job (babelroom.diarization.buffer).
        Best effort: a failure here costs labels, never the caption."""
        try:
            if self._diarized is None:
                self._diarized = await diarization_buffer.is_enabled(self.redis, self.room)
            if self._diarized:
                await diarization_buffer.remember(
                    self.redis, self.settings, room=self.room, speaker=self.speaker, seq=final.seq,
                    segment_id=final.segment_id, audio_start_ms=final.audio_start_ms,
                    audio_end_ms=final.audio_end_ms, pcm=final.pcm)
        except Exception:
            log.warning("ingest.diarization_buffer_failed", room=self.room, speaker=self.speaker, exc_info=True)

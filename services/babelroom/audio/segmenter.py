"""Streaming endpointer: turns one speaker's audio into speech segments for STT.

Feed ``(n,) float32`` 16 kHz chunks of any size to :meth:`Segmenter.feed`; it cuts them into
``frame_ms`` frames, classifies each with :class:`~babelroom.audio.vad.WebRtcVad` and returns the
events the frames caused, in order:

- :class:`SegmentUpdate`: the audio of a growing segment so far, after every ``partial_interval_ms``
  of new speech (for streaming partial captions);
- :class:`SegmentFinal`: the complete segment;
- :class:`SegmentDropped`: a segment that failed the checks below (no audio).

Rules, per frame (all times in the stream's own timeline, ms since the first sample fed):

- Onset: at least :data:`ONSET_VOICED` of the last :data:`ONSET_WINDOW` frames voiced (2 of 3: a
  single voiced frame, a click, does not open a segment; one unvoiced frame inside a word does not
  delay it). The segment's audio starts ``pre_speech_ms`` before the first voiced frame of that
  window (a ring buffer keeps it), so the first phoneme is not clipped. 400 ms by default, the
  ``speech_pad_ms`` of faster-whisper's ``VadOptions``: Whisper base's final WER on the eval clips
  (de, es, fr, pt, vi) was at or below the offline WER of the whole clips in every language with it,
  and French lost 2.7 points with 300 ms (docs/stt-models.md has the table).
- End: ``trailing_silence_ms`` of consecutive unvoiced frames. ``audio_end_ms`` is the end of the
  last voiced frame; the audio carries ``pre_speech_ms`` of the trailing silence after it (the same
  padding as before the onset), so ``len(audio)`` covers ``audio_start_ms`` to ``audio_end_ms``
  plus that padding. WebRTC keeps "voiced" a few frames past the speech (its hangover), so
  ``audio_end_ms`` lands 0–110 ms after the real end of speech on the demo clip.
- Early end (``sentence_end_silence_ms``, off unless given): after :data:`TAIL_UPDATE_MS` of
  silence a confirmed segment whose speech goes past its last update gets one more
  :class:`SegmentUpdate` (the tail update: all its speech). When STT says the hypothesis of the
  segment's speech so far ends a sentence (:meth:`Segmenter.end_sentence`), ``sentence_end_silence_ms``
  of silence ends the segment instead of ``trailing_silence_ms``: the final need not wait for a pause
  that only confirms what the transcript already shows. Speech after that hypothesis' speech end
  voids it.
- Sentence cut: :meth:`Segmenter.cut_at` ends the open segment where STT found the end of a
  sentence (see :mod:`babelroom.stt.sentences`); the rest goes on as the next segment, without
  overlap. So finals are sentences, and the length cap below is the last resort.
- Length cap: when one more frame would take a segment's audio past ``max_segment_s`` (15 s, Whisper's
  encoder window ``stt_window_s``: no segment or update is ever longer) it is cut after the quietest frame
  (lowest RMS) of its last :data:`CUT_SEARCH_S` — a pause or the gap between two words if there is
  one, so the cut rarely splits a word. The part before the cut is a :class:`SegmentFinal` with
  ``cut=True``; the continuation is a new segment whose audio starts ``overlap_s`` before the cut
  (the repeated audio gives STT context across the cut). If nothing after that frame is voiced, the
  speaker has already stopped: the segment just ends there, as at the end of trailing silence.
- Checks at the end of a segment: fewer than ``min_speech_ms`` of voiced frames → dropped
  (``too_short``); Silero's speech probability (its highest window) below ``silero_doubt_threshold`` →
  dropped (``rejected_silero``); from ``silero_doubt_threshold`` to ``silero_threshold`` → a final without
  partials, flagged :attr:`SegmentFinal.doubtful` (``doubtful``): STT keeps its text only if Whisper is
  sure of it (:class:`~babelroom.stt.hallucination.HallucinationFilter`); else ``accepted`` (the
  ``outcome`` label of ``babelroom_segments_total``). The doubt is scored at two phases of Silero's
  32 ms windows (the segment, and the segment without its first half window), the higher peak counting:
  on one segment of the recording below, one phase gives 0.16 and the other 0.31.
  Why the doubtful band: Silero misses some real speech (a thin Common Voice recording,
  ``de_common_voice_de_17516889``, peaks at 0.13–0.47 depending on the phase: 9 of the 74 words of the
  German eval set were lost), and its peaks on noise overlap that (white noise at RMS 0.1 reaches 0.41,
  a 120 Hz hum 0.69), so no lower threshold alone separates them. Whisper does: on the 3 s noise
  segments of white, pink and brown noise at RMS 0.01–0.3 it hears "Die Klinik ist nicht so gut.",
  "¡Adiós!", "You" … with ``avg_logprob`` -1.16 to -3.0 (or loops), where every real clip of the eval
  sets decodes at -0.66 or above (the German one at -0.40).
  For a continuation only the frames and audio after the cut count, so the overlap alone can
  never make a continuation pass.
- Updates only for segments that pass: a :class:`SegmentUpdate` waits until the segment holds
  ``min_speech_ms`` of speech and Silero confirms it (``accepted``, not ``doubtful``); once confirmed, a
  segment is accepted. So noise costs STT at most one final decode and no partial caption ever needs
  retracting.
- Every segment gets the next ``index`` (1-based, per stream) when it opens (a continuation when it
  is cut off) and ends in exactly one :class:`SegmentFinal` or :class:`SegmentDropped`; updates come
  only before a final.

Cost (CPU time, measured on the shared 2-core development machine): framing, WebRTC and
bookkeeping take 0.9–1.4 ms per second of audio fed in 20 ms chunks. Silero takes 8–14 ms per 5 s of
audio and runs about once per segment (at its first update, or at its end), or once per
``partial_interval_ms`` while a noisy segment waits for confirmation. The 60 s demo clip costs
1.4–2.4 ms per audio second in all (17 Silero calls). Fine inside the gateway's event loop, one
instance per speaker.

Sources: py-webrtcvad's ``example.py`` (padded ring buffer with a voiced-ratio trigger),
https://github.com/wiseman/py-webrtcvad; Silero's ``get_speech_timestamps`` (cutting long speech at
the last silence), https://github.com/snakers4/silero-vad.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from babelroom.audio.pcm import SAMPLE_RATE
from babelroom.audio.vad import SILERO_WINDOW, SileroConfirm, WebRtcVad
from babelroom.config import Settings
from babelroom.metrics import SEGMENTS

ONSET_WINDOW = 3
"""Frames looked at for onset."""
ONSET_VOICED = 2
"""Voiced frames among the last :data:`ONSET_WINDOW` that open a segment."""
CUT_SEARCH_S = 1.0
"""How far back from the length cap the quietest frame is searched (s)."""
TAIL_UPDATE_MS = 90
"""Silence after which the tail update goes out (ms): past WebRTC's unvoiced frames inside words, and
early enough that a tiny.en decode of it is back before ``sentence_end_silence_ms``."""

_MS = SAMPLE_RATE // 1000


@dataclass(frozen=True, eq=False)
class SegmentEvent:
    """What the segmenter says about one segment.

    Attributes:
        index: segment number in this stream, 1-based.
        audio_start_ms: start of the segment's audio, pre-speech included (ms since the stream's
            first sample).
        audio_end_ms: end of the segment's last voiced frame (ms since the stream's first sample);
            trailing silence is not counted.
        speech_ms: voiced frames in the segment × frame length (ms).
    """

    index: int
    audio_start_ms: int
    audio_end_ms: int
    speech_ms: int


@dataclass(frozen=True, eq=False)
class SegmentUpdate(SegmentEvent):
    """A growing segment's audio so far.

    Attributes:
        audio: ``(n,) float32`` 16 kHz from ``audio_start_ms`` up to the frame that caused the update.
    """

    audio: np.ndarray


@dataclass(frozen=True, eq=False)
class SegmentFinal(SegmentEvent):
    """A complete segment, accepted or doubtful (see the module docstring).

    Attributes:
        audio: ``(n,) float32`` 16 kHz from ``audio_start_ms`` to ``pre_speech_ms`` after
            ``audio_end_ms`` (or to the cut).
        cut: True when the length cap or a sentence cut (:meth:`Segmenter.cut_at`) ended it: the
            next segment goes on from here.
        next_overlap_ms: how much of this segment's end the next one's audio starts with
            (``overlap_s`` after the length cap, 0 after a sentence cut or a plain end).
        doubtful: Silero doubted it is speech (see the module docstring): STT keeps it only if sure.
    """

    audio: np.ndarray
    cut: bool = False
    next_overlap_ms: int = 0
    doubtful: bool = False


@dataclass(frozen=True, eq=False)
class SegmentDropped(SegmentEvent):
    """A segment that failed its checks; it had no update.

    Attributes:
        reason: ``too_short`` or ``rejected_silero``.
    """

    reason: str


@dataclass
class _Open:
    """An open segment. Sample positions are in the stream's timeline."""

    start: int  # first sample of the segment's audio
    blocks: list[np.ndarray]  # the audio from ``start``, in pieces
    new_from: int  # where this segment's own audio begins (after the overlap of a continuation)
    last_update: int  # speech end when an update was last considered
    index: int
    frame_ends: list[int] = field(default_factory=list)  # per frame from ``new_from`` on
    frame_rms: list[float] = field(default_factory=list)
    frame_voiced: list[bool] = field(default_factory=list)
    confirmed: bool = False  # passed the checks once (an update went out): accepted from then on

    def audio(self, stop: int) -> np.ndarray:
        """The segment's audio up to sample ``stop``, ``(stop - start,) float32``."""
        return np.concatenate(self.blocks)[: stop - self.start]

    def add_frame(self, end: int, frame: np.ndarray, voiced: bool) -> None:
        self.frame_ends.append(end)
        self.frame_rms.append(float(np.sqrt(np.mean(frame * frame))))
        self.frame_voiced.append(voiced)

    def speech(self, n: int) -> tuple[int, int]:
        """(end of the last voiced frame or ``new_from``, count of voiced frames) in the first ``n``."""
        ends = [e for e, v in zip(self.frame_ends[:n], self.frame_voiced[:n], strict=True) if v]
        return (ends[-1] if ends else self.new_from), len(ends)


class Segmenter:
    """One speaker's endpointer; not thread-safe. Parameters as the ``vad_*`` fields of Settings.

    Raises:
        ValueError: ``overlap_s`` leaves no progress after a cut
            (it must be below ``max_segment_s - CUT_SEARCH_S``), ``sentence_end_silence_ms`` (None: no
            early end) is not below ``trailing_silence_ms``, or an invalid ``frame_ms``.
    """

    def __init__(
        self,
        *,
        aggressiveness: int = 2,
        frame_ms: int = 30,
        pre_speech_ms: int = 400,
        trailing_silence_ms: int = 500,
        min_speech_ms: int = 250,
        max_segment_s: float = 15.0,
        overlap_s: float = 0.5,
        silero_threshold: float = 0.5,
        silero_doubt_threshold: float = 0.2,
        partial_interval_ms: int = 1000,
        sentence_end_silence_ms: int | None = None,
    ) -> None:
        if not 0 <= silero_doubt_threshold <= silero_threshold:
            raise ValueError(f"silero_doubt_threshold must be in [0, {silero_threshold}], not {silero_doubt_threshold}")
        if not 0 <= overlap_s < max_segment_s - CUT_SEARCH_S:
            raise ValueError(f"overlap_s must be in [0, {max_segment_s - CUT_SEARCH_S}), not {overlap_s}")
        if sentence_end_silence_ms is not None and not 0 <= sentence_end_silence_ms < trailing_silence_ms:
            raise ValueError(f"sentence_end_silence_ms must be in [0, {trailing_silence_ms}), "
                             f"not {sentence_end_silence_ms}")
        self._vad = WebRtcVad(aggressiveness, frame_ms)
        self._silero = SileroConfirm(silero_threshold)
        self._doubt = silero_doubt_threshold
        self.frame_ms = frame_ms
        self._frame = self._vad.frame_samples
        self._pre_frames = math.ceil(pre_speech_ms / frame_ms)
        self._pad = pre_speech_ms * _MS
        self._trailing_frames = math.ceil(trailing_silence_ms / frame_ms)
        self._min_speech_frames = math.ceil(min_speech_ms / frame_ms)
        self._max = round(max_segment_s * SAMPLE_RATE)
        self._overlap = round(overlap_s * SAMPLE_RATE)
        self._cut_search = round(CUT_SEARCH_S * SAMPLE_RATE)
        self._interval = partial_interval_ms * _MS
        # Early end (off: None): the silence run that sends the tail update, and the one that ends a sentence.
        self._tail_frames: int | None = None
        self._early_frames: int | None = None
        if sentence_end_silence_ms is not None:
            self._tail_frames = math.ceil(TAIL_UPDATE_MS / frame_ms)
            self._early_frames = math.ceil(sentence_end_silence_ms / frame_ms)

        self._pending = np.zeros(0, np.float32)  # samples not yet making a whole frame
        self._pos = 0  # samples framed so far
        self._ring: deque[tuple[np.ndarray, bool]] = deque(maxlen=self._pre_frames + ONSET_WINDOW)
        self._silence_run = 0  # consecutive unvoiced frames
        self._open: _Open | None = None
        self._next_index = 1  # of the next segment to open

    @classmethod
    def from_settings(cls, settings: Settings) -> Segmenter:
        """A segmenter with the ``vad_*`` and ``partial_interval_ms`` settings."""
        return cls(
            aggressiveness=settings.vad_aggressiveness,
            frame_ms=settings.vad_frame_ms,
            pre_speech_ms=settings.vad_pre_speech_ms,
            trailing_silence_ms=settings.vad_trailing_silence_ms,
            min_speech_ms=settings.vad_min_speech_ms,
            max_segment_s=settings.vad_max_segment_s,
            overlap_s=settings.vad_overlap_s,
            silero_threshold=settings.vad_silero_threshold,
            silero_doubt_threshold=settings.vad_silero_doubt_threshold,
            partial_interval_ms=settings.partial_interval_ms,
            sentence_end_silence_ms=settings.vad_sentence_end_silence_ms,
        )

    @property
    def open_index(self) -> int | None:
        """Index of the open segment, or None between segments."""
        return None if self._open is None else self._open.index

    @property
    def may_end_early(self) -> bool:
        """Whether the open segment has had ``sentence_end_silence_ms`` of silence: from here on,
        :meth:`end_sentence` ends it if STT's hypothesis of its speech ends a sentence."""
        return self._open is not None and self._early_frames is not None and self._silence_run >= self._early_frames

    def feed(self, chunk: np.ndarray) -> list[SegmentEvent]:
        """Add ``(n,) float32`` 16 kHz samples (any ``n``, even 0); return the events they caused."""
        buf = np.concatenate((self._pending, chunk.astype(np.float32, copy=False)))
        whole = buf.size - buf.size % self._frame
        self._pending = buf[whole:]
        events: list[SegmentEvent] = []
        for i in range(0, whole, self._frame):
            self._step(buf[i : i + self._frame], events)
        return events

    def flush(self) -> list[SegmentEvent]:
        """End of stream: finalise the open segment, if any. Samples short of a frame are ignored."""
        events: list[SegmentEvent] = []
        if self._open is not None:
            self._end(self._open, events)
        return events

    # --- per frame ---

    def _step(self, frame: np.ndarray, events: list[SegmentEvent]) -> None:
        voiced = self._vad.is_speech(frame)
        self._pos += self._frame
        self._ring.append((frame, voiced))
        self._silence_run = 0 if voiced else self._silence_run + 1
        seg = self._open
        if seg is None:
            self._maybe_open()
            return
        seg.blocks.append(frame)
        seg.add_frame(self._pos, frame, voiced)
        if self._silence_run >= self._trailing_frames:
            self._end(seg, events)
        elif self._pos + self._frame - seg.start > self._max:  # one more frame would pass the cap
            self._cut(seg, events)
        elif voiced and self._pos - seg.last_update >= self._interval:
            # The speech end moves only on voiced frames, where it is ``self._pos``.
            seg.last_update = self._pos
            self._update(seg, self._pos, events)
        elif self._silence_run == self._tail_frames and (speech_end := self._speech_end()) > seg.last_update:
            seg.last_update = speech_end
            self._update(seg, speech_end, events)

    def _speech_end(self) -> int:
        """End of the open segment's last voiced frame (sample): the silence run follows it."""
        return self._pos - self._silence_run * self._frame

    def _update(self, seg: _Open, speech_end: int, events: list[SegmentEvent]) -> None:
        """A :class:`SegmentUpdate` of ``seg``'s audio so far, if it passes the checks."""
        audio = seg.audio(self._pos)
        speech_frames = seg.speech(len(seg.frame_ends))[1]
        if self._check(seg, audio, speech_frames) == "accepted":
            seg.confirmed = True
            events.append(SegmentUpdate(**self._timeline(seg, speech_end, speech_frames), audio=audio))

    def _maybe_open(self) -> None:
        """Open a segment if the onset rule holds on the ring buffer's last frames."""
        ring = list(self._ring)
        window = [v for _, v in ring[-ONSET_WINDOW:]]
        if sum(window) < ONSET_VOICED:
            return
        first = len(ring) - len(window) + window.index(True)  # the window's first voiced frame
        skip = max(0, first - self._pre_frames)  # ring frames older than the pre-speech buffer
        start = self._pos - (len(ring) - skip) * self._frame
        seg = _Open(start=start, blocks=[f for f, _ in ring[skip:]], new_from=start,
                    last_update=self._pos - (len(ring) - first) * self._frame, index=self._take_index())
        for i in range(skip, len(ring)):
            frame, voiced = ring[i]
            seg.add_frame(start + (i - skip + 1) * self._frame, frame, voiced and i >= first)
        self._open = seg

    def cut_at(self, index: int, at_ms: int) -> list[SegmentEvent]:
        """End segment ``index`` at ``at_ms`` (a sentence end STT found) if it is still open there.

        The part before the cut is a :class:`SegmentFinal` with ``cut=True``; the audio after it stays
        in the open segment, which goes on as the next index, without overlap.

        Returns:
            The events of the cut: none when ``index`` is not the open segment or ``at_ms`` is not
            inside its own audio (before ``new_from``, or past the frames fed so far).
        """
        seg = self._open
        events: list[SegmentEvent] = []
        if seg is None or seg.index != index:
            return events
        ends = np.asarray(seg.frame_ends)
        k = int(np.searchsorted(ends, at_ms * _MS, side="right")) - 1  # last frame ending by the cut
        if k < 0 or k >= len(ends) - 1:
            return events
        self._split(seg, k, 0, events)
        return events

    def end_sentence(self, index: int, through_ms: int) -> list[SegmentEvent]:
        """End segment ``index`` now if STT's hypothesis of its speech up to ``through_ms`` ends a sentence.

        Args:
            index: the segment whose update STT decoded.
            through_ms: that update's ``audio_end_ms`` (its speech end, ms in the stream's timeline).

        Returns:
            The segment's final (or drop) when it is the open one, has had ``sentence_end_silence_ms``
            of silence (:attr:`may_end_early`) and no speech after ``through_ms``; else nothing.
        """
        seg = self._open
        events: list[SegmentEvent] = []
        if seg is None or seg.index != index or not self.may_end_early or self._speech_end() > through_ms * _MS:
            return events
        self._end(seg, events)
        return events

    def _cut(self, seg: _Open, events: list[SegmentEvent]) -> None:
        """Cut ``seg`` after its quietest recent frame: finish the head, go on with the rest."""
        ends = np.asarray(seg.frame_ends)
        recent = np.flatnonzero(ends > self._pos - self._cut_search)
        rms = np.asarray(seg.frame_rms)[recent]
        k = int(recent[len(recent) - 1 - int(np.argmin(rms[::-1]))])  # latest of equally quiet
        if not any(seg.frame_voiced[k + 1 :]):  # the speech stopped before the cut: a plain end
            self._end(seg, events)
            return
        self._split(seg, k, self._overlap, events)

    def _end(self, seg: _Open, events: list[SegmentEvent]) -> None:
        """Close the open segment ``seg`` with all its frames, as a pause or the end of the stream does."""
        self._open = None
        self._finish(seg, len(seg.frame_ends), None, events)

    def _split(self, seg: _Open, k: int, overlap: int, events: list[SegmentEvent]) -> None:
        """Finish ``seg`` after its frame ``k``; it goes on as the next index from ``overlap``
        samples before that frame's end."""
        cut = seg.frame_ends[k]
        audio = seg.audio(self._pos)
        self._finish(seg, k + 1, cut, events, next_overlap=overlap)
        # The continuation: the last ``overlap`` samples before the cut, then everything after it.
        seg.blocks = [audio[cut - overlap - seg.start :]]
        seg.start = cut - overlap
        seg.new_from = seg.last_update = cut
        del seg.frame_ends[: k + 1], seg.frame_rms[: k + 1], seg.frame_voiced[: k + 1]
        seg.index, seg.confirmed = self._take_index(), False

    # --- checks and events ---

    def _take_index(self) -> int:
        self._next_index += 1
        return self._next_index - 1

    def _check(self, seg: _Open, audio: np.ndarray, speech_frames: int) -> str:
        """The outcome of ``seg`` with ``audio`` and ``speech_frames``: its ``outcome`` label."""
        if seg.confirmed:
            return "accepted"
        if speech_frames < self._min_speech_frames:
            return "too_short"
        own = audio[seg.new_from - seg.start :]
        peak = self._silero.score(own).max_prob
        if peak >= self._silero.threshold:
            return "accepted"
        if own.size > SILERO_WINDOW // 2:
            peak = max(peak, self._silero.score(own[SILERO_WINDOW // 2 :]).max_prob)
        return "doubtful" if peak >= self._doubt else "rejected_silero"

    def _finish(
        self, seg: _Open, n: int, cut: int | None, events: list[SegmentEvent], next_overlap: int = 0
    ) -> None:
        """Close ``seg`` after its first ``n`` frames, at sample ``cut`` if it was cut (the next
        segment then starts ``next_overlap`` samples before it)."""
        speech_end, speech_frames = seg.speech(n)
        stop = cut if cut is not None else min(self._pos, speech_end + self._pad)
        audio = seg.audio(stop)
        outcome = self._check(seg, audio, speech_frames)
        SEGMENTS.labels(outcome=outcome).inc()
        timeline = self._timeline(seg, speech_end, speech_frames)
        if outcome in ("accepted", "doubtful"):
            events.append(SegmentFinal(**timeline, audio=audio, cut=cut is not None,
                                       next_overlap_ms=next_overlap // _MS, doubtful=outcome == "doubtful"))
        else:
            events.append(SegmentDropped(**timeline, reason=outcome))

    def _timeline(self, seg: _Open, speech_end: int, speech_frames: int) -> dict[str, int]:
        """The :class:`SegmentEvent` fields of ``seg``."""
        return {"index": seg.index, "audio_start_ms": seg.start // _MS,
                "audio_end_ms": speech_end // _MS, "speech_ms": speech_frames * self.frame_ms}

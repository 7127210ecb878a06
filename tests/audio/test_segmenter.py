"""The streaming endpointer on the demo clip (7 real recordings joined by 1.2 s of digital silence).

Ground truth comes from the audio alone, not from the VAD: the joins are the runs of exact zeros, and
the stretches of speech are "islands" of 30 ms frames louder than -35 dBFS (JFK's crowd noise sits at
about -41 dBFS, speech above -20). JFK's clip has three real pauses of 0.6–1.2 s ("And so, my fellow
Americans, | ask not | what your country can do for you, | ask what …"), so the demo has 10 islands.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from prometheus_client import REGISTRY

from babelroom.audio.pcm import decode_file
from babelroom.audio.segmenter import SegmentDropped, Segmenter, SegmentFinal, SegmentUpdate
from babelroom.config import Settings
from conftest import SPEECH

PRE_MS = 400  # Segmenter defaults = Settings defaults, but for the cap (5 s here, 15 s by default)
MAX_MS = 5_000
OVERLAP_MS = 500
SR_MS = 16  # samples per ms


def run(audio: np.ndarray, chunk: int | None = None, flush: bool = True) -> list:
    seg = Segmenter(max_segment_s=MAX_MS / 1000)
    step = chunk or max(len(audio), 1)
    events = [e for i in range(0, len(audio), step) for e in seg.feed(audio[i : i + step])]
    return events + (seg.flush() if flush else [])


def run_with_cap(audio: np.ndarray, cap_s: float) -> list:
    seg = Segmenter(max_segment_s=cap_s)
    return seg.feed(audio) + seg.flush()


def same(a: list, b: list) -> bool:
    """Two event lists equal field by field, audio sample by sample."""
    return len(a) == len(b) and all(
        type(x) is type(y)
        and (x.index, x.audio_start_ms, x.audio_end_ms, x.speech_ms)
        == (y.index, y.audio_start_ms, y.audio_end_ms, y.speech_ms)
        and np.array_equal(getattr(x, "audio", None), getattr(y, "audio", None))
        for x, y in zip(a, b, strict=True)
    )


def finals(events: list) -> list[SegmentFinal]:
    return [e for e in events if isinstance(e, SegmentFinal)]


def onset_ms(f: SegmentFinal) -> int:
    """Where the VAD heard speech start: the audio begins ``PRE_MS`` earlier."""
    return f.audio_start_ms + PRE_MS


def joins(audio: np.ndarray) -> list[tuple[int, int]]:
    """Runs of at least 1 s of exact zeros, (start_ms, end_ms): the pauses between the demo's clips."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], audio == 0, [0])).astype(np.int8)))
    return [(s // SR_MS, e // SR_MS) for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= 16_000]


def islands(audio: np.ndarray, floor_db: float = -35.0, bridge_ms: int = 500) -> list[list[int]]:
    """Stretches of sound [start_ms, end_ms]: 30 ms frames at or above ``floor_db`` dBFS, joined
    across quieter gaps shorter than ``bridge_ms``."""
    n = len(audio) // 480
    rms = np.sqrt(np.mean(audio[: n * 480].reshape(n, 480) ** 2, axis=1))
    loud = 20 * np.log10(rms + 1e-12) >= floor_db
    out: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if out and i * 30 - out[-1][1] < bridge_ms:
            out[-1][1] = (i + 1) * 30
        else:
            out.append([i * 30, (i + 1) * 30])
    return out


def segments_total(outcome: str) -> float:
    return REGISTRY.get_sample_value("babelroom_segments_total", {"outcome": outcome}) or 0.0


@pytest.fixture(scope="module")
def demo_events(demo_audio) -> list:
    return run(demo_audio)


def test_demo_has_the_expected_ground_truth(demo_audio):
    assert len(joins(demo_audio)) == 7  # 6 between the 7 clips, 1 after the last
    assert len(islands(demo_audio)) == 10


def test_one_chain_of_segments_per_stretch_of_speech(demo_audio, demo_events):
    """Each island gives segments linked only by length cuts; their number is what the cap implies."""
    isl = islands(demo_audio)
    chains: list[list[SegmentFinal]] = [[] for _ in isl]
    for f in finals(demo_events):
        chains[max(i for i, (start, _) in enumerate(isl) if start <= f.audio_end_ms)].append(f)
    for i, ((start, end), chain) in enumerate(zip(isl, chains, strict=True)):
        next_start = isl[i + 1][0] if i + 1 < len(isl) else len(demo_audio) // SR_MS
        assert chain, f"island {start}-{end} ms has no segment"
        assert abs(onset_ms(chain[0]) - start) <= 300
        assert end - 300 <= chain[-1].audio_end_ms < next_start  # ends inside the pause that follows
        assert not chain[-1].cut
        # Each segment is at most 5 s and a cut moves on by 3.5-4.5 s (cut in the last second, minus
        # the 0.5 s overlap); the segment stays open 510 ms into the silence; onset/end slack 300 ms.
        length = end - start
        fewest = max(1, math.ceil((length - MAX_MS) / 4_500) + 1)
        most = max(1, (length + 2 * 300 + 510 - MAX_MS) // 3_500 + 2)
        assert fewest <= len(chain) <= most, (start, end, len(chain))
    assert [len(c) for c in chains] == [1, 1, 1, 1, 3, 1, 3, 2, 2, 2]  # as it is today: 17 finals
    # all linked by length cuts (with a 300 ms pad, one was a plain end: the speech had stopped when the
    # cap came)
    assert [f.cut for f in finals(demo_events)].count(True) == 7


@pytest.mark.parametrize("cap_s", [3.0, 3.5, 5.5])
def test_no_segment_is_longer_than_the_cap(demo_audio, cap_s):
    """STT refuses audio longer than its window (the cap): a continuation starts off the frame grid,
    and the cap once let it grow one frame past (48320 samples at 3 s)."""
    events = run_with_cap(demo_audio, cap_s)
    assert max(len(e.audio) for e in events if isinstance(e, SegmentFinal | SegmentUpdate)) <= cap_s * 16_000


def test_boundaries_at_the_joins(demo_audio, demo_events):
    """Segments start and end within 300 ms of where the clips meet; none straddles a join, and
    ``audio_end_ms`` is where speech ends, not where 500 ms of trailing silence closed the segment."""
    fs = finals(demo_events)
    pauses = joins(demo_audio)
    first_sound = int(np.flatnonzero(demo_audio)[0]) // SR_MS
    clip_starts = [first_sound] + [e for _, e in pauses[:-1]]
    for start in clip_starts:
        first = min((f for f in fs if f.audio_end_ms > start), key=lambda f: f.index)
        assert abs(onset_ms(first) - start) <= 300
        assert first.audio_start_ms <= start - 100  # the pre-speech buffer reaches into the pause
    for join_start, join_end in pauses:
        last = max((f for f in fs if f.audio_end_ms < join_end), key=lambda f: f.index)
        assert join_start - 300 <= last.audio_end_ms <= join_start + 200
        assert not last.cut
        # Audio: pre-speech + speech + the same 300 ms pad after the last voiced frame.
        assert len(last.audio) == (last.audio_end_ms - last.audio_start_ms + PRE_MS) * SR_MS
        assert not any(f.audio_start_ms < join_start and f.audio_end_ms > join_end for f in fs)


def test_length_cap_and_overlap(demo_events):
    fs = finals(demo_events)
    assert all(len(f.audio) <= MAX_MS * SR_MS for f in fs)
    cuts = [f for f in fs if f.cut]
    assert len(cuts) == 7
    for f in cuts:
        nxt = next(g for g in fs if g.index == f.index + 1)
        cut_ms = f.audio_start_ms + len(f.audio) // SR_MS
        assert (MAX_MS - 1_000) * SR_MS <= len(f.audio) <= MAX_MS * SR_MS  # cut in the last second
        assert f.audio_end_ms <= cut_ms
        assert nxt.audio_start_ms == cut_ms - OVERLAP_MS
        np.testing.assert_array_equal(nxt.audio[: OVERLAP_MS * SR_MS], f.audio[-OVERLAP_MS * SR_MS :])


def test_updates_then_one_final_per_index(demo_events):
    indices = [e.index for e in demo_events]
    assert sorted(set(indices)) == list(range(1, max(indices) + 1)) and indices == sorted(indices)
    by_index: dict[int, list] = {}
    for e in demo_events:
        by_index.setdefault(e.index, []).append(e)
    for evs in by_index.values():
        *updates, final = evs
        assert isinstance(final, SegmentFinal) and all(isinstance(u, SegmentUpdate) for u in updates)
        ends = [u.audio_end_ms for u in updates]
        assert all(b - a >= 1_000 for a, b in pairwise(ends))  # every partial_interval_ms
        for u in updates:
            assert u.audio_start_ms == final.audio_start_ms
            n = min(len(u.audio), len(final.audio))
            np.testing.assert_array_equal(u.audio[:n], final.audio[:n])
    assert sum(isinstance(e, SegmentUpdate) for e in demo_events) > 20


def test_chunk_size_does_not_matter(demo_audio, demo_events):
    for chunk in (333, 16_000):
        assert same(run(demo_audio, chunk), demo_events)
    head = demo_audio[: 25 * 16_000]  # JFK and the first LJ clip, two length cuts
    assert same(run(head, 1, flush=False), run(head, flush=False))


def test_flush_finishes_the_open_segment(demo_audio, demo_events):
    seg = Segmenter(max_segment_s=MAX_MS / 1000)
    before = seg.feed(demo_audio[: 20 * 16_000])  # stops inside LJ001-0001, after its first cut
    assert same(before, demo_events[: len(before)])
    assert isinstance(before[-1], SegmentUpdate)
    (final,) = seg.flush()
    assert isinstance(final, SegmentFinal) and final.index == before[-1].index and not final.cut
    assert before[-1].audio_end_ms <= final.audio_end_ms <= 20_000
    assert final.audio_start_ms + len(final.audio) // SR_MS <= 20_000
    assert seg.flush() == [] and Segmenter().flush() == []


def test_noise_and_short_bursts_are_dropped_unpublished():
    """White noise fools WebRTC but not Silero; a 150 ms burst of speech is too short. Both end in a
    SegmentDropped without any update before it (STT never sees them); the speech after them is
    accepted."""
    rng = np.random.default_rng(3)
    lj = decode_file(SPEECH / "LJ001-0002.wav")
    silence = np.zeros(16_000, np.float32)
    audio = np.concatenate([
        silence, (rng.standard_normal(48_000) * 0.1).astype(np.float32), silence,
        lj[4_000 : 4_000 + 150 * SR_MS], silence, lj, silence,
    ])
    before = {k: segments_total(k) for k in ("accepted", "rejected_silero", "too_short")}
    events = run(audio)
    after = {k: segments_total(k) - v for k, v in before.items()}
    assert after == {"accepted": 1, "rejected_silero": 1, "too_short": 1}
    noise_seg, burst, *updates, final = events
    assert isinstance(noise_seg, SegmentDropped) and noise_seg.reason == "rejected_silero"
    assert abs(noise_seg.audio_start_ms + PRE_MS - 1_000) <= 100  # where the noise starts
    assert noise_seg.audio_end_ms >= 3_900 and noise_seg.speech_ms >= 2_500
    assert isinstance(burst, SegmentDropped) and burst.reason == "too_short"
    assert abs(burst.audio_start_ms + PRE_MS - 5_000) <= 100 and burst.speech_ms < 250
    assert all(isinstance(u, SegmentUpdate) and u.index == 3 for u in updates)
    assert isinstance(final, SegmentFinal) and final.index == 3
    assert abs(onset_ms(final) - 6_150) <= 300  # where the LJ clip starts


def test_speech_silero_doubts_is_a_final_without_partials():
    """A thin Common Voice recording (``tests/data/speech-multi/de_common_voice_de_17516889.wav``, "Die
    Beamten gehen nun verstärkt gegen illegale Straßenrennen vor"; see its ``ATTRIBUTION.md``) on which
    Silero peaks at 0.13–0.47 depending on its windows' phase: neither dropped (9 of the German eval
    set's 74 words were lost) nor shown as partials. It is a ``doubtful`` final, whose text STT keeps
    only if Whisper is sure of it."""
    clip = decode_file(SPEECH.parent / "speech-multi" / "de_common_voice_de_17516889.wav")
    silence = np.zeros(16_000, np.float32)
    before = segments_total("doubtful")
    events = run(np.concatenate([silence, clip, silence]))
    assert [type(e) for e in events] == [SegmentFinal] and not events[0].cut, events
    assert events[0].doubtful and events[0].speech_ms > 2_500 and segments_total("doubtful") == before + 1
    with pytest.raises(ValueError):
        Segmenter(silero_threshold=0.5, silero_doubt_threshold=0.6)


def test_settings_reach_the_segmenter(demo_audio):
    """A 3 s cap with 0.25 s overlap on JFK's clip. The first and third phrases reach the cap in
    their trailing silence and simply end; the last is cut, and its continuation (the crowd after
    "… for your country") is noise that Silero doubts (0.20): a doubtful final, no partial."""
    seg = Segmenter.from_settings(Settings(vad_max_segment_s=3.0, vad_overlap_s=0.25))
    events = seg.feed(demo_audio[: 12 * 16_000]) + seg.flush()
    assert all(len(f.audio) <= 3_000 * SR_MS for f in finals(events))
    assert [f.cut for f in finals(events)] == [False, False, False, True, False]
    cut, continuation = events[-2:]
    assert continuation.index == cut.index + 1
    assert continuation.audio_start_ms == cut.audio_start_ms + len(cut.audio) // SR_MS - 250
    assert isinstance(continuation, SegmentFinal) and continuation.doubtful and not cut.doubtful
    with pytest.raises(ValueError):
        Segmenter(max_segment_s=1.4, overlap_s=0.5)  # a cut would not move the stream on


def test_sentence_cut_ends_the_segment_and_the_rest_goes_on(demo_audio):
    """``cut_at`` (a sentence end from STT) splits the open segment without overlap; the default
    hard cap is 15 s."""
    seg = Segmenter()
    speech = np.concatenate([demo_audio[16_000 * 12 : 16_000 * 22]] * 2)  # 20 s, pauses < 500 ms
    events = seg.feed(speech[: 16_000 * 6])
    index = seg.open_index
    assert index is not None
    assert seg.cut_at(index + 1, 3_000) == [] and seg.cut_at(index, 7_000) == []  # not open / not fed
    cut = seg.cut_at(index, 3_000)
    assert [type(e) for e in cut] == [SegmentFinal]
    head = cut[0]
    assert head.cut and head.next_overlap_ms == 0 and head.audio_start_ms + len(head.audio) // SR_MS == 3_000
    assert seg.open_index == index + 1
    rest = finals(seg.feed(speech[16_000 * 6 :]) + seg.flush())
    assert rest[0].index == index + 1 and rest[0].audio_start_ms == 3_000
    assert all(len(f.audio) <= 15_000 * SR_MS for f in events + rest if isinstance(f, SegmentFinal))


def run_early(audio: np.ndarray, sentence_end: bool) -> tuple[list, list[int]]:
    """The demo through a segmenter with ``sentence_end_silence_ms=300`` in 30 ms chunks, with STT's
    part played by the test: after every update, ``sentence_end`` says whether its hypothesis ends a
    sentence. Returns the events and, per final, the silence (ms) it was emitted after."""
    seg = Segmenter(max_segment_s=MAX_MS / 1000, sentence_end_silence_ms=300)
    events: list = []
    said: dict[int, int] = {}  # index → audio_end_ms of its last update
    waited: list[int] = []
    for i in range(0, len(audio), 480):
        new = seg.feed(audio[i : i + 480])
        if sentence_end and seg.may_end_early and seg.open_index in said:
            new += seg.end_sentence(seg.open_index, said[seg.open_index])
        said.update({e.index: e.audio_end_ms for e in new if isinstance(e, SegmentUpdate)})
        waited += [(i + 480) // SR_MS - f.audio_end_ms for f in new if isinstance(f, SegmentFinal)]
        events += new
    return events, waited


def test_a_tail_update_carries_all_the_speech_after_a_short_silence(demo_audio, demo_events):
    """With the early end on, every segment that ends at a pause has a last update 90 ms into the
    silence, whose speech end is the final's: STT's last hypothesis then covers all the speech. (A
    shorter pause inside a segment gets one too.) The segments themselves are those of the default
    segmenter."""
    events, waited = run_early(demo_audio, sentence_end=False)
    assert [(f.index, f.audio_start_ms, f.audio_end_ms) for f in finals(events)] == [
        (f.index, f.audio_start_ms, f.audio_end_ms) for f in finals(demo_events)]
    # trailing_silence_ms, to the frame: no hypothesis ended a sentence
    assert {w for f, w in zip(finals(events), waited, strict=True) if not f.cut} == {510}
    for f in finals(events):
        if not f.cut:
            last = [e for e in events if isinstance(e, SegmentUpdate) and e.index == f.index][-1]
            assert last.audio_end_ms == f.audio_end_ms
            assert last.audio_start_ms + len(last.audio) // SR_MS == f.audio_end_ms + 90


def test_a_hypothesis_that_ends_a_sentence_ends_its_segment_after_300_ms(demo_audio, demo_events):
    """When STT's hypothesis of all the speech ends a sentence, the segment ends after 300 ms of
    silence, not 500: the same segments, the same speech, 300 ms of trailing audio instead of 400."""
    events, waited = run_early(demo_audio, sentence_end=True)
    early = [f for f in finals(events) if not f.cut]
    assert [(f.index, f.audio_start_ms, f.audio_end_ms) for f in finals(events)] == [
        (f.index, f.audio_start_ms, f.audio_end_ms) for f in finals(demo_events)]
    assert len(early) == 10 and {w for f, w in zip(finals(events), waited, strict=True) if not f.cut} == {300}
    for f in early:
        assert f.audio_start_ms + len(f.audio) // SR_MS == f.audio_end_ms + 300


def test_speech_after_the_hypothesis_or_a_short_silence_voids_it(demo_audio):
    """JFK's first phrase, fed frame by frame into the pause after it. ``end_sentence`` ends nothing at
    the tail update (90 ms of silence), for another segment, or for a hypothesis whose speech end lies
    before the segment's (speech came after it); from 300 ms of silence on it ends the segment with a
    final. Off (the default), the same call on the same open segment ends nothing. The early end's
    silence must be below the trailing silence."""
    seg, off = Segmenter(sentence_end_silence_ms=300), Segmenter()
    tail: SegmentUpdate | None = None
    for i in range(0, len(demo_audio), 480):
        off.feed(demo_audio[i : i + 480])
        for e in seg.feed(demo_audio[i : i + 480]):
            tail = e if isinstance(e, SegmentUpdate) else tail
        if tail is not None and tail.audio_start_ms + len(tail.audio) // SR_MS == (i + 480) // SR_MS:
            assert not seg.may_end_early and seg.end_sentence(tail.index, tail.audio_end_ms) == []
        if seg.may_end_early:
            break
    assert tail is not None and seg.open_index == tail.index == off.open_index
    assert seg.end_sentence(tail.index + 1, tail.audio_end_ms) == []  # not the open segment
    assert seg.end_sentence(tail.index, tail.audio_end_ms - 30) == []  # a hypothesis of less speech
    assert off.end_sentence(tail.index, tail.audio_end_ms) == [] and not off.may_end_early
    (final,) = seg.end_sentence(tail.index, tail.audio_end_ms)
    assert isinstance(final, SegmentFinal) and final.audio_end_ms == tail.audio_end_ms and seg.open_index is None
    with pytest.raises(ValueError, match="sentence_end_silence_ms must be in"):
        Segmenter(sentence_end_silence_ms=500)  # no earlier than any segment's end
    with pytest.raises(ValueError, match="vad_sentence_end_silence_ms=500 must be below vad_trailing_silence_ms"):
        Settings(vad_sentence_end_silence_ms=500)
    configured = Segmenter.from_settings(Settings(vad_sentence_end_silence_ms=300))
    configured.feed(np.concatenate([demo_audio[: 16_000 * 2], np.zeros(150 * SR_MS, np.float32)]))
    assert configured.open_index is not None and not configured.may_end_early  # under 300 ms of silence
    configured.feed(np.zeros(300 * SR_MS, np.float32))  # 450 ms in all, less WebRTC's hangover (≤ 110 ms)
    assert configured.open_index is not None and configured.may_end_early

"""The benchmark's arithmetic (the runs themselves are `make bench`, not tests)."""

from pathlib import Path

import pytest
from rich.console import Console

from babelroom.dev.bench import (
    CLIP_GAP_S,
    RunResult,
    _audio_markdown,
    _audio_table,
    _delta,
    _markdown,
    _table,
    bench_clip,
    find_max_speakers,
    holds,
    percentiles,
)

DATA = Path(__file__).resolve().parent / "data"


def test_percentiles():
    assert percentiles([]) == {}
    p = percentiles([float(x) for x in range(1, 101)])
    assert p == {"p50": 50.5, "p95": 95.0, "p99": 99.0, "max": 100.0}


def test_delta_filters_by_labels():
    before = [("babelroom_bus_dropped_total", {"kind": "partial", "stream": "audio"}, 3.0)]
    after = [
        ("babelroom_bus_dropped_total", {"kind": "partial", "stream": "audio"}, 5.0),
        ("babelroom_bus_dropped_total", {"kind": "final", "stream": "audio"}, 1.0),
    ]
    assert _delta(after, before, "babelroom_bus_dropped_total") == 3.0
    assert _delta(after, before, "babelroom_bus_dropped_total", kind="final") == 1.0
    assert _delta(after, before, "babelroom_stt_audio_seconds_total") == 0.0


def result(p95: float | None, lost: int = 0, dropped: int = 0) -> RunResult:
    return RunResult(speakers=2, audio_s=120, finals=30, final_latency_ms={} if p95 is None else {"p95": p95},
                     first_partial_latency_ms={}, stt_rtf=0.1, mt_ms_per_sentence=4.0, cache_hit_rate=0.0,
                     cpu_s_per_audio_s=0.3, lost_finals=lost, dropped_finals=dropped, latencies_ms=[])


def test_a_run_holds_only_within_the_p95_limit_with_nothing_lost():
    assert holds(result(1500.0), 1500)
    assert not holds(result(1500.1), 1500)
    assert not holds(result(900.0, lost=1), 1500)
    assert not holds(result(900.0, dropped=1), 1500)
    assert not holds(result(None), 1500)  # no final at all


@pytest.mark.parametrize(("capacity", "limit", "answer", "tried"), [
    (0, 16, 0, [1]),
    (1, 16, 1, [1, 2]),
    (5, 16, 5, [1, 2, 4, 8, 6, 5]),
    (11, 16, 11, [1, 2, 4, 8, 16, 12, 10, 11]),
    (16, 16, 16, [1, 2, 4, 8, 16]),
    (40, 12, 12, [1, 2, 4, 8, 10, 11, 12]),
])
def test_capacity_search_doubles_then_bisects(capacity, limit, answer, tried):
    runs: list[int] = []

    def run(n: int) -> bool:
        runs.append(n)
        return n <= capacity

    assert find_max_speakers(run, limit) == answer
    assert runs == tried


def test_bench_clip_joins_real_clips_with_gaps():
    one = bench_clip([DATA / "speech" / "LJ001-0002.wav"])
    two = bench_clip([DATA / "speech" / "LJ001-0002.wav", DATA / "speech-multi" / "es_picovoice-leopard_test_es.wav"])
    gap = int(CLIP_GAP_S * 16_000)
    assert one.dtype == "float32" and not one[-gap:].any() and one[:-gap].any()
    assert len(two) > 2 * len(one) and not two[len(one) - gap : len(one)].any()


def test_markdown_table_row():
    r = RunResult(speakers=2, audio_s=120, finals=30, final_latency_ms={"p50": 700, "p95": 1100, "p99": 1200},
                  first_partial_latency_ms={"p50": 1600}, stt_rtf=0.08, mt_ms_per_sentence=4.2, cache_hit_rate=0.5,
                  cpu_s_per_audio_s=0.33, lost_finals=0, dropped_finals=0, latencies_ms=[])
    assert "| 2 | 700 | 1100 | 1200 | 1600 | 0.080 | 4.2 | 50% | 0.33 | 0 | 0 |" in _markdown([r], "m")
    assert "Largest number: **3**" in _markdown([r], "m", "Largest number: **3**")


def test_tables_show_a_dash_not_0_for_an_empty_percentile_set():
    r = result(None)  # no final, no partial came: their percentile sets are empty
    r.final_latency_ms = {"p50": 700, "p95": 1100, "p99": 1200}
    assert "| 2 | 700 | 1100 | 1200 | – | 0.100 |" in _markdown([r], "m")
    r.audio_latency_ms, r.final_to_audio_ms = {}, {}
    assert "| 2 |  | – | – | – | – | – | 0 | 0 |" in _audio_markdown([r])
    console = Console(width=200, record=True)
    console.print(_table([r]), _audio_table([r]))
    rows = [[cell.strip() for cell in line.strip("│").split("│")]
            for line in console.export_text().splitlines() if line.startswith("│")]
    assert rows == [["2", "700", "1100", "1200", "–", "0.100", "4.0", "0%", "0.30", "0", "0"],
                    ["2", "", "–", "–", "–", "–", "–", "0", "0"]]


def _speech(segment_id: str, audio_end_ms: int, audio_at: float, text: str = "hola"):
    from babelroom.bus.schemas import SpeechAudio, Translation
    from babelroom.dev.client import ReceivedSpeech

    return ReceivedSpeech(SpeechAudio(
        room="r", speaker="a", speaker_name="A", language="en", segment_id=segment_id, seq=1, audio_start_ms=0,
        audio_end_ms=audio_end_ms, room_seq=1, translation=Translation(language="es", text=text, backend="t"),
        duration_ms=500, tts_backend="espeak", voice="es"), audio_at - 0.01, audio_at)


def test_audio_latency_is_first_audio_minus_last_speech_sample_and_final_to_audio():
    from babelroom.bus.schemas import Caption, Translation
    from babelroom.dev.bench import _speech_figures
    from babelroom.dev.client import Received, SpeakerRun

    run = SpeakerRun("s", t0=1000.0)

    def final(segment_id: str, at: float) -> Received:
        return Received(Caption(
            room="r", speaker="a", speaker_name="A", language="en", segment_id=segment_id, seq=1, audio_start_ms=0,
            audio_end_ms=2000, type="final", room_seq=1, text="hi",
            translation=Translation(language="es", text="hola", backend="bergamot")), at)

    expected = {"x": (run, {}), "y": (run, {})}
    audio, final_to_audio, unspoken = _speech_figures(
        [[final("x", 1002.5), final("y", 1003.0)]], [[_speech("x", 2000, 1003.2)]], expected)
    assert [round(a) for a in audio] == [1200]  # 1003.2 - (1000 + 2.0)
    assert [round(f) for f in final_to_audio] == [700]
    assert unspoken == 1  # y was never heard


def test_speech_timeline_places_each_sentence_at_its_arrival_never_overlapping():
    import numpy as np

    from babelroom.dev.demo_speech import speech_timeline
    from babelroom.tts.codec import OPUS_RATE, encode_ogg_opus

    tone = (0.3 * np.sin(np.arange(OPUS_RATE) * 2 * np.pi * 440 / OPUS_RATE)).astype(np.float32)  # 1 s
    first, second = _speech("a", 0, 10.5), _speech("b", 0, 11.0)
    first.at, second.at = 10.5, 11.0  # the second arrives while the first still plays
    for r in (first, second):
        r.speech.audio = encode_ogg_opus(tone, OPUS_RATE)
    track, starts = speech_timeline([second, first], t0=10.0)
    assert starts[0] == pytest.approx(0.5) and starts[1] == pytest.approx(starts[0] + len(r.samples()[0]) / OPUS_RATE)
    assert len(track) / OPUS_RATE == pytest.approx(starts[1] + 1.0, abs=0.05)
    assert np.abs(track[: int(0.45 * OPUS_RATE)]).max() == 0.0  # silence before the first sentence

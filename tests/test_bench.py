"""The benchmark's arithmetic (the runs themselves are `make bench`, not tests)."""

from pathlib import Path

import pytest

from babelroom.dev.bench import (
    CLIP_GAP_S,
    RunResult,
    _delta,
    _markdown,
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

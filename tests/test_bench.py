"""The benchmark's arithmetic (the runs themselves are `make bench`, not tests)."""

from babelroom.dev.bench import RunResult, _delta, _markdown, percentiles


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


def test_markdown_table_row():
    r = RunResult(speakers=2, audio_s=120, finals=30, final_latency_ms={"p50": 700, "p95": 1100, "p99": 1200},
                  first_partial_latency_ms={"p50": 1600}, stt_rtf=0.08, mt_ms_per_sentence=4.2, cache_hit_rate=0.5,
                  cpu_s_per_audio_s=0.33, lost_finals=0, dropped_finals=0, latencies_ms=[])
    assert "| 2 | 700 | 1100 | 1200 | 1600 | 0.080 | 4.2 | 50% | 0.33 | 0 | 0 |" in _markdown([r], "m")

"""Writes the scenario recordings the autoscaler tests replay (run once; the JSON files are committed).

Each file holds raw metric series as Prometheus' range-query API returns them (``resultType: matrix``),
one sample every 15 s (the scrape interval): what the gateway, STT and MT tasks would export during the
scenario. The tests backfill them into a real Prometheus (promtool tsdb create-blocks-from openmetrics)
and let the autoscaler run its own PromQL against it, step by step.

    python tests/ops/data/autoscaler/make_scenarios.py
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = 1767225600  # 2026-01-01T00:00:00Z
STEP = 15
BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def fmt(x: float) -> str:
    return repr(round(x, 6))


def series(metric: dict[str, str], values: list[float | None]) -> dict:
    return {
        "metric": metric,
        "values": [[START + i * STEP, fmt(v)] for i, v in enumerate(values) if v is not None],
    }


def counter_from_rates(rates: list[float | None]) -> list[float | None]:
    """A counter that grows by rate*STEP each scrape (None: the task was not scraped)."""
    total, out = 0.0, []
    for r in rates:
        if r is None:
            out.append(None)
            continue
        total += r * STEP
        out.append(total)
    return out


def latency_buckets(latencies: list[float], per_s: float) -> dict[str, list[float]]:
    """Cumulative histogram buckets for ``per_s`` requests a second, each taking ``latencies[i]``."""
    counts = {str(b): 0.0 for b in BUCKETS} | {"+Inf": 0.0}
    out: dict[str, list[float]] = {k: [] for k in counts}
    for lat in latencies:
        for b in BUCKETS:
            if lat <= b:
                counts[str(b)] += per_s * STEP
        counts["+Inf"] += per_s * STEP
        for k in counts:
            out[k].append(counts[k])
    return out


def lecture_burst() -> dict:
    """40 minutes: quiet, a 12-minute burst of speakers, then quiet again.

    - STT: the audio queue climbs to 18-30 and the workers run at ~90 % CPU from minute 5 to 17.
    - MT: its CPU flaps between 70 % and 85 % every 30 s during the burst (mean 77.5 %: no sustained
      breach), its queue stays at 4, and its tasks are not scraped at all from minute 30 to 33.
    - Gateway: request p95 around 350 ms from minute 5 to 10 (a slow dependency), else ~40 ms.
    """
    rnd = random.Random(5)
    n = 40 * 60 // STEP
    minute = [i * STEP / 60 for i in range(n)]
    burst = [5 <= m < 17 for m in minute]
    audio_q = [rnd.uniform(18, 30) if b else rnd.choice([0, 1, 1, 2]) for b in burst]
    transcripts_q = [4.0 if b else rnd.choice([0, 0, 1]) for b in burst]
    out = []
    out.append(series({"__name__": "babelroom_bus_queue_depth", "job": "gateway", "instance": "babelroom_gateway.1",
                       "stream": "audio"}, audio_q))
    out.append(series({"__name__": "babelroom_bus_queue_depth", "job": "gateway", "instance": "babelroom_gateway.1",
                       "stream": "transcripts"}, transcripts_q))
    for job, limit in (("stt", 2.0), ("mt", 1.5)):
        for slot in (1, 2):
            inst = f"babelroom_{job}.{slot}"
            if job == "stt":
                util = [rnd.uniform(0.86, 0.94) if b else rnd.uniform(0.12, 0.22) for b in burst]
            else:
                util = [(0.85 if (i // 2) % 2 else 0.70) if b else rnd.uniform(0.10, 0.20)
                        for i, b in enumerate(burst)]
            scraped = [not (job == "mt" and 30 <= m < 33) for m in minute]
            rates = [u * limit if s else None for u, s in zip(util, scraped, strict=True)]
            out.append(series({"__name__": "process_cpu_seconds_total", "job": job, "instance": inst},
                              counter_from_rates(rates)))
            out.append(series({"__name__": "babelroom_cpu_limit_cores", "job": job, "instance": inst},
                              [limit if s else None for s in scraped]))
    slow = [5 <= m < 10 for m in minute]
    lat = [0.35 if s else 0.04 for s in slow]
    for le, values in latency_buckets(lat, per_s=20).items():
        out.append(series({"__name__": "babelroom_http_request_duration_seconds_bucket", "job": "gateway",
                           "instance": "babelroom_gateway.1", "route": "/api/rooms", "method": "GET",
                           "status": "200", "le": le}, values))
    total = counter_from_rates([20.0] * n)
    out.append(series({"__name__": "babelroom_http_request_duration_seconds_count", "job": "gateway",
                       "instance": "babelroom_gateway.1", "route": "/api/rooms", "method": "GET",
                       "status": "200"}, total))
    out.append(series({"__name__": "babelroom_http_request_duration_seconds_sum", "job": "gateway",
                       "instance": "babelroom_gateway.1", "route": "/api/rooms", "method": "GET",
                       "status": "200"}, counter_from_rates([20.0 * x for x in lat])))
    assert all(not math.isnan(float(v)) for s in out for _, v in s["values"])
    return {
        "description": lecture_burst.__doc__,
        "start": START,
        "step_s": STEP,
        "end": START + (n - 1) * STEP,
        "status": "success",
        "data": {"resultType": "matrix", "result": out},
    }


if __name__ == "__main__":
    (HERE / "lecture_burst.json").write_text(json.dumps(lecture_burst(), indent=1) + "\n")
    print("wrote", HERE / "lecture_burst.json")

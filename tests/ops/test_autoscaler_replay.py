"""The autoscaler replayed over recorded metric series, through a real Prometheus.

The recording (tests/ops/data/autoscaler/*.json, Prometheus' range-query format) is backfilled into a
fresh TSDB with ``promtool tsdb create-blocks-from openmetrics``; a real ``prometheus`` serves it on
127.0.0.1; the autoscaler then runs its own PromQL at each 15 s step of the recording (``time=``), and
scales services of the Engine API stand-in. The replay is open-loop: the recorded load does not react
to the replicas added.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import httpx
import opschecks
import pytest
from engine_stub import EngineStub, service

from babelroom.autoscaler.engine import Autoscaler
from babelroom.autoscaler.prometheus import PrometheusClient
from babelroom.autoscaler.rules import default_rules
from babelroom.autoscaler.swarm import SwarmScaler

DATA = Path(__file__).parent / "data" / "autoscaler"

FAMILY_TYPES = (
    ("_bucket", "histogram"), ("_count", "histogram"), ("_sum", "histogram"), ("_total", "counter"),
)


def to_openmetrics(matrix: list[dict]) -> str:
    """Prometheus matrix series -> the OpenMetrics text promtool backfills (typed families, # EOF)."""
    families: dict[str, tuple[str, list[str]]] = {}
    for series in matrix:
        labels = dict(series["metric"])
        name = labels.pop("__name__")
        family, kind = name, "gauge"
        for suffix, k in FAMILY_TYPES:
            if name.endswith(suffix) and (k == "counter" or name.startswith("babelroom_http_request_duration")):
                family, kind = name.removesuffix(suffix), k
                break
        lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines = families.setdefault(family, (kind, []))[1]
        lines.extend(f"{name}{{{lab}}} {v} {t}" for t, v in series["values"])
    out = []
    for family, (kind, lines) in families.items():
        out.append(f"# TYPE {family} {kind}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def recorded_prometheus(tmp_path_factory, promtool, prometheus_server):
    """A real Prometheus on loopback serving the lecture_burst recording; yields (url, recording)."""
    recording = json.loads((DATA / "lecture_burst.json").read_text())
    work = tmp_path_factory.mktemp("prom")
    om = work / "recording.om"
    om.write_text(to_openmetrics(recording["data"]["result"]))
    tsdb = work / "tsdb"
    res = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(tsdb)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = opschecks.free_port()
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [prometheus_server, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (work / "prometheus.log").read_text()
            time.sleep(0.1)
        else:
            pytest.fail("prometheus did not become ready")
        yield url, recording
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_recording_is_served(recorded_prometheus):
    url, rec = recorded_prometheus
    client = PrometheusClient(url)
    at = rec["start"] + 10 * 60  # mid-burst
    assert client.query('max(babelroom_bus_queue_depth{stream="audio"})', at=at) > 10
    assert client.query("up", at=at) is None  # nothing scraped, only the recording


def test_replay_lecture_burst(recorded_prometheus):
    url, rec = recorded_prometheus
    with EngineStub() as engine:
        for name in ("stt", "mt", "gateway"):
            engine.add(service(f"babelroom_{name}", 2))
        auto = Autoscaler(default_rules(), PrometheusClient(url), SwarmScaler.from_url(engine.url, "babelroom"))
        timeline: dict[str, list[tuple[float, int]]] = defaultdict(list)
        samples: dict[str, list] = defaultdict(list)
        for t in range(rec["start"], rec["end"] + 1, rec["step_s"]):
            for d in auto.step(now=float(t)):
                minute = (t - rec["start"]) / 60
                samples[d.service].append((minute, d.reason))
                if d.target != d.current:
                    timeline[d.service].append((minute, d.target))
        final = {name: engine.replicas(f"babelroom_{name}") for name in ("stt", "mt", "gateway")}

    print("replicas timeline (minute, replicas):", dict(timeline))
    stt = timeline["stt"]
    # Burst from minute 5 to 17: up to 3 within ~2 min (rate window + 60 s sustained), then 4 after the
    # 120 s cooldown; never above 4.
    assert [r for _, r in stt[:2]] == [3, 4], stt
    assert 5 < stt[0][0] <= 8 and stt[1][0] - stt[0][0] >= 2
    assert stt[1][0] < 17
    # After the burst: down one step per 5+ minutes, back to the lower bound of 2.
    downs = [(m, r) for m, r in stt[2:]]
    assert [r for _, r in downs] == [3, 2], stt
    assert downs[0][0] >= 17 + 5 and downs[1][0] - downs[0][0] >= 5
    # MT: CPU flapping around 77 % and a 3-minute gap in its series never scale it.
    assert timeline["mt"] == [], timeline["mt"]
    assert any("no data" in reason for m, reason in samples["mt"] if 31 <= m < 33)
    # Gateway: p95 350 ms from minute 5 to 10 -> scaled up, and back down after the 5-minute calm.
    gw = timeline["gateway"]
    assert gw and gw[0][1] == 3 and 5 < gw[0][0] <= 9, gw
    assert max(r for _, r in gw) <= 4 and gw[-1][1] == 2
    assert final == {"stt": 2, "mt": 2, "gateway": 2}

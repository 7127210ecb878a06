"""Scrape the running services: every metric an alert, a dashboard or the autoscaler names is in the
/metrics of the real gateway, STT and MT processes (LocalStack: real Redis, tiny.en, apertium), and the
autoscaler serves its own /metrics and /healthz."""

from __future__ import annotations

import httpx
import opschecks
import pytest
from prometheus_client.parser import text_string_to_metric_families

from babelroom.dev.devstack import LocalStack

SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created"), "unknown": ("",), "info": ("_info",)}


def scraped_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def names_used() -> set[str]:
    recorded = opschecks.recorded_names()
    used = set()
    expressions = [*opschecks.rule_expressions(), *opschecks.dashboard_expressions(),
                   *opschecks.autoscaler_expressions()]
    for _, expr in expressions:
        used |= {name for name, _ in opschecks.selectors(expr)}
    return used - set(recorded) - {"up"}


@pytest.fixture(scope="module")
def running(tmp_path_factory, redis_binary):
    with LocalStack(state_dir=tmp_path_factory.mktemp("ops-stack"), env={"BABELROOM_LOG_LEVEL": "WARNING"}) as stack:
        yield stack


@pytest.mark.parametrize("service", ["gateway", "stt", "mt"])
def test_running_service_exports_every_metric_used(running, service):
    urls = running.metrics_urls(service)
    assert urls
    text = httpx.get(urls[0], timeout=10).text
    names = scraped_names(text)
    missing = names_used() - names
    assert not missing, f"{service} /metrics lacks {sorted(missing)}"
    # the resource collector reads real values in a real process
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["babelroom_cpu_limit_cores"].samples[0].value > 0
    assert families["babelroom_memory_limit_bytes"].samples[0].value > 0
    assert any(s.labels["path"] == "/" for s in families["babelroom_filesystem_avail_bytes"].samples)


def test_autoscaler_serves_metrics_and_health():
    from babelroom.autoscaler.engine import Autoscaler, serve_http

    class Nothing:
        def query(self, expr, at=None):
            return None

    auto = Autoscaler([], Nothing(), scaler=None)
    port = opschecks.free_port()
    server = serve_http(auto, port, interval_s=15, host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        names = scraped_names(httpx.get(f"{base}/metrics").text)
        assert {"babelroom_autoscaler_replicas", "babelroom_autoscaler_decisions_total"} <= names
        auto.last_step_at = 0.0  # a loop that stopped stepping long ago
        assert httpx.get(f"{base}/healthz").status_code == 503
    finally:
        server.shutdown()

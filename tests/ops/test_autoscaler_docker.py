"""The autoscaler's Docker calls, through the docker SDK, against a local stand-in of the Engine API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from engine_stub import EngineStub, service
from typer.testing import CliRunner

from babelroom.autoscaler.cli import app
from babelroom.autoscaler.engine import Autoscaler
from babelroom.autoscaler.rules import default_rules
from babelroom.autoscaler.swarm import SwarmError, SwarmScaler

TRAEFIK_LABELS = {"traefik.enable": "true", "traefik.http.routers.gateway.rule": "Host(`x`)"}


@pytest.fixture
def engine():
    with EngineStub() as stub:
        stub.add(service("babelroom_stt", 2))
        stub.add(service("babelroom_mt", 2))
        stub.add(service("babelroom_gateway", 2, labels=TRAEFIK_LABELS))
        stub.add(service("babelroom_socket-proxy", 1, global_mode=True))
        yield stub


def test_status_reads_replicas(engine):
    scaler = SwarmScaler.from_url(engine.url, "babelroom")
    status = scaler.status("stt")
    assert (status.name, status.replicas, status.updating) == ("babelroom_stt", 2, False)
    assert ("GET", "/version", {}) in engine.requests  # API version negotiated


def test_scale_changes_only_the_replicas(engine):
    before = json.loads(json.dumps(engine.services["babelroom_gateway"]["Spec"]))
    SwarmScaler.from_url(engine.url, "babelroom").scale("gateway", 3)
    assert engine.replicas("babelroom_gateway") == 3
    after = engine.services["babelroom_gateway"]["Spec"]
    assert after["Labels"] == TRAEFIK_LABELS  # Traefik's routing survives a scale
    for key in ("TaskTemplate", "UpdateConfig", "EndpointSpec", "Name"):
        assert after[key] == before[key], key
    path, body = engine.updates()[-1]
    assert path.endswith("/services/id-babelroom_gateway/update")


def test_scale_retries_once_when_the_spec_changed_underneath(engine, monkeypatch):
    from docker.models.services import ServiceCollection

    real_get = ServiceCollection.get
    calls = {"n": 0}

    def racing_get(self, name, *args, **kwargs):
        svc = real_get(self, name, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # someone updates the service between our read and our write
            engine.services[name]["Version"]["Index"] += 1
        return svc

    monkeypatch.setattr(ServiceCollection, "get", racing_get)
    SwarmScaler.from_url(engine.url, "babelroom").scale("stt", 3)
    assert engine.replicas("babelroom_stt") == 3
    assert len(engine.updates()) == 2  # refused once (out of sequence), then accepted


def test_errors_are_swarm_errors(engine):
    scaler = SwarmScaler.from_url(engine.url, "babelroom")
    with pytest.raises(SwarmError, match="no service babelroom_tts"):
        scaler.status("tts")
    with pytest.raises(SwarmError, match="not a replicated service"):
        scaler.status("socket-proxy")
    with pytest.raises(SwarmError):
        SwarmScaler.from_url(engine.url, "other").scale("stt", 3)


def test_a_service_under_rolling_update_is_left_alone(engine):
    engine.services["babelroom_stt"]["UpdateStatus"] = {"State": "updating"}
    scaler = SwarmScaler.from_url(engine.url, "babelroom")
    assert scaler.status("stt").updating

    class Hot:
        def query(self, expr, at=None):
            return 50.0

    decisions = Autoscaler(default_rules(), Hot(), scaler).step(now=1000.0)
    assert "stt" not in {d.service for d in decisions}
    assert engine.replicas("babelroom_stt") == 2


class FakePrometheus:
    def __init__(self, values):
        self.values = values

    def query(self, expr, at=None):
        for needle, value in self.values.items():
            if needle in expr:
                return value
        return None


def test_autoscaler_steps_scale_through_the_engine(engine):
    prom = FakePrometheus({'stream="audio"': 30.0, 'job="stt"': 0.9, 'stream="transcripts"': 1.0,
                           'job="mt"': 0.5, "http_request": 0.05})
    auto = Autoscaler(default_rules(), prom, SwarmScaler.from_url(engine.url, "babelroom"))
    for t in range(0, 400, 15):
        auto.step(now=float(t))
    assert engine.replicas("babelroom_stt") == 4
    assert engine.replicas("babelroom_mt") == 2
    assert engine.replicas("babelroom_gateway") == 2
    assert len(engine.updates()) == 2


def test_dry_run_sends_no_update(engine):
    prom = FakePrometheus({'stream="audio"': 30.0, 'job="stt"': 0.9})
    auto = Autoscaler(default_rules(), prom, SwarmScaler.from_url(engine.url, "babelroom"), dry_run=True)
    decisions = [d for t in range(0, 200, 15) for d in auto.step(now=float(t)) if d.target != d.current]
    assert decisions and not engine.updates()


def test_engine_unreachable_is_counted_not_fatal():
    from babelroom.metrics import AUTOSCALER_ERRORS

    before = AUTOSCALER_ERRORS.labels("docker")._value.get()
    scaler = SwarmScaler(__import__("docker").DockerClient(base_url="tcp://127.0.0.1:9", version="1.45", timeout=2),
                         "babelroom")
    assert Autoscaler(default_rules(), FakePrometheus({}), scaler).step(now=0.0) == []
    assert AUTOSCALER_ERRORS.labels("docker")._value.get() == before + 3


def test_cli_once_reports_decisions(engine):
    """`babelroom autoscaler --once` against a stand-in Prometheus answering the instant-query API."""

    class Prom(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [0, "1.0"]}]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Prom)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = CliRunner().invoke(app, [
            "--prometheus-url", f"http://127.0.0.1:{server.server_address[1]}",
            "--docker-url", engine.url, "--once", "--log-level", "WARNING",
        ])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert "stt: 2 -> 2" in result.output and "gateway: 2 -> 2" in result.output
    assert not engine.updates()

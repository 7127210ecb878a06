"""Security headers on the web app and the API, and the WebSocket Origin check (cross-site WebSocket
hijacking): a foreign Origin is closed 4403 with a reason and counted; no Origin (a non-browser client)
and the gateway's own origin go on to the token check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.websockets import WebSocketDisconnect

from babelroom.config import Settings
from babelroom.gateway.app import create_app
from babelroom.gateway.middleware import content_security_policy
from babelroom.gateway.origins import normalise, origin_allowed

ROOT = Path(__file__).resolve().parents[2]
COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><div id=root></div>")
    (tmp_path / "dist" / "assets" / "a.js").write_text("1")
    return tmp_path / "dist"


def test_every_answer_carries_the_security_headers(settings: Settings, dist: Path):
    client = TestClient(create_app(settings.model_copy(update={"frontend_dir": dist})))
    for path, status in (("/", 200), ("/assets/a.js", 200), ("/openapi.json", 200), ("/nope.js", 404)):
        r = client.get(path)
        assert r.status_code == status, path
        assert COMMON.items() <= r.headers.items(), path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp and "object-src 'none'" in csp
        assert "microphone=(self)" in r.headers["permissions-policy"] and "camera=(self)" in r.headers[
            "permissions-policy"]
        assert "strict-transport-security" not in r.headers  # development: no TLS in front
    docs = client.get("/docs")
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]  # Swagger UI still loads


def test_production_adds_hsts_and_the_csp_names_the_sockets_and_janus(settings: Settings):
    prod = settings.model_copy(update={"environment": "production", "jwt_secret": "k" * 32,
                                       "public_url": "https://call.example.org", "janus_enabled": True,
                                       "janus_public_url": "https://janus.example.org/janus"})
    r = TestClient(create_app(prod)).get("/openapi.json")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "connect-src 'self' wss://call.example.org https://janus.example.org;" in content_security_policy(prod)


def test_the_built_web_app_needs_nothing_the_csp_forbids():
    """The real build (frontend/dist, here or in the main checkout): no inline script or style, no eval."""
    dist = next((d for d in (ROOT / "frontend" / "dist", Path("/work/main/frontend/dist")) if d.is_dir()), None)
    if dist is None:
        pytest.skip("no frontend build (make frontend)")
    index = (dist / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index), "inline script"
    assert "<style" not in index and " style=" not in index
    assert re.findall(r'<link rel="icon" href="(\w+):', index) in ([], ["data"])  # img-src allows data:
    for bundle in (dist / "assets").glob("*.js"):
        code = bundle.read_text()
        assert "eval(" not in code and "new Function(" not in code, bundle.name
        assert 'setAttribute("style"' not in code, bundle.name


def test_origin_rules():
    assert normalise("HTTPS://Call.Example.org:443/room") == "https://call.example.org"
    assert normalise("null") == "" and normalise("http://h:99999") == ""
    dev = Settings()
    assert origin_allowed(None, "gw:8000", dev)  # not a browser
    assert origin_allowed("http://localhost:5173", "localhost:5173", dev)  # same origin (the Vite proxy too)
    assert not origin_allowed("https://evil.example", "localhost:8000", dev)
    assert not origin_allowed("null", "localhost:8000", dev)
    prod = Settings(public_url="https://call.example.org", allowed_origins="https://admin.example.org, ")
    assert origin_allowed("https://call.example.org", "gateway:8000", prod)
    assert origin_allowed("https://admin.example.org", "gateway:8000", prod)
    assert not origin_allowed("http://call.example.org", "call.example.org", prod)  # http is another origin
    assert not origin_allowed("https://evil.example", "evil.example", prod)


def refused() -> float:
    return sum(REGISTRY.get_sample_value("babelroom_ws_origin_refused_total", {"endpoint": e}) or 0
               for e in ("audio", "captions"))


@pytest.mark.parametrize("endpoint", ["audio", "captions?lang=es"])
def test_a_foreign_origin_is_closed_4403_and_counted(gateway, endpoint):
    before = refused()
    for headers, code in (({"origin": "https://evil.example"}, 4403), ({}, 4401),
                          ({"origin": "http://testserver"}, 4401)):
        with pytest.raises(WebSocketDisconnect) as info, \
                gateway.websocket_connect(f"/ws/rooms/r/{endpoint}", headers=headers) as ws:
            ws.receive_text()
        assert info.value.code == code, (headers, info.value.reason)
        if code == 4403:
            assert info.value.reason == "origin https://evil.example not allowed"
    assert refused() == before + 1

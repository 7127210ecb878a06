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


BROWSER_CHECK = """
async (path) => {
  const violations = [];
  document.addEventListener('securitypolicyviolation',
                            (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI));
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
  const closed = await new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onclose = (e) => resolve({code: e.code, reason: e.reason});
  });
  return {closed, violations};
}
"""


def test_the_real_web_app_runs_under_the_csp_in_chromium(db_settings: Settings, redis_url: str, tmp_path: Path):
    """The built app served by a real gateway in Debian's Chromium: it renders, no CSP violation, its
    same-origin caption socket reaches the token check (4401); a page of another origin gets 4403."""
    import functools
    import http.server
    import subprocess
    import sys
    import threading
    import time
    import urllib.request

    from babelroom.dev.devstack import free_port

    dist = next((d for d in (ROOT / "frontend" / "dist", Path("/work/main/frontend/dist")) if d.is_dir()), None)
    chromium = Path("/usr/bin/chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    if dist is None or not chromium.exists():
        pytest.skip("needs the frontend build and /usr/bin/chromium")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "services"), "BABELROOM_REDIS_URL": redis_url,
           "BABELROOM_DATABASE_URL": str(db_settings.database_url), "BABELROOM_FRONTEND_DIR": str(dist),
           "BABELROOM_STATE_DIR": str(tmp_path / "state"), "BABELROOM_LOG_LEVEL": "WARNING"}
    log = tmp_path / "gateway.log"
    with log.open("w") as log_file:
        gateway = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "gateway", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and gateway.poll() is None, log.read_text()
                time.sleep(0.3)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--headless"])
            page = browser.new_page()
            console = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(base + "/", wait_until="networkidle")
            page.wait_for_function("document.querySelector('#root') && document.querySelector('#root').children.length")
            same = page.evaluate(BROWSER_CHECK, "/ws/rooms/r/captions?lang=en")
            assert same == {"closed": {"code": 4401, "reason": same["closed"]["reason"]}, "violations": []}, same
            assert not [m for m in console if "Content Security Policy" in m], console
            (tmp_path / "elsewhere").mkdir()
            (tmp_path / "elsewhere" / "index.html").write_text("<title>another site</title>")
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "elsewhere"))
            elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
            other = f"http://127.0.0.1:{elsewhere.server_address[1]}"
            try:
                page.goto(other + "/", wait_until="load")
                foreign = page.evaluate(BROWSER_CHECK.replace("location.host", f"'127.0.0.1:{port}'"),
                                        "/ws/rooms/r/captions")
            finally:
                elsewhere.shutdown()
            assert foreign["closed"] == {"code": 4403, "reason": f"origin {other} not allowed"}, foreign
            browser.close()
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)

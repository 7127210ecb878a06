"""The gateway serves the web app's build (``frontend_dir``) at ``/``, after every other route: the
API, the sockets and the ops routes win even where the build has a file of the same path."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from babelroom.config import Settings
from babelroom.gateway.app import create_app

INDEX = "<!doctype html><title>Babelroom</title><div id=root></div>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A stand-in build: index.html, a hashed asset, and decoys at API and socket paths."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('babelroom')")
    (root / "api").mkdir()
    (root / "api" / "tiers").write_text("static decoy")
    (root / "healthz").write_text("static decoy")
    return root


def test_index_and_assets_are_served_from_frontend_dir(settings: Settings, dist: Path) -> None:
    app = create_app(settings.model_copy(update={"frontend_dir": dist}))
    client = TestClient(app)  # no lifespan: static files need neither Redis nor PostgreSQL
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.text == INDEX
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "babelroom" in asset.text
    assert "javascript" in asset.headers["content-type"]
    missing = client.get("/no/such/file.js")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert client.get("/openapi.json").json()["info"]["title"] == "Babelroom API"


def test_a_websocket_to_an_unknown_path_is_refused_not_crashed(settings: Settings, dist: Path) -> None:
    client = TestClient(create_app(settings.model_copy(update={"frontend_dir": dist})))
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/no-such-socket") as ws:
        ws.receive_text()


def test_nothing_is_mounted_without_a_build(settings: Settings, tmp_path: Path) -> None:
    for frontend_dir in (None, tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        client = TestClient(create_app(settings.model_copy(update={"frontend_dir": frontend_dir})))
        assert client.get("/").status_code == 404
    assert Settings(frontend_dir="").frontend_dir is None  # BABELROOM_FRONTEND_DIR= turns it off


def test_api_socket_and_ops_routes_win_over_the_build(db_settings: Settings, redis_url: str, dist: Path) -> None:
    from tests.conftest import register_instances

    register_instances(redis_url)
    with TestClient(create_app(db_settings.model_copy(update={"frontend_dir": dist}))) as client:
        tiers = client.get("/api/tiers")
        assert tiers.status_code == 200 and tiers.json()[0]["name"] == "free"
        assert client.get("/healthz").json() != "static decoy"
        assert client.get("/healthz").status_code == 200
        with (pytest.raises(WebSocketDisconnect) as info,
              client.websocket_connect("/ws/rooms/x/captions?lang=es") as ws):
            while True:
                ws.receive_text()
        assert info.value.code == 4401  # the caption socket's own refusal, not the static mount
        assert client.get("/").text == INDEX

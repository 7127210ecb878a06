"""Dependency outages (issue 8, D4): while PostgreSQL or Redis is down the HTTP API answers 503 in the
one error shape with Retry-After, and sockets close with 1013 naming the dependency (not 500 / 1011)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.websockets import WebSocketDisconnect
from tests.conftest import Accounts

from babelroom.db.session import Database
from babelroom.dev.devstack import free_port
from babelroom.gateway.app import create_app


def unavailable(dependency: str, surface: str) -> float:
    return REGISTRY.get_sample_value(
        "babelroom_dependency_unavailable_total", {"dependency": dependency, "surface": surface}) or 0.0


@pytest.fixture
def client(fragile_settings):
    with TestClient(create_app(fragile_settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def owner_and_room(client, database_url):
    owner = Accounts(client, database_url).create()
    room = client.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    return owner, room


def postgres_down(client: TestClient) -> None:
    """Point the gateway at a port where no PostgreSQL listens (as when the server is down)."""
    client.app.state.db = Database(f"postgresql+asyncpg://babelroom@127.0.0.1:{free_port()}/babelroom")


def assert_503(response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "dependency_unavailable" and body["dependency"] == dependency
    assert dependency in body["detail"].lower() or dependency == "postgres"
    assert int(response.headers["Retry-After"]) > 0


def test_postgres_outage_is_a_503_on_http_and_1013_on_sockets(client, owner_and_room):
    owner, room = owner_and_room
    before = unavailable("postgres", "http")
    postgres_down(client)
    assert_503(client.get("/api/me", headers=owner.headers), "postgres")
    assert_503(client.get(f"/api/rooms/{room}/transcript", headers=owner.headers), "postgres")
    assert_503(client.post(f"/api/rooms/{room}/heartbeat", headers=owner.headers), "postgres")
    assert_503(client.post("/api/auth/register", json={
        "email": "x@test.babelroom.local", "password": "password-123", "display_name": "X"}), "postgres")
    assert unavailable("postgres", "http") == before + 4
    url = f"/ws/rooms/{room}/captions?token={owner.token}&lang=en"
    with client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1013 and "postgres" in closed.value.reason.lower()


def test_redis_outage_is_a_503_on_http_and_1013_on_sockets(client, owner_and_room, private_redis):
    owner, room = owner_and_room
    with client.websocket_connect(f"/ws/rooms/{room}/audio?token={owner.token}") as ws:
        ws.send_json({"participant": "p", "language": "en", "sample_rate": 16000})
        assert ws.receive_json()["type"] == "ready"
        private_redis.stop()
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(200):
                ws.send_bytes(b"\x10\x00" * 16000)
                ws.receive_text()
    assert closed.value.code == 1013 and "redis" in closed.value.reason.lower()
    assert_503(client.post(f"/api/rooms/{room}/heartbeat", headers=owner.headers), "redis")
    assert unavailable("redis", "socket") >= 1

"""The gateway as ``babelroom gateway`` runs it, on real uvicorn: tokens in socket URLs stay out of the
access log (D8), and a frame over the app's limit reaches the app, which closes 1009 with a reason and
counts it (D11) instead of uvicorn closing first."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from tests.conftest import ROOT, register_instances

from babelroom.dev.devstack import free_port


@pytest.fixture
def served(db_settings, redis_url, tmp_path: Path):
    port = free_port()
    register_instances(redis_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "services"), "BABELROOM_REDIS_URL": redis_url,
           "BABELROOM_DATABASE_URL": db_settings.database_url or "", "BABELROOM_FRONTEND_DIR": "",
           "BABELROOM_DATABASE_MIGRATE_ON_START": "false", "BABELROOM_LOG_JSON": "true",
           "BABELROOM_STATE_DIR": str(tmp_path / "state"), "BABELROOM_MODELS_DIR": str(tmp_path / "models")}
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "gateway", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(log.read_text())
        yield base, log
    finally:
        process.terminate()
        process.wait(20)


def _room(base: str) -> tuple[str, str]:
    pair = httpx.post(f"{base}/api/auth/register", json={
        "email": "served@test.babelroom.local", "password": "password-123", "display_name": "S"}).json()
    token = pair["access_token"]
    room = httpx.post(f"{base}/api/rooms", json={"name": "r"},
                      headers={"Authorization": f"Bearer {token}"}).json()["id"]
    return room, token


def test_tokens_are_redacted_and_oversized_frames_are_the_apps_to_refuse(served):
    base, log = served
    room, token = _room(base)
    frame = b"\x00\x00" * 200_000  # 400 kB: over ingest_max_frame_bytes and the old ws_max_size (384 kB)

    async def stream() -> tuple[int, str]:
        url = base.replace("http", "ws") + f"/ws/rooms/{room}/audio?token={token}"
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send('{"participant": "x", "language": "en", "sample_rate": 16000}')
            assert '"ready"' in await ws.recv()
            await ws.send(frame)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            return info.value.rcvd.code, info.value.rcvd.reason

    code, reason = asyncio.run(stream())
    assert code == 1009 and reason.startswith("frame_too_large")
    metrics = httpx.get(f"{base}/metrics").text
    assert 'babelroom_ingest_rejected_total{reason="frame_too_large"} 1.0' in metrics
    httpx.get(f"{base}/healthz", params={"token": token})
    time.sleep(0.5)
    text = log.read_text()
    assert token not in text
    assert "token=[redacted]" in text

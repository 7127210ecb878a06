"""``babelroom tts`` as deployed: the real CLI in a subprocess becomes ready, speaks a final for an
audio listener, and stops on SIGTERM; production without the Kokoro model is refused with one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
from tests.conftest import ROOT
from tests.test_startup import STRONG, babelroom, one_line

from babelroom.bus.schemas import FinalRecord, SpeechAudio, Translation, now_ms
from babelroom.bus.streams import FINALS_STREAM, tts_stream
from babelroom.dev.devstack import free_port
from babelroom.startup import EX_CONFIG


def test_production_refuses_auto_without_kokoro(redis_url: str, tmp_path: Path) -> None:
    result = babelroom("tts", BABELROOM_ENVIRONMENT="production", BABELROOM_JWT_SECRET=STRONG,
                       BABELROOM_REDIS_URL=redis_url, BABELROOM_MODELS_DIR=str(tmp_path))
    assert result.returncode == EX_CONFIG, result.stderr[-2000:]
    line = one_line(result)
    assert str(tmp_path / "kokoro" / "kokoro-v1.0.int8.onnx") in line and "models install --offline" in line


def test_the_worker_speaks_a_final_for_an_audio_listener(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABELROOM_")}
    env.update(PYTHONPATH=str(ROOT / "services"), BABELROOM_REDIS_URL=redis_url, BABELROOM_TTS_BACKENDS="espeak",
               BABELROOM_TTS_METRICS_PORT=str(port), BABELROOM_MODELS_DIR=str(tmp_path))
    worker = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "tts"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = redis.Redis.from_url(redis_url)
    try:
        ready = False
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
            if ready:
                break
            time.sleep(0.1)
        assert ready
        client.zadd("room:r:audio_listeners", {"es|c1": time.time() + 30})
        final = FinalRecord(
            room="r", speaker="u1", speaker_name="Ana", language="en", segment_id="s1", seq=1, audio_start_ms=0,
            audio_end_ms=900, room_seq=1, text="Hello.", timings={"mt_end": now_ms()},
            translations={"es": Translation(language="es", text="Hola.", backend="apertium")},
        )
        client.xadd(FINALS_STREAM, final.to_fields())
        entries = []
        for _ in range(100):
            entries = client.xrange(tts_stream("r"))
            if entries:
                break
            time.sleep(0.1)
        [(_, fields)] = entries
        speech = SpeechAudio.from_fields(fields)
        assert (speech.segment_id, speech.translation.text, speech.tts_backend) == ("s1", "Hola.", "espeak")
        assert speech.audio[:4] == b"OggS"
        assert "babelroom_tts_synthesis_seconds_count" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
        client.close()

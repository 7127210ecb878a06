"""A real STT worker process (tiny.en) deletes the audio entries it handled: Redis keeps no PCM of
transcribed speech (it once grew by 5.6 MB per minute of speech until MAXLEN trimmed it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import redis

from babelroom.bus.schemas import SegmentAudio, Transcript
from babelroom.bus.streams import AUDIO_STREAM, STT_GROUP, TRANSCRIPT_STREAM
from babelroom.dev.devstack import free_port

SEGMENTS = 12
SECONDS = 2.0


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_handled_audio_is_deleted(redis_url, tmp_path: Path, link_model, clips):
    models = tmp_path / "models"
    link_model(models, "small")
    port = free_port()
    env = {**os.environ, "BABELROOM_REDIS_URL": redis_url, "BABELROOM_MODELS_DIR": str(models),
           "BABELROOM_STT_MODEL": "small", "BABELROOM_STT_METRICS_PORT": str(port), "BABELROOM_LOG_JSON": "false"}
    log_path = tmp_path / "stt.log"
    with log_path.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "stt"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 120
        while not ready(port):
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        # /readyz and Redis (what /api/languages shows) say which model serves which language
        served = httpx.get(f"http://127.0.0.1:{port}/readyz").json()["models"]
        assert served["en"] == served["es"] == served["auto"] == "small"
        assert client.hget("stt:models", "es") == b"small"
        speech = next(iter(clips.values())).audio[: int(16000 * SECONDS)]
        pcm = (np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes()
        for n in range(SEGMENTS):
            msg = SegmentAudio(room="r", speaker="a", speaker_name="A", language="en", segment_id=f"s{n}", seq=n + 1,
                               audio_start_ms=0, audio_end_ms=int(SECONDS * 1000), kind="final", revision=-1, pcm=pcm)
            client.xadd(AUDIO_STREAM, msg.to_fields())
        deadline = time.monotonic() + 120
        while sum(Transcript.from_fields(f).kind == "final" for _, f in client.xrange(TRANSCRIPT_STREAM)) < SEGMENTS:
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        time.sleep(0.2)  # the last batch's XACK+XDEL follows its publication
        assert client.xlen(AUDIO_STREAM) == 0
        assert client.memory_usage(AUDIO_STREAM) < len(pcm)  # not SEGMENTS × 64 KB of PCM
        (group,) = client.xinfo_groups(AUDIO_STREAM)
        assert (group["name"], group["pending"], group["lag"]) == (STT_GROUP.encode(), 0, 0)
    finally:
        worker.terminate()
        worker.wait(20)

"""The cloned voice end to end with a tiny random XTTS (built here, never downloaded): the real loading code on
the real checkpoint layout, then a premium speaker's final re-spoken by a real ``babelroom xtts`` Celery worker
and delivered to a listener's audio socket as ``cloned_audio_ready``, after the quick voice; with that worker
stopped, the quick voice goes on.

coqui-tts needs torch 2.9.1, so the XTTS side runs in ``.venv-xtts`` (``make xtts-venv``; ``make test`` builds
it): the model checks in a subprocess of that venv, the worker as that venv's ``babelroom xtts``. Random weights
speak noise: these tests check shapes, lengths, rates and the job path, not words.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from tests.api.test_voice_samples import encode, lj, upload
from tests.conftest import ROOT, Accounts, register_instances, run_sql

from babelroom.bus.schemas import FinalRecord, SpeechAudio, Translation, now_ms
from babelroom.bus.streams import FINALS_STREAM, tts_stream
from babelroom.config import Settings
from babelroom.dev.devstack import free_port
from babelroom.dev.xtts_tiny import MAX_AUDIO_TOKENS
from babelroom.gateway.app import create_app
from babelroom.tts.codec import decode_audio
from babelroom.voice.cloning import XTTS_QUEUE

XTTS_PYTHON = ROOT / ".venv-xtts" / "bin" / "python"
pytestmark = pytest.mark.skipif(
    not XTTS_PYTHON.exists(),
    reason=f"{XTTS_PYTHON.parent.parent} is missing: `make xtts-venv` (a prerequisite of `make test`) installs "
           "coqui-tts with its torch 2.9.1 stack there")
#: The longest speech the tiny model can make: its most audio tokens, 1,024 samples at 22.05 kHz each.
MAX_SPEECH_S = (MAX_AUDIO_TOKENS + 1) * 1024 / 22_050


def xtts_env(**settings: str) -> dict[str, str]:
    """A clean environment for this tree's code, with ``settings`` (BABELROOM_ names) on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABELROOM_")}
    return {**env, "PYTHONPATH": str(ROOT / "services"), "PYTHONUNBUFFERED": "1", **settings}


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``models_dir`` whose ``xtts-v2`` is the tiny random XTTS (seed 0)."""
    models = tmp_path_factory.mktemp("xtts-models")
    subprocess.run([str(XTTS_PYTHON), "-m", "babelroom.dev.xtts_tiny", str(models / "xtts-v2")], env=xtts_env(),
                   cwd=ROOT, check=True, timeout=300, capture_output=True)
    return models


MODEL_CHECK = """
import json, sys, time
from pathlib import Path
from babelroom.voice.xtts import XTTS_RATE, XttsError, XttsVoice
voice = XttsVoice(Path(sys.argv[1]) / "xtts-v2")
latents = voice.latents(Path(sys.argv[2]).read_bytes())
speech = voice.synthesize("Buenos días a todos.", "es", latents)
try:
    voice.synthesize("Hello.", "ja", latents)
    refused = ""
except XttsError as exc:
    refused = str(exc)
print(json.dumps({"rate": XTTS_RATE, "languages": voice.languages, "fingerprint": voice.fingerprint,
                  "gpt": latents.gpt_cond_latent.shape, "speaker": latents.speaker_embedding.shape,
                  "latents_dtype": str(latents.gpt_cond_latent.dtype), "shape": speech.samples.shape,
                  "dtype": str(speech.samples.dtype), "peak": float(abs(speech.samples).max()),
                  "compute_s": speech.compute_s, "refused": refused}))
"""


def test_the_tiny_random_xtts_loads_like_the_real_one_and_speaks_24khz(tiny_models_dir: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in (tiny_models_dir / "xtts-v2").iterdir()) == ["config.json", "model.pth", "vocab.json"]
    vocab = json.loads((tiny_models_dir / "xtts-v2" / "vocab.json").read_text())
    assert {"[STOP]", "[UNK]", "[SPACE]", "[START]", "[es]", "[pt]"} <= set(vocab["model"]["vocab"])
    sample = tmp_path / "sample.flac"
    sample.write_bytes(encode(lj(12.0), "flac"))
    started = time.monotonic()
    result = subprocess.run([str(XTTS_PYTHON), "-c", MODEL_CHECK, str(tiny_models_dir), str(sample)], env=xtts_env(),
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"tiny XTTS: load + latents + one sentence in {time.monotonic() - started:.1f} s (synthesis "
          f"{out['compute_s']:.2f} s)")
    assert out["rate"] == 24_000 and out["languages"] == ["en", "es", "pt", "de", "fr"]
    assert out["gpt"] == [1, 32, 128] and out["speaker"] == [1, 512, 1] and out["latents_dtype"] == "float32"
    assert out["dtype"] == "float32" and len(out["shape"]) == 1
    assert 0.2 <= out["shape"][0] / 24_000 <= MAX_SPEECH_S and out["peak"] > 0
    assert "does not speak 'ja'" in out["refused"]


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, log.read_text()[-4000:]
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url).status_code == 200:
                return
        assert time.monotonic() < deadline, log.read_text()[-4000:]
        time.sleep(0.2)


@contextlib.contextmanager
def service(argv: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[subprocess.Popen]:
    """A babelroom service in a subprocess, ready (``ready_url`` answers 200); stopped by SIGTERM after."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(ready_url, process, log)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def final(room: str, speaker: str, seq: int, es: str) -> FinalRecord:
    return FinalRecord(room=room, speaker=speaker, speaker_name="Ana", language="en", segment_id=f"s{seq}", seq=seq,
                       audio_start_ms=0, audio_end_ms=900, room_seq=seq, text="Good morning.",
                       timings={"segment_end": now_ms() - 900, "mt_end": now_ms()},
                       translations={"es": Translation(language="es", text=es, backend="apertium")})


def wait_cloned(bus: redis.Redis, room: str, segment_id: str, worker: subprocess.Popen, log: Path,
                timeout_s: float = 120) -> None:
    """Until the worker has published ``segment_id``'s cloned voice (so that reading the socket cannot hang)."""
    deadline = time.monotonic() + timeout_s
    while not any((e.segment_id, e.type) == (segment_id, "cloned_audio_ready")
                  for e in (SpeechAudio.from_fields(f) for _, f in bus.xrange(tts_stream(room)))):
        assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-4000:]
        time.sleep(0.1)


def xtts_counts(port: int) -> set[str]:
    """The worker's latents and jobs counters, as exposition lines."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return {m for m in text.splitlines() if m.startswith(("babelroom_xtts_latents_total", "babelroom_xtts_jobs_total"))}


def receive_speech(ws) -> tuple[dict, bytes]:
    header = ws.receive_json()
    assert header["type"] in ("speech", "cloned_audio_ready"), header
    return header, ws.receive_bytes()


def test_a_premium_speakers_final_is_respoken_in_the_cloned_voice_and_the_quick_voice_outlives_the_worker(
    db_settings: Settings, redis_url: str, database_url: str, tiny_models_dir: Path, tmp_path: Path,
) -> None:
    voice_dir = tmp_path / "voice-samples"
    # generous ages: a loaded 2-core machine must not turn this into a staleness test
    settings = db_settings.model_copy(update={"voice_sample_dir": voice_dir, "ws_speech_max_age_s": 120.0})
    common = dict(BABELROOM_REDIS_URL=redis_url, BABELROOM_DATABASE_URL=database_url,
                  BABELROOM_VOICE_SAMPLE_DIR=str(voice_dir), BABELROOM_MODELS_DIR=str(tiny_models_dir),
                  BABELROOM_WS_SPEECH_MAX_AGE_S="120", BABELROOM_XTTS_JOB_EXPIRES_S="120",
                  BABELROOM_STATE_DIR=str(tmp_path / "state"))
    tts_port, xtts_port = free_port(), free_port()
    tts_env = xtts_env(**common, BABELROOM_TTS_BACKENDS="espeak", BABELROOM_XTTS_ENABLED="true",
                       BABELROOM_TTS_METRICS_PORT=str(tts_port))
    worker_env = xtts_env(**common, BABELROOM_JOBS_METRICS_PORT=str(xtts_port), BABELROOM_INSTANCE_ID="xtts-test",
                          BABELROOM_XTTS_THREADS="1")
    bus = redis.Redis.from_url(redis_url)
    register_instances(redis_url)
    with TestClient(create_app(settings)) as client:
        users = Accounts(client, database_url)
        speaker, listener = users.create("premium"), users.create("free")
        made = upload(client, speaker, encode(lj(12.0)))
        assert made.status_code == 201, made.text
        # the one-speaker check's job (tests/voice/test_speaker_check_job.py) passed it
        run_sql(database_url, f"UPDATE voice_samples SET speaker_check = 'passed' WHERE id = '{made.json()['id']}'")
        room = client.post("/api/rooms", json={"name": "r"}, headers=speaker.headers).json()["id"]
        assert client.post(f"/api/rooms/{room}/join", json={}, headers=listener.headers).status_code == 200
        with service([sys.executable, "-m", "babelroom.cli", "tts"], tts_env, tmp_path / "tts.log",
                     f"http://127.0.0.1:{tts_port}/readyz"), \
                client.websocket_connect(f"/ws/rooms/{room}/captions?token={listener.token}&lang=es&audio=1") as ws:
            started = time.monotonic()
            with service([str(XTTS_PYTHON), "-m", "babelroom.cli", "xtts"], worker_env, tmp_path / "xtts.log",
                         f"http://127.0.0.1:{xtts_port}/healthz") as worker:
                print(f"xtts worker ready in {time.monotonic() - started:.1f} s")
                started = time.monotonic()
                bus.xadd(FINALS_STREAM, final(room, speaker.id, 1, "Buenos días a todos.").to_fields())
                quick, quick_audio = receive_speech(ws)
                assert (quick["type"], quick["segment_id"], quick["tts_backend"]) == ("speech", "s1", "espeak")
                wait_cloned(bus, room, "s1", worker, tmp_path / "xtts.log")
                cloned, cloned_audio = receive_speech(ws)
                print(f"cloned voice {time.monotonic() - started:.1f} s after the final")
                assert (cloned["type"], cloned["segment_id"], cloned["tts_backend"]) == ("cloned_audio_ready", "s1",
                                                                                        "xtts")
                assert cloned["voice"] == f"clone:{made.json()['id']}" and cloned["chunks"] == 1
                assert cloned["translation"] == {"language": "es", "text": "Buenos días a todos.",
                                                 "backend": "apertium"}
                assert cloned["audio_bytes"] == len(cloned_audio) and cloned_audio[:4] == b"OggS"
                samples, rate = decode_audio(cloned_audio)
                assert rate == cloned["sample_rate"] == 48_000
                assert 0.2 <= len(samples) / rate <= MAX_SPEECH_S + 0.1
                assert abs(len(samples) / rate * 1000 - cloned["duration_ms"]) < 100
                assert cloned["timings"]["mt_end"] <= cloned["timings"]["tts_start"] <= cloned["timings"]["tts_end"]
                # the speaker's latents are kept beside the sample: the next final reuses them
                (stored,) = voice_dir.rglob("*.xtts-*.npz")
                assert stored.name.startswith(made.json()["id"])
                bus.xadd(FINALS_STREAM, final(room, speaker.id, 2, "Empezamos ahora.").to_fields())
                wait_cloned(bus, room, "s2", worker, tmp_path / "xtts.log")
                assert [receive_speech(ws)[0]["type"] for _ in range(2)] == ["speech", "cloned_audio_ready"]
                wanted = {'babelroom_xtts_latents_total{result="miss"} 1.0',
                          'babelroom_xtts_latents_total{result="hit"} 1.0',
                          'babelroom_xtts_jobs_total{outcome="spoken"} 2.0'}  # counted once the job returns
                deadline = time.monotonic() + 10
                while not wanted <= (counted := xtts_counts(xtts_port)) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert wanted <= counted, counted
                worker.terminate()
                assert worker.wait(30) is not None

            # no xtts worker: the next final still gets the quick voice, and its clone job only waits
            bus.xadd(FINALS_STREAM, final(room, speaker.id, 3, "Tenemos tres preguntas.").to_fields())
            header, audio = receive_speech(ws)
            assert (header["type"], header["segment_id"]) == ("speech", "s3") and decode_audio(audio)[0].size
            deadline = time.monotonic() + 10
            while not bus.llen(XTTS_QUEUE) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert bus.llen(XTTS_QUEUE) == 1
            entries = [SpeechAudio.from_fields(f) for _, f in bus.xrange(tts_stream(room))]
            assert [(e.segment_id, e.type) for e in entries] == [
                ("s1", "speech"), ("s1", "cloned_audio_ready"), ("s2", "speech"), ("s2", "cloned_audio_ready"),
                ("s3", "speech")]

        # the user deletes their sample: its latents go with it
        assert client.delete(f"/api/voice-samples/{made.json()['id']}", headers=speaker.headers).status_code == 204
        assert not list(voice_dir.rglob("*.npz")) and not list(voice_dir.rglob("*.flac"))
    bus.close()

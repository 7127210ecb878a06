"""Register, log in, refresh (with reuse detection), log out; tokens refused by the API."""

import time
import uuid

from tests.conftest import run_sql

from babelroom.auth.tokens import issue
from babelroom.config import Settings

REG = {"email": "Ana@Example.org", "password": "correct horse", "display_name": "Ana"}


def test_register_login_me(gateway):
    r = gateway.post("/api/auth/register", json=REG)
    assert r.status_code == 201 and r.json()["token_type"] == "bearer"
    assert gateway.post("/api/auth/register", json={**REG, "email": "ana@example.org"}).status_code == 409
    bad = gateway.post("/api/auth/login", json={"email": "ana@example.org", "password": "wrong one"})
    assert bad.status_code == 401 and bad.json() == {"error": "unauthorized", "detail": "wrong e-mail or password"}
    pair = gateway.post("/api/auth/login", json={"email": "ANA@example.org", "password": "correct horse"}).json()
    me = gateway.get("/api/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).json()
    assert me["user"]["email"] == "ana@example.org" and me["user"]["role"] == "user"
    assert me["effective"]["tier"] == "free" and me["effective"]["limits"]["participants_per_room"] == 6


def test_refresh_rotates_and_a_reused_refresh_token_revokes_every_session(gateway):
    first = gateway.post("/api/auth/register", json=REG).json()
    other = gateway.post("/api/auth/login", json={"email": REG["email"], "password": REG["password"]}).json()
    second = gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    reused = gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and "reused" in reused.json()["detail"]
    for pair in (second.json(), other):  # the theft response revoked the other sessions too
        assert gateway.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_logout_revokes_the_refresh_token(gateway):
    pair = gateway.post("/api/auth/register", json=REG).json()
    assert gateway.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert gateway.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_expired_tampered_and_foreign_tokens_get_401(gateway, db_settings: Settings):
    user = uuid.UUID(gateway.post("/api/auth/register", json=REG).json()["user_id"])
    expired, _ = issue(db_settings, user, "user", "access", now=time.time() - db_settings.jwt_access_ttl_s - 5)
    foreign, _ = issue(db_settings.model_copy(update={"jwt_secret": "not the key"}), user, "admin", "access")
    refresh, _ = issue(db_settings, user, "user", "refresh")
    good, _ = issue(db_settings, user, "user", "access")
    tampered = good[:-2] + ("xx" if not good.endswith("xx") else "yy")
    for token, detail in ((expired, "token expired"), (foreign, "invalid token"), (tampered, "invalid token"),
                          (refresh, "wrong token type"), ("garbage", "not a JWT")):
        r = gateway.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["detail"].startswith(detail), (detail, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert gateway.get("/api/me").json()["detail"] == "sign in: no bearer token"
    assert gateway.get("/api/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_refresh_after_logout_is_session_ended_and_leaves_other_sessions_alone(gateway, database_url):
    """D10: a refresh after logout used to be treated as theft and ended every session of the account."""
    pair = gateway.post("/api/auth/register", json=REG).json()
    other = gateway.post("/api/auth/login", json={"email": REG["email"], "password": REG["password"]}).json()
    assert gateway.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    again = gateway.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401 and again.json()["error"] == "session_ended", again.text
    assert "logout" in again.json()["detail"]
    assert gateway.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200
    reasons = run_sql(database_url, "SELECT end_reason, count(*) AS n FROM auth_sessions GROUP BY 1 ORDER BY 1")
    assert reasons == [{"end_reason": "logout", "n": 1}, {"end_reason": "rotated", "n": 1},
                       {"end_reason": None, "n": 1}]


def test_reuse_of_a_rotated_token_records_why_each_session_ended(gateway, database_url):
    first = gateway.post("/api/auth/register", json=REG).json()
    gateway.post("/api/auth/login", json={"email": REG["email"], "password": REG["password"]})
    assert gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 200
    reused = gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["error"] == "unauthorized"
    reasons = run_sql(database_url, "SELECT end_reason, count(*) AS n FROM auth_sessions GROUP BY 1 ORDER BY 1")
    assert reasons == [{"end_reason": "reuse_detected", "n": 2}, {"end_reason": "rotated", "n": 1}]

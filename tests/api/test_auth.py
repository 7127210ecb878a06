"""Register, log in, refresh (with reuse detection), log out; tokens refused by the API."""

import time
import uuid

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

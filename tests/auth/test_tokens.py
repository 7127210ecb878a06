"""Tokens and passwords: expiry, tampering, key rotation by kid, and argon2 hashes."""

import base64
import json
import time
import uuid

import pytest
from jose import jwt

from babelroom.auth.passwords import hash_password, verify_password
from babelroom.auth.tokens import TokenError, issue, signing_keys, verify
from babelroom.config import Settings

USER = uuid.uuid4()


def settings(**kw) -> Settings:
    return Settings(jwt_secret="s" * 32, jwt_kid="k2", **kw)


def reason(token: str, s: Settings, kind="access") -> str:
    with pytest.raises(TokenError) as info:
        verify(s, token, kind)
    return info.value.reason


def test_a_fresh_token_verifies_with_its_claims():
    s = settings()
    token, claims = issue(s, USER, "admin", "access")
    assert jwt.get_unverified_header(token)["kid"] == "k2"
    got = verify(s, token)
    assert (got.user_id, got.role, got.type, got.jti) == (USER, "admin", "access", claims.jti)
    assert got.expires_at == pytest.approx(time.time() + s.jwt_access_ttl_s, abs=2)


def test_expired_token_is_refused():
    s = settings(jwt_access_ttl_s=60)
    token, _ = issue(s, USER, "user", "access", now=time.time() - 61)
    assert reason(token, s) == "expired"


def _tamper(token: str, **claims) -> str:
    head, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


def test_tampered_claims_or_signature_are_refused():
    s = settings()
    token, _ = issue(s, USER, "user", "access")
    assert reason(_tamper(token, role="admin"), s) == "bad_signature"
    assert reason(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), s) == "bad_signature"
    other, _ = issue(Settings(jwt_secret="x" * 32, jwt_kid="k2"), USER, "admin", "access")
    assert reason(other, s) == "bad_signature"  # right kid, wrong key
    assert reason("not.a.jwt", s) == "malformed"
    assert reason("", s) == "missing"


def test_refresh_and_access_tokens_are_not_interchangeable():
    s = settings()
    refresh, _ = issue(s, USER, "user", "refresh")
    assert reason(refresh, s, "access") == "wrong_type"
    assert verify(s, refresh, "refresh").type == "refresh"


def test_rotation_verifies_retired_keys_by_kid_and_signs_with_the_current_one():
    old = Settings(jwt_secret="old" * 11, jwt_kid="k1")
    old_token, _ = issue(old, USER, "user", "access")
    rotated = Settings(jwt_secret="new" * 11, jwt_kid="k2", jwt_retired_keys="k1:" + "old" * 11)
    assert set(signing_keys(rotated)) == {"k1", "k2"}
    assert verify(rotated, old_token).user_id == USER
    new_token, _ = issue(rotated, USER, "user", "access")
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    retired_dropped = Settings(jwt_secret="new" * 11, jwt_kid="k2")
    assert reason(old_token, retired_dropped) == "unknown_key"
    with pytest.raises(ValueError):
        signing_keys(Settings(jwt_retired_keys="no-colon"))


def test_passwords_are_argon2id_and_salted():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a.startswith("$argon2id$") and a != b
    assert verify_password("correct horse", a) and not verify_password("wrong", a)
    assert not verify_password("anything", None)


def _forge(s: Settings, lifetime_s: float, token_type: str = "access", **drop: bool) -> str:
    """A token signed with ``s``'s key, as an attacker holding the key would write it (D9)."""
    now = int(time.time())
    claims = {"sub": str(USER), "role": "admin", "typ": token_type, "jti": str(uuid.uuid4()), "iss": "babelroom",
              "iat": now, "exp": now + int(lifetime_s)}
    for name in drop:
        claims.pop(name)
    return jwt.encode(claims, s.jwt_secret, algorithm="HS256", headers={"kid": s.jwt_kid})


def test_a_token_living_longer_than_the_configured_ttl_is_refused():
    """D9: a ten-year admin token signed with the (default) key used to be accepted."""
    s = Settings()  # the development default key, as the defect report forged it
    assert reason(_forge(s, 10 * 365 * 86400), s) == "lifetime_too_long"
    assert reason(_forge(s, s.jwt_refresh_ttl_s + 1, "refresh"), s, "refresh") == "lifetime_too_long"
    assert reason(_forge(s, 60, iat=True), s) == "bad_signature"  # no iat: lifetime unknowable
    assert verify(s, _forge(s, s.jwt_access_ttl_s)).role == "admin"  # exactly the TTL: what issue() makes

"""JWT access and refresh tokens (python-jose, HS256) with rotatable signing keys.

Every token names its key in the ``kid`` header. Tokens are signed with the current key
(``jwt_secret``, id ``jwt_kid``) and verified with whichever configured key their ``kid`` names: the
current one or one of ``jwt_retired_keys``. To rotate: move the current key into ``jwt_retired_keys``,
set a new ``jwt_secret`` and ``jwt_kid``; once the longest token lifetime has passed, drop the retired
key (tokens signed with it then fail as ``unknown_key``).

Claims: ``sub`` (user id), ``typ`` (``access`` | ``refresh``), ``role``, ``iat``, ``exp`` (Unix s),
``jti`` (unique; for refresh tokens the ``auth_sessions`` row), ``iss`` = ``babelroom``.

A token whose lifetime (``exp`` - ``iat``) exceeds the configured TTL of its type is refused, whatever
its signature: we never issue one, so it was forged with a leaked or default key (D9: a ten-year token
signed with the development key worked). Shortening a TTL thus also cuts off tokens issued before.

Source: RFC 7519 (JWT), RFC 7515 §4.1.4 (``kid``), https://python-jose.readthedocs.io/
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from jose import ExpiredSignatureError, JWTError, jwt

from babelroom.config import Settings

ALGORITHM = "HS256"
ISSUER = "babelroom"
TokenType = Literal["access", "refresh"]


class TokenError(Exception):
    """A token was refused; ``reason`` is one of ``missing``, ``malformed``, ``unknown_key``,
    ``bad_signature``, ``expired``, ``wrong_type``, ``lifetime_too_long``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    user_id: uuid.UUID
    role: str
    type: TokenType
    jti: uuid.UUID
    expires_at: float


def signing_keys(settings: Settings) -> dict[str, str]:
    """``kid`` → secret of every key accepted for verification (the current one last, so it wins).

    Raises:
        ValueError: ``jwt_retired_keys`` is not ``kid:secret[,kid:secret…]``.
    """
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in settings.jwt_retired_keys.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ValueError("jwt_retired_keys must be 'kid:secret,kid:secret'")
        keys[kid] = secret
    keys[settings.jwt_kid] = settings.jwt_secret
    return keys


def lifetime_s(settings: Settings, token_type: TokenType) -> int:
    """The configured lifetime of a ``token_type`` token (s)."""
    return settings.jwt_access_ttl_s if token_type == "access" else settings.jwt_refresh_ttl_s


def issue(settings: Settings, user_id: uuid.UUID, role: str, token_type: TokenType,
          jti: uuid.UUID | None = None, now: float | None = None) -> tuple[str, Claims]:
    """Sign a token of ``token_type`` for ``user_id`` with the current key."""
    now = time.time() if now is None else now
    ttl = lifetime_s(settings, token_type)
    claims = Claims(user_id, role, token_type, jti or uuid.uuid4(), now + ttl)
    token = jwt.encode(
        {"sub": str(user_id), "role": role, "typ": token_type, "jti": str(claims.jti), "iss": ISSUER,
         "iat": int(now), "exp": int(claims.expires_at)},
        settings.jwt_secret,
        algorithm=ALGORITHM,
        headers={"kid": settings.jwt_kid},
    )
    return token, claims


def verify(settings: Settings, token: str | None, token_type: TokenType = "access") -> Claims:
    """Check ``token``'s key, signature, expiry, issuer, type and lifetime.

    Raises:
        TokenError: the token is missing, malformed, signed with an unknown key or wrongly, expired,
            of the other type, or valid for longer than ``jwt_access_ttl_s`` / ``jwt_refresh_ttl_s``.
    """
    if not token:
        raise TokenError("missing", "no token")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except JWTError as exc:
        raise TokenError("malformed", "not a JWT") from exc
    key = signing_keys(settings).get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError("unknown_key", f"unknown signing key {kid!r}")
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require_exp": True, "require_iat": True, "require_sub": True,
                                      "require_jti": True})
    except ExpiredSignatureError as exc:
        raise TokenError("expired", "token expired") from exc
    except JWTError as exc:
        raise TokenError("bad_signature", f"invalid token: {exc}") from exc
    if payload.get("typ") != token_type:
        raise TokenError("wrong_type", f"wrong token type: {token_type} token needed")
    ttl = lifetime_s(settings, token_type)
    try:
        lifetime = float(payload["exp"]) - float(payload["iat"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("malformed", "bad claims") from exc
    if lifetime > ttl:
        raise TokenError("lifetime_too_long", f"token lifetime {lifetime:.0f} s exceeds the {ttl} s allowed")
    try:
        return Claims(uuid.UUID(payload["sub"]), str(payload.get("role", "user")), token_type,
                      uuid.UUID(payload["jti"]), float(payload["exp"]))
    except (KeyError, ValueError) as exc:
        raise TokenError("malformed", "bad claims") from exc

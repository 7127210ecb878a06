"""Accounts: register, log in, refresh, log out (``/api/auth``).

An access token (``jwt_access_ttl_s``) authorises API calls and sockets; a refresh token
(``jwt_refresh_ttl_s``) is an ``auth_sessions`` row and buys a new pair once: refreshing ends it as
``rotated``, and presenting a rotated one again ends every session of the account (a replayed, stolen
token). A token whose session ended otherwise (logout, expiry) gets 401 ``session_ended`` and nothing
else happens (:mod:`babelroom.auth.sessions`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.api.deps import db_session, rate_limit, settings_of
from babelroom.api.errors import ApiError, responses
from babelroom.auth.passwords import hash_password, verify_password
from babelroom.auth.sessions import SessionEnd, end, end_all, is_replay
from babelroom.auth.tokens import TokenError, issue, verify
from babelroom.db.models import AuthSession, User

router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(rate_limit)],
                   responses=responses(400, 429))

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"


class Register(BaseModel):
    """A new account (tier free, role user)."""

    email: str = Field(pattern=EMAIL_PATTERN, max_length=320, examples=["ana@example.org"])
    password: str = Field(min_length=8, max_length=128, examples=["correct horse battery"])
    display_name: str = Field(min_length=1, max_length=128, examples=["Ana"])


class Login(BaseModel):
    email: str = Field(max_length=320, examples=["ana@example.org"])
    password: str = Field(max_length=128, examples=["correct horse battery"])


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=4096)


class TokenPair(BaseModel):
    """Tokens for ``Authorization: Bearer`` (access) and for /api/auth/refresh (refresh)."""

    access_token: str
    refresh_token: str
    token_type: str = Field("bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds the access token is valid", examples=[900])
    user_id: uuid.UUID


async def _pair(request: Request, session: AsyncSession, user: User) -> TokenPair:
    settings = settings_of(request)
    refresh, claims = issue(settings, user.id, user.role, "refresh")
    session.add(AuthSession(
        id=claims.jti, user_id=user.id, expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        client_ip=request.client.host if request.client else None,
    ))
    await session.commit()
    access, _ = issue(settings, user.id, user.role, "access")
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.jwt_access_ttl_s,
                     user_id=user.id)


@router.post("/register", status_code=201, response_model=TokenPair, responses=responses(409))
async def register(body: Register, request: Request, session: AsyncSession = Depends(db_session)) -> TokenPair:
    """Create an account and sign it in."""
    user = User(id=uuid.uuid4(), email=body.email.lower(), password_hash=hash_password(body.password),
                display_name=body.display_name)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "this e-mail is already registered") from exc
    await session.refresh(user)
    return await _pair(request, session, user)


@router.post("/login", response_model=TokenPair, responses=responses(401))
async def login(body: Login, request: Request, session: AsyncSession = Depends(db_session)) -> TokenPair:
    """Exchange e-mail and password for a token pair."""
    user = (await session.execute(select(User).where(User.email == body.email.lower()))).scalars().first()
    if not verify_password(body.password, user.password_hash if user else None) or user is None or user.disabled:
        raise ApiError(401, "unauthorized", "wrong e-mail or password")
    return await _pair(request, session, user)


async def _session_of(request: Request, session: AsyncSession, token: str) -> AuthSession:
    try:
        claims = verify(settings_of(request), token, "refresh")
    except TokenError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from exc
    row = await session.get(AuthSession, claims.jti, with_for_update=True)
    if row is None:
        raise ApiError(401, "unauthorized", "unknown session")
    return row


@router.post("/refresh", response_model=TokenPair, responses=responses(401))
async def refresh(body: RefreshRequest, request: Request, session: AsyncSession = Depends(db_session)) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working. 401 ``session_ended``:
    the session was logged out or has expired; 401 ``unauthorized``: a reused (rotated) token, and every
    session of the account has been ended."""
    row = await _session_of(request, session, body.refresh_token)
    now = datetime.now(UTC)
    if row.revoked_at is None and row.expires_at <= now:
        end(row, SessionEnd.EXPIRED, now)
        await session.commit()
    if row.revoked_at is not None:
        if is_replay(row):
            await end_all(session, row.user_id, SessionEnd.REUSE_DETECTED, now)
            await session.commit()
            raise ApiError(401, "unauthorized", "refresh token reused: every session of this account is revoked")
        raise ApiError(401, "session_ended", f"this session has ended ({row.end_reason}): sign in again")
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        raise ApiError(401, "unauthorized", "the account is gone or disabled")
    end(row, SessionEnd.ROTATED, now)  # committed with the successor, while the row is still locked
    pair = await _pair(request, session, user)
    row.replaced_by = verify(settings_of(request), pair.refresh_token, "refresh").jti
    await session.commit()
    return pair


@router.post("/logout", status_code=204, response_class=Response, responses=responses(401))
async def logout(body: RefreshRequest, request: Request, session: AsyncSession = Depends(db_session)) -> Response:
    """End a refresh token's session (access tokens run out by themselves); an ended one stays as it was."""
    row = await _session_of(request, session, body.refresh_token)
    end(row, SessionEnd.LOGOUT, datetime.now(UTC))
    await session.commit()
    return Response(status_code=204)

"""Dependencies of the API routes: the database session, who is calling, and the rate limit.

``Authorization: Bearer <access token>`` identifies the caller. Every ``/api`` route counts against the
rate limits (:mod:`babelroom.api.ratelimit`) before it runs, even with a bad token, and the
``RateLimit-*`` headers of that check go on whatever the route answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom import metrics
from babelroom.api.errors import ApiError, resets_in
from babelroom.api.ratelimit import Window
from babelroom.auth.tokens import TokenError, verify
from babelroom.config import Settings
from babelroom.db.models import Tier, User
from babelroom.db.session import Database
from babelroom.tiers import LimitExceeded, Limits, effective_limits

bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login or /api/auth/refresh")


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for this request; rolled back if the route did not commit."""
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


@dataclass(frozen=True)
class Caller:
    """Who sent the request: a user, nobody, or someone with a refused token."""

    user: User | None
    token_error: TokenError | None
    ip: str


async def caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    session: AsyncSession = Depends(db_session),
) -> Caller:
    """Identify the caller; never raises (see :func:`current_user`)."""
    ip = request.client.host if request.client else "unknown"
    if credentials is None:
        return Caller(None, None, ip)
    try:
        claims = verify(settings_of(request), credentials.credentials, "access")
    except TokenError as exc:
        return Caller(None, exc, ip)
    user = await session.get(User, claims.user_id)
    if user is None or user.disabled:
        return Caller(None, TokenError("unknown_user", "the account is gone or disabled"), ip)
    return Caller(user, None, ip)


async def rate_limit(request: Request, who: Caller = Depends(caller),
                     session: AsyncSession = Depends(db_session)) -> None:
    """Count the request in the caller's windows; 429 when one is exhausted.

    Raises:
        LimitExceeded: status 429, naming ``requests_per_hour`` (the account's or, anonymous, the
            free tier's) or ``ip_requests_per_hour``.
    """
    settings = settings_of(request)
    windows = [Window(f"rl:ip:{who.ip}", settings.rate_limit_ip_per_hour, "ip")]
    if who.user is not None:
        limits = effective_limits(who.user)
        tier, scope = limits.tier, "user"
        per_hour = limits.requests_per_hour
        key = f"rl:user:{who.user.id}"
    else:
        tier, scope = "anonymous", "anonymous"
        per_hour = (await session.execute(select(Tier.requests_per_hour).where(Tier.name == "free"))).scalar()
        key = f"rl:anon:{who.ip}"
    if per_hour is not None:
        windows.append(Window(key, per_hour, scope))
    verdict = await request.app.state.rate_limiter.hit(windows)
    request.state.rate_limit_headers = verdict.headers()
    refusing = verdict.refusing()
    if refusing is not None:
        metrics.RATE_LIMITED.labels(refusing.window.scope).inc()
        name = "ip_requests_per_hour" if refusing.window.scope == "ip" else "requests_per_hour"
        raise LimitExceeded(
            name, refusing.window.limit, tier, status=429, current=refusing.window.limit,
            resets_at=resets_in(refusing.reset_s), retry_after_s=refusing.reset_s,
            reset_hint="sliding one-hour window: a request leaves it an hour after it was made",
            detail=f"{refusing.window.limit} requests per hour ({refusing.window.scope}) used up",
        )


async def current_user(who: Caller = Depends(caller)) -> User:
    """The signed-in user.

    Raises:
        ApiError: 401 with ``WWW-Authenticate`` when the token is missing, invalid or expired.
    """
    if who.user is None:
        detail = "sign in: no bearer token" if who.token_error is None else str(who.token_error)
        raise ApiError(401, "unauthorized", detail,
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return who.user


async def admin_user(user: User = Depends(current_user)) -> User:
    """The signed-in user, who must be an admin (else 403)."""
    if user.role != "admin":
        raise ApiError(403, "forbidden", "admins only")
    return user


def limits_of(user: User = Depends(current_user)) -> Limits:
    """The signed-in user's effective limits."""
    return effective_limits(user)

"""The life of a refresh-token session (an ``auth_sessions`` row): how it ends, and what presenting an
ended one means.

A session ends as ``rotated`` when its refresh token buys a new pair, ``logout`` when its holder signs
out, ``reuse_detected`` when a rotated token of the same account is replayed (every live session of the
account ends so: the token was stolen, and either the thief or the owner holds a successor),
``revoked`` by an administrator or a pre-0002 row, ``expired`` when presented past its lifetime.

Only a replayed *rotated* token is theft. A refresh after logout (a second tab, a retry) is a plain
``session_ended`` refusal that leaves the account's other sessions alone (D10).

Source: OAuth 2.0 Security BCP (RFC 9700) §4.14.2, refresh token rotation and reuse detection.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from babelroom.db.models import AuthSession


class SessionEnd(StrEnum):
    """``auth_sessions.end_reason``."""

    LOGOUT = "logout"
    ROTATED = "rotated"
    REUSE_DETECTED = "reuse_detected"
    REVOKED = "revoked"
    EXPIRED = "expired"


def end(row: AuthSession, reason: SessionEnd, now: datetime) -> None:
    """End ``row`` for ``reason`` (not committed; a no-op if it has already ended: the first reason stays)."""
    if row.revoked_at is None:
        row.revoked_at, row.end_reason = now, reason.value


def is_replay(row: AuthSession) -> bool:
    """Whether presenting ``row``'s (ended) token is a replay of a rotated token: theft."""
    return row.end_reason == SessionEnd.ROTATED


async def end_all(session: AsyncSession, user_id: uuid.UUID, reason: SessionEnd, now: datetime) -> None:
    """End every live session of ``user_id`` for ``reason`` (not committed)."""
    await session.execute(update(AuthSession)
                          .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                          .values(revoked_at=now, end_reason=reason.value))

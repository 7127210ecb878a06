"""Account changes outside the API (the CLI's ``set-user``, which makes the first admin)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, update

from babelroom.config import Settings
from babelroom.db.models import User
from babelroom.db.session import Database


async def update_user(settings: Settings, email: str, *, role: str | None = None, tier: str | None = None) -> bool:
    """Set the role and/or tier of the account ``email``; False when there is no such account.

    Raises:
        sqlalchemy.exc.IntegrityError: ``tier`` is not a tier.
    """
    values = {k: v for k, v in (("role", role), ("tier_name", tier)) if v is not None}
    db = Database.from_settings(settings)
    try:
        async with db.session() as session:
            result = cast(CursorResult[Any], await session.execute(
                update(User).where(User.email == email.lower()).values(**values)))
            await session.commit()
            return result.rowcount > 0
    finally:
        await db.close()

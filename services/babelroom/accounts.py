"""The names an account's role and tier take, as enums (the CLI's choices).

``TierName`` lists the tiers the first migration seeds (``db/migrations/versions/0001_initial.py``);
tiers are rows of the ``tiers`` table, and administrators change their limits, not their names.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """``users.role``: an admin may use ``/api/admin``."""

    USER = "user"
    ADMIN = "admin"


class TierName(StrEnum):
    """``tiers.name``, cheapest first."""

    FREE = "free"
    PREMIUM = "premium"
    PRO = "pro"
    ENTERPRISE = "enterprise"

"""Tier limits and feature flags as data: what one user may do, and the error when they may not.

A user's effective limits are their tier's row in ``tiers``, overridden key by key by their
organisation's ``limit_overrides`` and then by their own (enterprise terms are set that way; an
override of ``null`` means unlimited). Features come from the tier (``tiers.features``).

Every refusal is a :class:`LimitExceeded`: the API turns it into a 403 (a quota) or 429 (a rate)
whose JSON body names the limit, its value, the tier and when it resets (see ``api/errors.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babelroom import metrics
from babelroom.db.models import FEATURE_NAMES, LIMIT_NAMES, Tier, User


@dataclass(frozen=True)
class Limits:
    """A user's effective limits (None = unlimited) and feature flags."""

    tier: str
    room_minutes: int | None
    participants_per_room: int | None
    concurrent_rooms: int | None
    history_days: int | None
    requests_per_hour: int | None
    voice_samples: int | None
    vocabulary_terms: int | None
    features: dict[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int | None]:
        """Just the numeric limits, by name."""
        return {name: getattr(self, name) for name in LIMIT_NAMES}


def tier_limits(tier: Tier, *overrides: dict[str, Any] | None) -> Limits:
    """``tier``'s limits with each mapping of ``overrides`` applied in turn (unknown keys ignored)."""
    values: dict[str, int | None] = {name: getattr(tier, name) for name in LIMIT_NAMES}
    for override in overrides:
        for name, value in (override or {}).items():
            if name in values:
                values[name] = None if value is None else int(value)
    features = {name: bool((tier.features or {}).get(name, False)) for name in FEATURE_NAMES}
    return Limits(tier=tier.name, features=features, **values)


def effective_limits(user: User) -> Limits:
    """The limits ``user`` runs under (needs ``user.tier`` and ``user.organisation`` loaded)."""
    org = user.organisation.limit_overrides if user.organisation is not None else None
    return tier_limits(user.tier, org, user.limit_overrides)


class LimitExceeded(Exception):
    """A tier limit refused a request.

    Args:
        limit: the limit's name (``participants_per_room`` …, or ``feature:<name>``).
        allowed: its value for this user (None for a feature that is off).
        tier: the user's tier.
        status: 403 for quotas and features, 429 for the request rate.
        current: how much is in use, when that is meaningful.
        resets_at: when the limit frees up, if a time is known.
        reset_hint: in words, what frees it up.
        retry_after_s: for 429, seconds until a request would pass.
    """

    def __init__(self, limit: str, allowed: int | None, tier: str, *, status: int = 403,
                 current: int | None = None, resets_at: datetime | None = None, reset_hint: str = "",
                 retry_after_s: int | None = None, detail: str = "") -> None:
        super().__init__(detail or f"{tier} tier limit reached: {limit}")
        self.limit, self.allowed, self.tier, self.status = limit, allowed, tier, status
        self.current, self.resets_at, self.reset_hint = current, resets_at, reset_hint
        self.retry_after_s, self.detail = retry_after_s, str(self)
        metrics.TIER_LIMIT_HITS.labels(limit).inc()


def check_quota(limits: Limits, limit: str, used: int, *, adding: int = 1, resets_at: datetime | None = None,
                reset_hint: str = "", what: str = "") -> None:
    """Raise a 403 :class:`LimitExceeded` when ``used + adding`` would pass ``limits.<limit>``."""
    allowed = getattr(limits, limit)
    if allowed is not None and used + adding > allowed:
        raise LimitExceeded(
            limit, allowed, limits.tier, current=used, resets_at=resets_at, reset_hint=reset_hint,
            detail=f"the {limits.tier} tier allows {allowed} {what or limit.replace('_', ' ')}",
        )


def require_feature(limits: Limits, feature: str) -> None:
    """Raise a 403 :class:`LimitExceeded` unless ``feature`` is on for the user's tier."""
    if not limits.features.get(feature, False):
        raise LimitExceeded(
            f"feature:{feature}", None, limits.tier, reset_hint="upgrade the tier",
            detail=f"{feature.replace('_', ' ')} is not part of the {limits.tier} tier",
        )

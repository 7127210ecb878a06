"""What the room manager refuses, as domain errors: the HTTP API (:mod:`babelroom.api.errors`) maps
them to status codes and error bodies, the manager knows nothing of HTTP.

A full pool is :class:`babelroom.capacity.NoCapacity` (raised with ``retry_after_s`` by the manager);
a tier limit is :class:`babelroom.tiers.LimitExceeded`.
"""

from __future__ import annotations


class RoomError(Exception):
    """Base of the room manager's refusals; ``str()`` is the detail for people."""


class RoomNotFound(RoomError):
    """There is no room with that id (the API answers 404 ``not_found``)."""

    def __init__(self) -> None:
        super().__init__("no such room")


class RoomClosed(RoomError):
    """The room is closed (the API answers 409 ``room_closed``).

    Args:
        reason: why it closed: ``closed`` (owner or admin), ``expired``, ``empty``.
    """

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"the room is closed ({reason})")
        self.reason = reason


class NotAdmitted(RoomError):
    """The user is not a present participant of the room (the API answers 403 ``not_admitted``)."""

    def __init__(self, detail: str = "you are not in this room") -> None:
        super().__init__(detail)

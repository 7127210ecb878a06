"""Time-limited TURN credentials for the browsers in a call (the TURN REST API of
draft-uberti-behave-turn-rest-00, which coturn implements as ``use-auth-secret``).

The username is ``"{expiry}:{user}"`` (``expiry``: Unix time in s) and the password is
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password from the same secret
(``static-auth-secret``) and refuses the username once ``expiry`` has passed, so nothing is stored and a
leaked credential lapses by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from babelroom.config import Settings


@dataclass(frozen=True)
class IceServer:
    """One entry of RTCPeerConnection's ``iceServers`` (username/credential only for TURN)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


def turn_credentials(secret: str, user: str, ttl_s: int, now: float) -> tuple[str, str]:
    """``(username, password)`` valid for ``ttl_s`` seconds from ``now`` (Unix time, s) for ``user``."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user: str, now: float | None = None) -> list[IceServer]:
    """The STUN/TURN servers for ``user``'s browser: ``settings.turn_urls`` with fresh credentials when
    ``turn_secret`` is set; none when ``turn_urls`` is empty (the browser then gathers host and
    server-reflexive candidates only)."""
    if not settings.turn_urls:
        return []
    if settings.turn_secret is None:
        return [IceServer(urls=list(settings.turn_urls))]
    username, password = turn_credentials(settings.turn_secret, user, settings.turn_credential_ttl_s,
                                          time.time() if now is None else now)
    return [IceServer(urls=list(settings.turn_urls), username=username, credential=password)]

"""Password hashing with Argon2id (pwdlib's recommended parameters: RFC 9106's second choice).

Source: https://frankie567.github.io/pwdlib/
"""

from __future__ import annotations

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
#: Verified against when the e-mail is unknown, so that a login takes as long either way.
_DUMMY = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    """An Argon2id PHC string (``$argon2id$v=19$m=…``) of ``password``, salted."""
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; with ``stored`` None, spends the same time and says no."""
    if stored is None:
        _hasher.verify(password, _DUMMY)
        return False
    return _hasher.verify(password, stored)

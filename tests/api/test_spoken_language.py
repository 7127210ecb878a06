"""``spoken_language`` of the join and create requests: an ISO 639 code, or ``auto`` (language ID)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from babelroom.api.rooms import CreateRoom, JoinRoom


@pytest.mark.parametrize("value", ["en", "es", "auto"])
def test_spoken_language_accepts_codes_and_auto(value):
    assert JoinRoom(spoken_language=value).spoken_language == value
    assert CreateRoom(name="Call", spoken_language=value).spoken_language == value


@pytest.mark.parametrize("value", ["Spanish!", "AUTO", "automatic", ""])
def test_spoken_language_refuses_the_rest(value):
    with pytest.raises(ValidationError):
        JoinRoom(spoken_language=value)

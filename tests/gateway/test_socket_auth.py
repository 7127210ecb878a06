"""Who may open a room's audio and caption sockets: 4401 for a bad token, 4403 for someone not
admitted, the ``bearer`` subprotocol as an alternative to ``?token=``, and sockets closed when their
user leaves (4403) or the room closes (4410)."""

import json
import time
import uuid

import pytest
from starlette.websockets import WebSocketDisconnect

from babelroom.auth.tokens import issue

ENDPOINTS = ("audio", "captions?lang=es")


def closed(ws) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info:
        while True:
            ws.receive_text()
    return info.value


@pytest.fixture
def room(gateway, accounts):
    owner = accounts.create()
    room_id = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    return room_id, owner


def url(room_id: str, endpoint: str, token: str | None) -> str:
    sep = "&" if "?" in endpoint else "?"
    return f"/ws/rooms/{room_id}/{endpoint}" + (f"{sep}token={token}" if token is not None else "")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_tokens_close_4401_with_a_reason(gateway, room, db_settings, endpoint):
    room_id, owner = room
    user = uuid.UUID(owner.id)
    expired, _ = issue(db_settings, user, "user", "access", now=time.time() - 3600)
    forged, _ = issue(db_settings.model_copy(update={"jwt_secret": "guess"}), user, "user", "access")
    cases = {None: "unauthorized: no token", expired: "unauthorized: token expired",
             forged: "unauthorized: invalid token", owner.token[:-3] + "abc": "unauthorized: invalid token",
             "nonsense": "unauthorized: not a JWT"}
    for token, reason in cases.items():
        with gateway.websocket_connect(url(room_id, endpoint, token)) as ws:
            info = closed(ws)
        assert info.code == 4401 and info.reason.startswith(reason), (token, info.reason)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_users_not_admitted_get_4403(gateway, room, accounts, endpoint):
    room_id, _ = room
    stranger = accounts.create()
    for target in (room_id, str(uuid.uuid4()), "not-a-room"):
        with gateway.websocket_connect(url(target, endpoint, stranger.token)) as ws:
            info = closed(ws)
        assert info.code == 4403 and info.reason.startswith("not admitted")


def test_the_bearer_subprotocol_carries_the_token(gateway, room):
    room_id, owner = room
    with gateway.websocket_connect(f"/ws/rooms/{room_id}/captions?lang=en", subprotocols=["bearer", owner.token]) as ws:
        assert ws.accepted_subprotocol == "bearer"
    with gateway.websocket_connect(f"/ws/rooms/{room_id}/audio", subprotocols=["bearer", owner.token]) as ws:
        ws.send_text(json.dumps({"participant": "p", "language": "en"}))
        assert json.loads(ws.receive_text()) == {"type": "ready"}


def test_leaving_closes_the_users_sockets_4403_and_closing_the_room_closes_everyones_4410(gateway, room, accounts):
    room_id, owner = room
    guest = accounts.create()
    gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guest.headers)
    with gateway.websocket_connect(url(room_id, "captions?lang=es", guest.token)) as ws:
        gateway.post(f"/api/rooms/{room_id}/leave", headers=guest.headers)
        notice = json.loads(ws.receive_text())
        assert (notice["code"], notice["user"]) == ("participant_left", guest.id)
        info = closed(ws)
    assert info.code == 4403 and "you left the room" in info.reason
    with gateway.websocket_connect(url(room_id, "captions?lang=es", owner.token)) as ws:
        gateway.post(f"/api/rooms/{room_id}/close", headers=owner.headers)
        assert json.loads(ws.receive_text())["code"] == "room_closed"
        info = closed(ws)
    assert (info.code, info.reason) == (4410, "room closed (closed)")

"""Room length per tier: a warning notice 5 minutes before, then the room closes, its sockets close
with 4410, its slots are freed, and joining it answers 403 naming ``room_minutes``."""

import json
from datetime import datetime, timedelta

import pytest
from starlette.websockets import WebSocketDisconnect

HEADER = {"participant": "x", "name": "Ana", "language": "en", "sample_rate": 16000, "channels": 1, "format": "s16le"}


def sweep(gateway, now: datetime):
    app = gateway.app
    return gateway.portal.call(app.state.rooms.sweep, app.state.db, now)


def used_slots(gateway) -> int:
    return sum(s.used for s in gateway.portal.call(gateway.app.state.capacity.snapshot))


@pytest.mark.parametrize("tier, minutes", [("free", 60), ("premium", 180)])
def test_room_closes_at_the_tiers_length_after_a_warning(gateway, accounts, tier, minutes):
    owner = accounts.create(tier)
    created = gateway.post("/api/rooms", json={"name": "timed"}, headers=owner.headers).json()
    room_id = created["id"]
    opened, ends = datetime.fromisoformat(created["created_at"]), datetime.fromisoformat(created["expires_at"])
    assert ends - opened == timedelta(minutes=minutes)
    assert used_slots(gateway) == 2  # one STT and one MT slot for the owner's speaking stream

    with gateway.websocket_connect(f"/ws/rooms/{room_id}/captions?lang=es&token={owner.token}") as captions, \
            gateway.websocket_connect(f"/ws/rooms/{room_id}/audio?token={owner.token}") as audio:
        audio.send_text(json.dumps(HEADER))
        assert json.loads(audio.receive_text()) == {"type": "ready"}

        assert sweep(gateway, ends - timedelta(minutes=6)).warned == []
        report = sweep(gateway, ends - timedelta(minutes=4, seconds=59))
        assert report.warned == [room_id] and report.expired == []
        for ws in (captions, audio):
            notice = json.loads(ws.receive_text())
            assert (notice["type"], notice["code"]) == ("notice", "room_expiring")
            assert notice["closes_at_ms"] == ends.timestamp() * 1000 and "5 min" in notice["message"]
        assert sweep(gateway, ends - timedelta(minutes=3)).warned == []  # warned once

        assert sweep(gateway, ends + timedelta(seconds=1)).expired == [room_id]
        closed = json.loads(captions.receive_text())
        assert (closed["code"], closed["reason"]) == ("room_closed", "expired")
        with pytest.raises(WebSocketDisconnect) as info:
            captions.receive_text()
        assert info.value.code == 4410 and info.value.reason == "room closed (expired)"
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                audio.receive_text()
        assert info.value.code == 4410

    assert used_slots(gateway) == 0
    room = gateway.get(f"/api/rooms/{room_id}", headers=owner.headers).json()
    assert (room["status"], room["close_reason"], room["participants"]) == ("closed", "expired", [])
    guest = accounts.create()
    refused = gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers)
    body = refused.json()
    assert refused.status_code == 403
    assert (body["limit"], body["allowed"], body["tier"]) == ("room_minutes", minutes, tier)
    assert body["reset_hint"] == "a room closes at its tier's length: open a new one"


def test_pro_rooms_have_no_length_limit(gateway, accounts):
    owner = accounts.create("pro")
    room = gateway.post("/api/rooms", json={"name": "long"}, headers=owner.headers).json()
    assert room["expires_at"] is None
    report = sweep(gateway, datetime.fromisoformat(room["created_at"]) + timedelta(days=30))
    assert room["id"] not in report.expired + report.warned


def test_enterprise_room_length_is_the_organisations(gateway, accounts, database_url):
    from tests.conftest import run_sql

    org = run_sql(database_url, "INSERT INTO organisations (id, name, limit_overrides) VALUES "
                  "(gen_random_uuid(), 'Org', '{\"room_minutes\": 240}') RETURNING id")[0]["id"]
    owner = accounts.create("enterprise", organisation_id=f"'{org}'")
    room = gateway.post("/api/rooms", json={"name": "x"}, headers=owner.headers).json()
    lifetime = datetime.fromisoformat(room["expires_at"]) - datetime.fromisoformat(room["created_at"])
    assert lifetime == timedelta(minutes=240)

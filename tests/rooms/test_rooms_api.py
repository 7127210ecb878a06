"""Rooms through the API: create, join, leave, heartbeat, close; 503 when the pools are full;
slots freed by leave, close and a vanished client; drain mode; empty rooms closing."""

import time
from datetime import UTC, datetime, timedelta

import redis as sync_redis
from fastapi.testclient import TestClient
from tests.conftest import TEST_SLOTS, Accounts, register_instances

from babelroom.bus.streams import captions_stream, partial_captions_stream
from babelroom.gateway.app import create_app


def used_slots(gateway) -> dict[str, int]:
    return {s.pool: s.used for s in gateway.portal.call(gateway.app.state.capacity.snapshot)}


def test_create_join_leave_close(gateway, accounts):
    owner, guest, listener, stranger = (accounts.create(name=n) for n in ("Owner", "Guest", "Listener", "Stranger"))
    room = gateway.post("/api/rooms", json={"name": "Weekly"}, headers=owner.headers)
    assert room.status_code == 201
    room_id = room.json()["id"]
    assert [p["display_name"] for p in room.json()["participants"]] == ["Owner"]
    assert room.json()["audio_ws"] == f"/ws/rooms/{room_id}/audio"
    joined = gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers).json()
    gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=listener.headers)
    participants = gateway.get(f"/api/rooms/{room_id}", headers=stranger.headers).json()["participants"]
    assert [p["speaker"] for p in participants] == [True, True, False]
    assert len(joined["participants"]) == 2 and used_slots(gateway) == {"stt": 2, "mt": 2}
    assert [r["id"] for r in gateway.get("/api/rooms", headers=guest.headers).json()] == [room_id]

    assert gateway.post(f"/api/rooms/{room_id}/heartbeat", headers=guest.headers).status_code == 204
    hb = gateway.post(f"/api/rooms/{room_id}/heartbeat", headers=stranger.headers)
    assert hb.status_code == 403 and hb.json()["error"] == "not_admitted"
    assert gateway.post(f"/api/rooms/{room_id}/leave", headers=guest.headers).status_code == 204
    assert used_slots(gateway) == {"stt": 1, "mt": 1}
    assert gateway.post(f"/api/rooms/{room_id}/leave", headers=guest.headers).status_code == 403

    refused = gateway.post(f"/api/rooms/{room_id}/close", headers=listener.headers)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    closed = gateway.post(f"/api/rooms/{room_id}/close", headers=owner.headers).json()
    assert (closed["status"], closed["close_reason"], closed["participants"]) == ("closed", "closed", [])
    assert used_slots(gateway) == {"stt": 0, "mt": 0}
    again = gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers)
    assert again.status_code == 409 and again.json()["error"] == "room_closed"
    assert gateway.get("/api/rooms/00000000-0000-0000-0000-000000000000", headers=owner.headers).status_code == 404


def test_full_pools_answer_503_with_retry_after(gateway, accounts):
    owner = accounts.create("pro")
    room_id = gateway.post("/api/rooms", json={"name": "busy"}, headers=owner.headers).json()["id"]
    guests = [accounts.create() for _ in range(TEST_SLOTS)]
    for guest in guests[:-1]:
        assert gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers).status_code == 200
    full = gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guests[-1].headers)
    assert full.status_code == 503
    assert full.json() == {"error": "no_capacity", "pool": "stt", "retry_after_s": 60,
                           "detail": "no STT capacity left: every instance is full, draining or gone"}
    assert full.headers["Retry-After"] == "60"
    # listening needs no slot (the estimate is capacity_retry_after_s: no open room has an end)
    joined = gateway.post(f"/api/rooms/{room_id}/join", json={"listen_only": True}, headers=guests[-1].headers)
    assert joined.status_code == 200


def test_drained_instances_take_no_new_rooms(gateway, accounts, redis_url):
    admin, user = accounts.create(role="admin"), accounts.create()
    drained = gateway.put("/api/admin/capacity/mt/mt-test/drain", json={"draining": True}, headers=admin.headers)
    assert drained.status_code == 200 and drained.json()["draining"]
    refused = gateway.post("/api/rooms", json={"name": "x"}, headers=user.headers)
    assert refused.status_code == 503 and refused.json()["pool"] == "mt"
    register_instances(redis_url, mt="mt-new")
    assert gateway.post("/api/rooms", json={"name": "x"}, headers=user.headers).status_code == 201
    pools = {p["pool"]: p for p in gateway.get("/api/admin/capacity", headers=admin.headers).json()}
    assert {i["instance"]: (i["used"], i["draining"]) for i in pools["mt"]["instances"]} == {
        "mt-test": (0, True), "mt-new": (1, False)}
    assert pools["mt"]["slots"] == TEST_SLOTS  # draining instances are not offered
    drained = gateway.put("/api/admin/capacity/stt/nope/drain", json={"draining": True}, headers=admin.headers)
    assert drained.status_code == 404


def test_a_vanished_client_loses_its_place_and_an_empty_room_closes(db_settings, redis_url, database_url):
    settings = db_settings.model_copy(update={"room_lease_ttl_s": 0.5, "room_sweep_interval_s": 3600})
    register_instances(redis_url)
    with TestClient(create_app(settings)) as gateway:
        accounts = Accounts(gateway, database_url)
        owner, guest = accounts.create(), accounts.create()
        room_id = gateway.post("/api/rooms", json={"name": "x"}, headers=owner.headers).json()["id"]
        gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers)
        app = gateway.app
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # the owner keeps heart-beating, the guest vanished
            assert gateway.post(f"/api/rooms/{room_id}/heartbeat", headers=owner.headers).status_code == 204
            time.sleep(0.1)
        report = gateway.portal.call(app.state.rooms.sweep, app.state.db)
        assert report.vanished == [(room_id, guest.id)]
        participants = gateway.get(f"/api/rooms/{room_id}", headers=owner.headers).json()["participants"]
        assert [p["user_id"] for p in participants] == [owner.id]
        assert used_slots(gateway) == {"stt": 1, "mt": 1}
        time.sleep(0.6)  # now the owner vanishes too
        report = gateway.portal.call(app.state.rooms.sweep, app.state.db)
        assert report.vanished == [(room_id, owner.id)] and report.emptied == []
        later = datetime.now(UTC) + timedelta(seconds=1)  # nobody for longer than the lease TTL
        assert gateway.portal.call(app.state.rooms.sweep, app.state.db, later).emptied == [room_id]
        assert gateway.get(f"/api/rooms/{room_id}", headers=owner.headers).json()["close_reason"] == "empty"


def test_closing_a_room_drops_its_side_stream_of_partials(gateway, accounts, redis_url):
    """Partials and retractions are for live listeners: a closed room has none, so its side stream goes at
    once (its finals stay for captions_retention_s)."""
    owner = accounts.create()
    room_id = gateway.post("/api/rooms", json={"name": "r"}, headers=owner.headers).json()["id"]
    client = sync_redis.Redis.from_url(redis_url)
    client.xadd(partial_captions_stream(room_id), {"m": "{}"})
    client.xadd(captions_stream(room_id), {"m": "{}"})
    assert gateway.post(f"/api/rooms/{room_id}/close", headers=owner.headers).status_code == 200
    assert not client.exists(partial_captions_stream(room_id)) and client.exists(captions_stream(room_id))

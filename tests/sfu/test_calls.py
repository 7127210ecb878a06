"""The rooms API with the SFU on (``janus_enabled``) against the real Janus: each room gets a Janus
VideoRoom with the tier's caps, each join a fresh token that Janus accepts, leave revokes and kicks,
close destroys, the sync stops taps whose publisher is gone; an unreachable Janus never fails a join.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from janus_secrets import ADMIN_KEY, API_SECRET
from structlog.testing import capture_logs
from tests.conftest import Accounts, register_instances, run_sql

from babelroom.gateway.app import create_app
from babelroom.media.forwards import ForwardRegistry
from babelroom.sfu.calls import ROOMS_KEY, SYNC_LOCK, Calls, run_call_sync
from babelroom.sfu.janus_client import NOT_AUTHORIZED, JanusClient, VideoRoomAdmin
from babelroom.sfu.room_sync import RoomSync, Speaker
from babelroom.sfu.turn import turn_credentials

PUBLIC = "http://janus.example.invalid/janus"
TURN_URLS = ["turn:turn.example.invalid:3478?transport=udp", "turn:turn.example.invalid:3478?transport=tcp"]
TURN_SECRET = "turn-test-secret"


@pytest.fixture
def call_gateway(db_settings, redis_url, janus_url):
    settings = db_settings.model_copy(update={
        "janus_enabled": True, "janus_url": janus_url, "janus_public_url": PUBLIC,
        "janus_api_secret": API_SECRET, "janus_admin_key": ADMIN_KEY,
        "janus_tier_bitrate_bps": {"free": 300_000}, "janus_sync_interval_s": 3600.0,
        "turn_urls": TURN_URLS, "turn_secret": TURN_SECRET,
    })
    register_instances(redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


async def janus_join(client: JanusClient, room: str, publisher: str, token: str) -> dict:
    """Join the VideoRoom as ``publisher`` with ``token`` (no media); the plugin's answer."""
    session = await client.create_session()
    handle = await session.attach()
    await handle.message({"request": "join", "ptype": "publisher", "room": room, "id": publisher,
                          "display": publisher, "token": token})
    for _ in range(20):
        events = [e["plugindata"]["data"] for e in await session.events() if "plugindata" in e]
        if events:
            return events[0] | {"_session": session}
    raise AssertionError("no answer to join")


async def janus_state(janus_url: str, room: str) -> dict:
    async with JanusClient(janus_url, api_secret=API_SECRET) as client:
        admin = VideoRoomAdmin(client, admin_key=ADMIN_KEY)
        try:
            rooms = {r["room"]: r for r in await admin.list_rooms()}
            if room not in rooms:
                return {}
            return {"room": rooms[room], "participants": await admin.list_participants(room)}
        finally:
            await admin.close()


def test_rooms_get_janus_rooms_tokens_and_taps_follow_membership(call_gateway, database_url, janus_url):
    gateway = call_gateway
    accounts = Accounts(gateway, database_url)
    owner, guest = accounts.create(name="Owner"), accounts.create(name="Guest")
    created = gateway.post("/api/rooms", json={"name": "Call"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    room, call = created.json()["id"], created.json()["janus"]
    assert call["server"] == PUBLIC and call["room"] == room and call["id"] == owner.id
    assert call["display"] == "Owner" and len(call["token"]) > 20

    per_room = run_sql(database_url, "SELECT participants_per_room FROM tiers WHERE name = 'free'")[0]
    state = asyncio.run(janus_state(janus_url, room))
    assert state["room"]["max_publishers"] == per_room["participants_per_room"]
    assert state["room"]["bitrate"] == 300_000 and state["room"]["is_private"]

    joined = gateway.post(f"/api/rooms/{room}/join", json={"spoken_language": "es"}, headers=guest.headers)
    assert joined.status_code == 200, joined.text
    guest_call = joined.json()["janus"]
    assert guest_call["id"] == guest.id and guest_call["token"] != call["token"]
    # TURN for participants behind NAT: the guest's own credentials, valid for turn_credential_ttl_s.
    [ice] = guest_call["ice_servers"]
    expiry, user = ice["username"].split(":")
    assert ice["urls"] == TURN_URLS and user == guest.id
    assert 0 < int(expiry) - time.time() <= call_gateway.app.state.settings.turn_credential_ttl_s
    assert (ice["username"], ice["credential"]) == turn_credentials(TURN_SECRET, guest.id, int(expiry), now=0)
    calls = gateway.app.state.rooms.calls
    speakers = gateway.portal.call(calls.speakers, room)
    assert speakers == {owner.id: Speaker(owner.id, "Owner", "en"), guest.id: Speaker(guest.id, "Guest", "es")}
    bad = gateway.post(f"/api/rooms/{room}/join", json={"spoken_language": "Spanish!"}, headers=guest.headers)
    assert bad.status_code in (400, 422)

    async def enter_and_leave() -> None:
        async with JanusClient(janus_url, api_secret=API_SECRET) as client:
            # Janus accepts the issued token for the issued publisher id, refuses a made-up one.
            answer = await janus_join(client, room, guest.id, guest_call["token"])
            assert answer["videoroom"] == "joined" and answer["id"] == guest.id
            refused = await janus_join(client, room, "intruder", "made-up")
            assert refused.get("error_code") == NOT_AUTHORIZED
            for a in (answer, refused):
                await a["_session"].destroy()

    async def joined_then_leave() -> None:
        async with JanusClient(janus_url, api_secret=API_SECRET) as client:
            answer = await janus_join(client, room, guest.id, guest_call["token"])
            assert [p["id"] for p in (await janus_state(janus_url, room))["participants"]] == [guest.id]
            left = await asyncio.to_thread(gateway.post, f"/api/rooms/{room}/leave", headers=guest.headers)
            assert left.status_code == 204
            assert (await janus_state(janus_url, room))["participants"] == []  # kicked
            again = await janus_join(client, room, guest.id, guest_call["token"])
            assert again.get("error_code") == NOT_AUTHORIZED  # token revoked
            for a in (answer, again):
                await a["_session"].destroy()

    asyncio.run(enter_and_leave())
    asyncio.run(joined_then_leave())
    assert set(gateway.portal.call(calls.speakers, room)) == {owner.id}

    # A tap whose publisher is not in Janus (left without telling us) is stopped by the sync.
    async def stale_tap_stopped() -> dict:
        registry = ForwardRegistry(calls.redis)
        await registry.register(room=room, participant=owner.id, name="Owner", language="en",
                                janus_room=room, publisher_id=owner.id)
        await calls.redis.delete(SYNC_LOCK)
        changed = await calls.sync_once()
        assert [f for f in await registry.all() if f.room == room] == []
        return changed

    assert gateway.portal.call(stale_tap_stopped) == {room: {"started": [], "stopped": [owner.id]}}

    closed = gateway.post(f"/api/rooms/{room}/close", headers=owner.headers)
    assert closed.status_code == 200 and closed.json()["janus"] is None
    assert asyncio.run(janus_state(janus_url, room)) == {}
    assert not gateway.portal.call(calls.redis.sismember, ROOMS_KEY, room)


def test_an_unreachable_janus_does_not_fail_a_join(db_settings, redis_url, database_url):
    settings = db_settings.model_copy(update={
        "janus_enabled": True, "janus_url": "http://127.0.0.1:9/janus", "janus_timeout_s": 1.0,
        "janus_sync_interval_s": 3600.0})
    register_instances(redis_url)
    with TestClient(create_app(settings)) as gateway:
        owner = Accounts(gateway, database_url).create()
        created = gateway.post("/api/rooms", json={"name": "No SFU"}, headers=owner.headers)
        assert created.status_code == 201 and created.json()["janus"] is None
        room = created.json()["id"]
        assert gateway.post(f"/api/rooms/{room}/leave", headers=owner.headers).status_code == 204
        assert gateway.post(f"/api/rooms/{room}/close", headers=owner.headers).status_code == 200


def test_without_janus_the_join_answer_has_no_call(gateway, accounts):
    owner = accounts.create()
    created = gateway.post("/api/rooms", json={"name": "Captions only"}, headers=owner.headers)
    assert created.status_code == 201 and created.json()["janus"] is None
    assert gateway.app.state.rooms.calls is None


async def test_the_call_sync_logs_one_line_a_round_while_janus_is_down(settings, redis_url):
    settings = settings.model_copy(update={"janus_url": "http://127.0.0.1:9/janus", "janus_timeout_s": 1.0})
    redis = aioredis.from_url(redis_url)
    calls = Calls(settings, redis, RoomSync.from_settings(settings, redis))
    await redis.sadd(ROOMS_KEY, "r1")
    with capture_logs() as logs:
        loop = asyncio.create_task(run_call_sync(calls, 0.05))
        await asyncio.sleep(0.5)
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    await calls.close()
    await redis.aclose()
    assert logs and all(e["event"] == "sfu.sync_unreachable" and "exc_info" not in e for e in logs), logs

"""The Janus client and RoomSync against the real Janus 1.1 on the repository's configuration:
only the VideoRoom plugin and the HTTP transport, secrets enforced, rooms with a secret, caps and
join tokens, participants, RTP-forward errors, destruction."""

from __future__ import annotations

import uuid

import httpx
import pytest
from janus_secrets import ADMIN_KEY, API_SECRET

from babelroom.media.forwards import ForwardRegistry
from babelroom.sfu.janus_client import (
    MISSING_ELEMENT,
    NO_SUCH_FEED,
    NO_SUCH_ROOM,
    NOT_AUTHORIZED,
    ROOM_EXISTS,
    UNAUTHORIZED,
    JanusClient,
    JanusError,
    VideoRoomAdmin,
)
from babelroom.sfu.room_sync import RoomSync, Speaker


def room_id() -> str:
    return f"r-{uuid.uuid4().hex[:8]}"


async def test_only_the_videoroom_plugin_and_the_http_transport_are_loaded(janus):
    info = await janus.info()
    assert info["version_string"] == "1.1.2"
    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert list(info["transports"]) == ["janus.transport.http"]
    assert info["api_secret"] is True


async def test_requests_without_the_api_secret_are_refused(janus_url):
    async with JanusClient(janus_url) as anonymous:
        with pytest.raises(JanusError) as err:
            await anonymous.create_session()
    assert err.value.code == UNAUTHORIZED and "secret" in err.value.reason


async def test_rooms_need_the_admin_key(janus):
    no_key = VideoRoomAdmin(janus)
    try:
        with pytest.raises(JanusError) as err:
            await no_key.create_room(room_id(), secret="s", publishers=2, bitrate_bps=128_000)
        assert err.value.code == MISSING_ELEMENT and err.value.request == "create"
        wrong = VideoRoomAdmin(janus, admin_key="wrong")
        with pytest.raises(JanusError) as err:
            await wrong.create_room(room_id(), secret="s", publishers=2, bitrate_bps=128_000)
        assert err.value.code == NOT_AUTHORIZED
        await wrong.close()
    finally:
        await no_key.close()


async def test_room_lifecycle_with_caps_tokens_and_participants(videoroom, janus):
    room = room_id()
    await videoroom.create_room(room, secret="room-secret", publishers=3, bitrate_bps=256_000,
                                allowed=["tok-alice"], description="standup")
    with pytest.raises(JanusError) as err:
        await videoroom.create_room(room, secret="x", publishers=3, bitrate_bps=256_000)
    assert err.value.code == ROOM_EXISTS
    assert await videoroom.exists(room)
    listed = {r["room"]: r for r in await videoroom.list_rooms()}[room]
    assert (listed["max_publishers"], listed["bitrate"], listed["bitrate_cap"]) == (3, 256_000, True)
    assert listed["audiocodec"] == "opus" and listed["videocodec"] == "vp8,h264"
    assert listed["is_private"] is True and listed["opus_fec"] is True

    assert sorted(await videoroom.allowed(room, secret="room-secret", action="add", tokens=["tok-bob"])) == [
        "tok-alice", "tok-bob"]
    with pytest.raises(JanusError) as err:
        await videoroom.allowed(room, secret="wrong", action="add", tokens=["tok-eve"])
    assert err.value.code == NOT_AUTHORIZED

    # A user joins (as a publisher-to-be, no media yet) with and without a valid token.
    session = await janus.create_session()
    try:
        handle = await session.attach()
        assert await handle.message({"request": "join", "ptype": "publisher", "room": room,
                                     "id": "alice", "display": "Alice", "token": "tok-alice"}) == {}
        events = await session.events()
        joined = [e["plugindata"]["data"] for e in events if "plugindata" in e]
        assert joined and joined[0]["videoroom"] == "joined" and joined[0]["id"] == "alice"
        intruder = await session.attach()
        await intruder.message({"request": "join", "ptype": "publisher", "room": room, "id": "eve",
                                "token": "made-up"})
        refused = [e["plugindata"]["data"] for e in await session.events() if "plugindata" in e]
        assert refused[0]["error_code"] == NOT_AUTHORIZED, refused  # not in the room's ACL

        participants = await videoroom.list_participants(room)
        assert [(p["id"], p["display"], p["publisher"]) for p in participants] == [("alice", "Alice", False)]

        # Alice publishes nothing yet: there is no audio to forward.
        with pytest.raises(JanusError) as err:
            await videoroom.rtp_forward_audio(room, "alice", host="127.0.0.1", port=5004, ssrc=1234,
                                              secret="room-secret")
        assert err.value.code in (NO_SUCH_FEED, 430) and err.value.request == "rtp_forward"
        with pytest.raises(JanusError) as err:
            await videoroom.rtp_forward_audio(room, "nobody", host="127.0.0.1", port=5004, ssrc=1234,
                                              secret="room-secret")
        assert err.value.code == NO_SUCH_FEED

        # Revoking the token and kicking removes her.
        await videoroom.allowed(room, secret="room-secret", action="remove", tokens=["tok-alice"])
        await videoroom.kick(room, secret="room-secret", participant="alice")
        assert await videoroom.list_participants(room) == []
    finally:
        await session.destroy()

    with pytest.raises(JanusError) as err:
        await videoroom.destroy_room(room, secret="wrong")
    assert err.value.code == NOT_AUTHORIZED
    await videoroom.destroy_room(room, secret="room-secret")
    assert not await videoroom.exists(room)
    with pytest.raises(JanusError) as err:
        await videoroom.list_participants(room)
    assert err.value.code == NO_SUCH_ROOM


async def test_the_admin_session_is_remade_when_janus_forgets_it(videoroom):
    room = room_id()
    await videoroom.create_room(room, secret="s", publishers=1, bitrate_bps=64_000)
    await videoroom._session.destroy()  # as after a Janus restart or a session timeout
    assert await videoroom.exists(room)  # 458 → new session, request retried
    await videoroom.destroy_room(room, secret="s")


async def test_a_lost_admin_session_stops_being_kept_alive(videoroom):
    await videoroom.list_rooms()
    lost = videoroom._session
    await videoroom.client.post(f"/{lost.id}", {"janus": "destroy"})  # Janus forgets it (as on a restart)
    await videoroom.list_rooms()  # 458 → new session
    assert videoroom._session is not lost and lost._keepalive is None


async def test_room_sync_opens_admits_and_closes_idempotently(janus_url, aredis, settings):
    settings = settings.model_copy(update={"janus_url": janus_url, "janus_api_secret": API_SECRET,
                                           "janus_admin_key": ADMIN_KEY})
    sync = RoomSync.from_settings(settings, aredis)
    room = room_id()
    try:
        token = RoomSync.new_join_token()
        await sync.open_room(room, max_publishers=4, bitrate_bps=512_000, tokens=[token])
        await sync.open_room(room, max_publishers=6, bitrate_bps=300_000)  # again: caps updated
        listed = {r["room"]: r for r in await sync.admin.list_rooms()}[room]
        assert (listed["max_publishers"], listed["bitrate"]) == (6, 300_000)
        assert sync.room_secret(room) == sync.room_secret(room) != sync.room_secret(room + "x")
        assert set(await sync.admit(room, ["t2"])) == {token, "t2"}
        assert token not in await sync.revoke(room, [token])
        # No publisher: a tap cannot start, and its SSRC registration is undone.
        with pytest.raises(JanusError):
            await sync.start_audio_tap(room, "ghost", Speaker("ghost", "Ghost", "en"))
        assert await ForwardRegistry(aredis).all() == []
        result = await sync.sync_publishers(room, {"ghost": Speaker("ghost", "Ghost", "en")})
        assert result.started == [] and result.stopped == []
        await sync.close_room(room)
        await sync.close_room(room)  # again: nothing to do, no error
        assert not await sync.admin.exists(room)
    finally:
        await sync.close()


async def test_an_unreachable_janus_is_an_http_error():
    async with JanusClient("http://127.0.0.1:9/janus", timeout_s=1.0) as client:
        with pytest.raises(httpx.HTTPError):
            await client.create_session()

"""D2: the local stack's Redis keeps its data (AOF) across a restart, so a room survives it."""

import asyncio
import uuid

import pytest
import redis

from babelroom.bus.streams import FINALS_STREAM, PERSIST_GROUP
from babelroom.dev.client import ApiClient
from babelroom.dev.devstack import LocalStack


@pytest.fixture(scope="module")
def stack(project_state_dir):
    with LocalStack(state_dir=project_state_dir("chaos-redis"), stt_workers=1, mt_workers=1) as s:
        yield s


async def open_room(stack: LocalStack) -> str:
    tag = uuid.uuid4().hex[:6]
    async with ApiClient(stack.gateway_url) as speaker, ApiClient(stack.gateway_url) as listener:
        await speaker.register(f"ana-{tag}@chaos.local", "password-123", "Ana")
        await listener.register(f"lee-{tag}@chaos.local", "password-123", "Lee")
        room = (await speaker.create_room("chaos"))["id"]
        await listener.join(room, listen_only=True)
        return room


def snapshot(client: redis.Redis, room: str) -> dict:
    """The room's leases, the pools' registrations and the finals stream's consumer groups."""
    leases = sorted(client.smembers(f"cap:room:{room}"))
    return {
        "leases": leases,
        "lease_hashes": {lease: client.hgetall(b"cap:lease:" + lease) for lease in leases},
        "registrations": {pool: client.hgetall(f"cap:{pool}:slots") for pool in ("stt", "mt")},
        "groups": sorted(g["name"] for g in client.xinfo_groups(FINALS_STREAM)),
    }


def test_a_redis_restart_keeps_the_rooms_leases_groups_and_registrations(stack):
    room = asyncio.run(open_room(stack))
    client = redis.Redis.from_url(stack.redis_url)
    before = snapshot(client, room)
    assert len(before["leases"]) == 2 and before["registrations"]["stt"] and before["registrations"]["mt"]
    assert PERSIST_GROUP.encode() in before["groups"]

    stack.restart_redis(keep_data=True)

    client = redis.Redis.from_url(stack.redis_url)
    assert snapshot(client, room) == before


def test_a_redis_restart_without_its_files_loses_everything(stack):
    room = asyncio.run(open_room(stack))
    stack.restart_redis(keep_data=False)
    client = redis.Redis.from_url(stack.redis_url)
    assert client.smembers(f"cap:room:{room}") == set()
    assert not client.exists(FINALS_STREAM)

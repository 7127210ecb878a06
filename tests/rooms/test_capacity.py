"""The capacity state in a real Redis: placement, full pools, drain, lapsed leases, dead instances."""

import asyncio

import pytest

from babelroom import metrics
from babelroom.capacity import Capacity, NoCapacity, export_gauges, keep_registered


@pytest.fixture
async def cap(aredis):
    return Capacity(aredis, lease_ttl_s=60)


async def used(cap, pool="stt"):
    return {s.instance: s.used for s in await cap.snapshot() if s.pool == pool}


async def test_streams_go_to_the_least_utilised_instance_until_the_pool_is_full(cap):
    await cap.register("stt", "a", 2, 60)
    await cap.register("stt", "b", 1, 60)
    await cap.register("mt", "m", 3, 60)
    for user in ("u1", "u2", "u3"):
        await cap.acquire("room", user)
    assert await used(cap) == {"a": 2, "b": 1} and await used(cap, "mt") == {"m": 3}
    with pytest.raises(NoCapacity) as info:
        await cap.acquire("room", "u4")
    assert info.value.pool == "stt"
    await cap.acquire("room", "u1")  # idempotent for a lease that holds its slots
    assert await used(cap) == {"a": 2, "b": 1}
    await cap.release("room", "u1")
    await cap.acquire("room", "u4")
    await cap.release_room("room")
    assert await used(cap) == {"a": 0, "b": 0} and await used(cap, "mt") == {"m": 0}


async def test_a_full_second_pool_changes_nothing(cap):
    await cap.register("stt", "a", 5, 60)
    await cap.register("mt", "m", 1, 60)
    await cap.acquire("r", "u1")
    with pytest.raises(NoCapacity) as info:
        await cap.acquire("r", "u2")
    assert info.value.pool == "mt" and await used(cap) == {"a": 1}


async def test_listen_only_leases_take_no_slot_but_mark_presence(cap):
    await cap.acquire("r", "listener", ())
    assert await cap.present("r", ["listener", "nobody"]) == {"listener"}
    assert await cap.renew("r", "listener")


async def test_draining_instances_get_no_new_streams_but_keep_theirs(cap):
    await cap.register("stt", "a", 2, 60)
    await cap.register("stt", "b", 2, 60)
    await cap.register("mt", "m", 9, 60)
    await cap.acquire("r", "u1")
    first = next(i for i, n in (await used(cap)).items() if n == 1)
    other = "b" if first == "a" else "a"
    assert await cap.set_draining("stt", other, True)
    for user in ("u2",):
        await cap.acquire("r", user)
    with pytest.raises(NoCapacity):
        await cap.acquire("r", "u3")
    assert await used(cap) == {first: 2, other: 0}
    assert [s.draining for s in await cap.snapshot() if s.instance == other] == [True]
    assert not await cap.set_draining("stt", "ghost", True)
    await cap.set_draining("stt", other, False)
    await cap.acquire("r", "u3")


async def test_a_lease_without_heartbeat_lapses_and_frees_its_slot(aredis):
    """A client that vanished: nothing renews its lease, and its slot frees itself after the TTL."""
    short = Capacity(aredis, lease_ttl_s=0.3)
    await short.register("stt", "a", 1, 60)
    await short.register("mt", "m", 1, 60)
    await short.acquire("r", "gone")
    with pytest.raises(NoCapacity):
        await short.acquire("r", "next")
    await asyncio.sleep(0.4)
    assert await short.present("r", ["gone"]) == set() and not await short.renew("r", "gone")
    await short.acquire("r", "next")


async def test_leases_of_a_dead_instance_move_on_renewal(aredis):
    cap = Capacity(aredis, lease_ttl_s=60)
    await cap.register("stt", "dies", 1, 0.3)
    await cap.register("mt", "m", 5, 60)
    await cap.acquire("r", "u1")
    await cap.register("stt", "lives", 1, 60)
    await asyncio.sleep(0.4)
    assert await cap.renew("r", "u1")
    assert await used(cap) == {"lives": 1}


async def test_workers_register_by_heartbeat_and_deregister_when_stopped(aredis):
    cap = Capacity(aredis, lease_ttl_s=60)
    task = asyncio.create_task(keep_registered(cap, "stt", "w1", 4, interval_s=0.05, ttl_s=0.2))
    await asyncio.sleep(0.3)
    assert [(s.instance, s.slots) for s in await cap.snapshot()] == [("w1", 4)]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await cap.snapshot() == []


async def test_gauges_follow_the_instances(cap):
    await cap.register("stt", "g1", 4, 60)
    await cap.register("mt", "g2", 2, 60)
    await cap.acquire("r", "u")
    exported = export_gauges(await cap.snapshot(), set())
    assert metrics.CAPACITY_UTILISATION.labels("stt", "g1")._value.get() == 0.25
    assert metrics.CAPACITY_SLOTS_USED.labels("mt", "g2")._value.get() == 1
    await cap.deregister("stt", "g1")
    assert export_gauges(await cap.snapshot(), exported) == {("mt", "g2")}
    assert ("stt", "g1") not in {tuple(s.labels.values()) for m in metrics.CAPACITY_SLOTS.collect() for s in m.samples}

"""Sequence counters against a real Redis: a counter lost with Redis' data never goes back."""

from babelroom.bus.counters import incr_above
from babelroom.mt.worker import assign_room_seq


async def test_incr_above_counts_on_and_jumps_over_its_floor(aredis):
    assert [await incr_above(aredis, "c", 0) for _ in range(3)] == [1, 2, 3]
    await aredis.flushall()  # Redis restarted without its data
    assert await incr_above(aredis, "c", 3) == 4
    assert await incr_above(aredis, "c", 0) == 5  # the counter itself moved above the floor


async def test_room_seq_is_stable_on_redelivery_and_above_the_floor_after_a_loss(aredis):
    first = await assign_room_seq(aredis, "room", "seg-1")
    assert await assign_room_seq(aredis, "room", "seg-1") == first == 1
    await aredis.flushall()
    assert await assign_room_seq(aredis, "room", "seg-2", floor=first) == 2


async def test_a_finals_room_number_is_kept_for_the_redelivery_horizon_not_a_day(aredis):
    """One key per final: kept 24 h, they made Redis grow all day long (the soak's used_memory). Ten
    minutes is over 20 times the longest redelivery (5 deliveries, reclaimed after 5 s idle)."""
    await assign_room_seq(aredis, "room", "seg-1")
    assert 0 < await aredis.ttl("room:room:final:seg-1") <= 600

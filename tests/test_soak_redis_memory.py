"""The soak's Redis ``used_memory`` figures: sampled from a real redis-server, growth from minute 1."""

import redis

from babelroom.dev.soak import ProcessSeries, RedisMemory, Sample


def test_growth_is_from_the_warm_up_sample_to_the_last(redis_url):
    memory = RedisMemory()
    memory.sample(redis.Redis.from_url(redis_url), 0.0)
    assert memory.samples[0][1] > 0
    memory.samples = [(0.0, 1.0), (60.0, 2.0), (660.0, 2.5)]
    memory.settle(60.0)
    assert (memory.growth_pct, memory.mib_per_min) == (25.0, 0.05)


def test_an_unreachable_redis_is_not_a_sample():
    memory = RedisMemory()
    memory.sample(redis.Redis(port=1, socket_connect_timeout=0.2), 0.0)
    assert memory.samples == []


def test_a_pool_step_of_two_sockets_is_not_a_leak_but_a_climb_is():
    """Redis went 24 -> 26 fds in the 30-minute soak (two pool connections at concurrency peaks): +8 % of
    a small count, not flagged; 24 -> 30 is."""
    step = ProcessSeries("redis", 1, [Sample(0.0, 16.0, 21), Sample(60.0, 16.1, 24), Sample(1800.0, 15.8, 26)])
    step.settle(60.0)
    assert (step.fds_growth_pct, step.flagged) == (8.3, False)
    climb = ProcessSeries("redis", 1, [Sample(60.0, 16.1, 24), Sample(1800.0, 16.1, 30)])
    climb.settle(60.0)
    assert climb.flagged
    memory = ProcessSeries("gateway", 2, [Sample(60.0, 100.0, 50), Sample(1800.0, 106.0, 50)])
    memory.settle(60.0)
    assert memory.flagged

"""The soak's Redis ``used_memory`` figures: sampled from a real redis-server, growth from minute 1."""

import redis

from babelroom.dev.soak import RedisMemory


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

"""The soak's Redis ``used_memory`` figures: sampled from a real redis-server, growth from minute 1."""

import pytest
import redis

from babelroom.dev.soak import ProcessSeries, RedisMemory, Sample, base_and_end, warmup_of


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


def test_a_burst_in_the_last_sample_is_not_growth_but_a_rising_median_is():
    """The 30-minute soak's used_memory swung 3.04 -> 3.44 -> 3.91 MiB between neighbouring samples: the
    median of the last three is the end, and the median of three from the warm-up on the base."""
    flat = RedisMemory(samples=[(600.0, 3.0), (660.0, 3.2), (720.0, 2.9), (1680.0, 3.1), (1740.0, 2.95),
                                (1800.0, 3.9)])
    flat.settle(600.0)
    assert flat.growth_pct == round((3.1 - 3.0) / 3.0 * 100, 1)
    rising = RedisMemory(samples=[(600.0, 3.0), (660.0, 3.0), (720.0, 3.0), (1680.0, 3.5), (1740.0, 3.6),
                                  (1800.0, 3.4)])
    rising.settle(600.0)
    assert (rising.growth_pct, rising.mib_per_min) == (16.7, 0.025)


def test_the_warm_up_covers_the_retention_windows_when_the_run_is_long_enough():
    assert (warmup_of(30), warmup_of(20), warmup_of(8), warmup_of(1)) == (600.0, 600.0, 60.0, 0.0)
    with pytest.raises(ValueError):
        base_and_end([0.0], 0.0)
    assert base_and_end([0.0, 60.0, 120.0], 600.0) == ([0], [2])  # no sample after the warm-up: from the start

"""The autoscaler's decision logic, pure: bounds, sustained conditions, cooldowns, missing data."""

from __future__ import annotations

import pytest

from babelroom.autoscaler.rules import Condition, RuleState, ScalingRule, decide, default_rules

RULES = {r.service: r for r in default_rules()}
STT = RULES["stt"]
HOT = {"queue_depth": 25.0, "cpu": 0.9}
CALM = {"queue_depth": 1.0, "cpu": 0.1}
MIDDLE = {"queue_depth": 5.0, "cpu": 0.5}


def replay(rule: ScalingRule, samples: list[dict], replicas: int, step_s: float = 15.0) -> list[tuple[float, int]]:
    """Feed one sample per step; return (time, replicas) after every change."""
    state, changes = RuleState(), []
    for i, sample in enumerate(samples):
        now = i * step_s
        d = decide(rule, state, now, replicas, sample)
        state = d.state
        if d.target != replicas:
            replicas = d.target
            changes.append((now, replicas))
    return changes


def test_design_rules():
    assert set(RULES) == {"stt", "mt", "gateway"}
    for name in ("stt", "mt"):
        r = RULES[name]
        assert (r.min_replicas, r.max_replicas) == (2, 4)
        assert set(map(str, r.up_when)) == {"queue_depth > 10", "cpu > 0.8"}
        assert set(map(str, r.down_when)) == {"queue_depth < 3", "cpu < 0.3"}
    assert [str(c) for c in RULES["gateway"].up_when] == ["latency_p95 > 0.2"]
    assert 'stream="audio"' in STT.queries["queue_depth"]
    assert 'stream="transcripts"' in RULES["mt"].queries["queue_depth"]


def test_sustained_load_scales_up_one_step_per_cooldown_up_to_max():
    changes = replay(STT, [HOT] * 60, replicas=2)  # 15 minutes of load
    assert changes == [(60.0, 3), (180.0, 4)]  # after 60 s sustained, then after the 120 s cooldown


def test_either_up_condition_is_enough():
    assert replay(STT, [{"queue_depth": 15.0, "cpu": 0.2}] * 10, 2)[0] == (60.0, 3)
    assert replay(STT, [{"queue_depth": 0.0, "cpu": 0.85}] * 10, 2)[0] == (60.0, 3)


def test_scale_down_needs_every_down_condition_for_five_minutes_and_the_cooldown():
    assert replay(STT, [CALM] * 100, replicas=4) == [(300.0, 3), (615.0, 2)]  # the 5 minutes start again after a change
    assert replay(STT, [{"queue_depth": 1.0, "cpu": 0.5}] * 100, replicas=4) == []  # CPU not low enough
    assert replay(STT, [MIDDLE] * 100, replicas=3) == []


def test_a_spike_shorter_than_the_sustain_window_does_nothing():
    samples = ([MIDDLE] * 4 + [HOT] * 3) * 10  # 45 s hot in every 105 s
    assert replay(STT, samples, replicas=2) == []


def test_cooldown_after_scale_up_blocks_an_early_scale_down():
    samples = [HOT] * 5 + [CALM] * 40  # up at 60 s, then calm
    changes = replay(STT, samples, replicas=2)
    assert changes[0] == (60.0, 3)
    assert all(t - 60.0 >= 300.0 for t, _ in changes[1:])


def test_missing_data_holds():
    assert replay(STT, [{"queue_depth": None, "cpu": None}] * 100, replicas=3) == []
    # a partial sample: the up-condition with data still counts, the down side never does
    assert replay(STT, [{"queue_depth": 20.0, "cpu": None}] * 10, 2)[0] == (60.0, 3)
    assert replay(STT, [{"queue_depth": 0.0, "cpu": None}] * 100, 4) == []
    d = decide(STT, RuleState(), 0, 3, {"queue_depth": None, "cpu": float("nan")})
    assert d.target == 3 and "no data" in d.reason


def test_bounds_are_restored_at_once():
    d = decide(STT, RuleState(last_change_at=0), 1, 6, MIDDLE)
    assert (d.target, d.reason) == (4, "outside bounds 2..4")
    d = decide(STT, RuleState(last_change_at=0), 1, 1, HOT)
    assert d.target == 2


def test_never_outside_bounds_whatever_the_series():
    import random

    rnd = random.Random(1)
    samples = [{"queue_depth": rnd.choice([0, 2, 12, 40, None]), "cpu": rnd.choice([0.1, 0.5, 0.9, None])}
               for _ in range(2000)]
    replicas, state = 2, RuleState()
    last_change = None
    for i, s in enumerate(samples):
        d = decide(STT, state, i * 15.0, replicas, s)
        assert 2 <= d.target <= 4 and abs(d.target - replicas) <= 1
        if d.target != replicas:
            if last_change is not None:
                assert i * 15.0 - last_change >= STT.cooldown_up_s
            last_change = i * 15.0
        replicas, state = d.target, d.state


def test_rule_validation():
    with pytest.raises(ValueError):
        ScalingRule("x", {"a": "up"}, (Condition("a", ">", 1),), (), min_replicas=3, max_replicas=2)
    with pytest.raises(ValueError):
        ScalingRule("x", {"a": "up"}, (Condition("b", ">", 1),), ())

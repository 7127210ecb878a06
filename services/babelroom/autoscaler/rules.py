"""Scaling rules and the pure decision function.

A rule scales one Swarm service between ``min_replicas`` and ``max_replicas``, one step at a time:

- **up** when *any* up-condition has held for ``up_for_s`` and no change happened in the last
  ``cooldown_up_s``;
- **down** when *all* down-conditions have held for ``down_for_s`` and no change happened in the last
  ``cooldown_down_s``;
- a metric that Prometheus did not return (``None``: no series, NaN) makes its condition false, so
  missing data never scales anything (it holds);
- replicas found outside the bounds (a manual ``docker service scale``) are brought back to the nearest
  bound at once, cooldown or not.

The design's rules (:func:`default_rules`): STT and MT 2–4 replicas, up on queue depth above 10 or CPU
above 80 %, down below 3 and 30 %; the gateway on request latency p95 above 200 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

Op = Literal[">", "<"]


@dataclass(frozen=True)
class Condition:
    """``metric op threshold``, where ``metric`` names one of the rule's queries."""

    metric: str
    op: Op
    threshold: float

    def holds(self, sample: dict[str, float | None]) -> bool:
        value = sample.get(self.metric)
        if value is None or math.isnan(value):
            return False
        return value > self.threshold if self.op == ">" else value < self.threshold

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class ScalingRule:
    """How one service scales. Durations in seconds."""

    service: str
    queries: dict[str, str]
    up_when: tuple[Condition, ...]
    down_when: tuple[Condition, ...]
    min_replicas: int = 2
    max_replicas: int = 4
    step: int = 1
    up_for_s: float = 60.0
    down_for_s: float = 300.0
    cooldown_up_s: float = 120.0
    cooldown_down_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError(f"{self.service}: need 1 <= min_replicas <= max_replicas")
        if self.step < 1:
            raise ValueError(f"{self.service}: step must be >= 1")
        for cond in (*self.up_when, *self.down_when):
            if cond.metric not in self.queries:
                raise ValueError(f"{self.service}: condition on {cond.metric!r} has no query")


@dataclass(frozen=True)
class RuleState:
    """What a rule remembers between steps (times in seconds, same clock as ``now``)."""

    last_change_at: float | None = None
    up_since: float | None = None
    down_since: float | None = None


@dataclass(frozen=True)
class Decision:
    service: str
    current: int
    target: int
    reason: str
    state: RuleState = field(default_factory=RuleState)

    @property
    def direction(self) -> str:
        return "up" if self.target > self.current else "down" if self.target < self.current else "hold"


def decide(
    rule: ScalingRule,
    state: RuleState,
    now: float,
    current: int,
    sample: dict[str, float | None],
) -> Decision:
    """The replicas ``rule.service`` should have now, and the state to keep for the next step."""
    if current < rule.min_replicas or current > rule.max_replicas:
        target = min(max(current, rule.min_replicas), rule.max_replicas)
        return Decision(
            rule.service, current, target, f"outside bounds {rule.min_replicas}..{rule.max_replicas}",
            RuleState(last_change_at=now),
        )

    up_now = [c for c in rule.up_when if c.holds(sample)]
    down_now = bool(rule.down_when) and all(c.holds(sample) for c in rule.down_when)
    up_since = (state.up_since if state.up_since is not None else now) if up_now else None
    down_since = (state.down_since if state.down_since is not None else now) if down_now else None
    kept = replace(state, up_since=up_since, down_since=down_since)
    since_change = math.inf if state.last_change_at is None else now - state.last_change_at

    if up_now:
        assert up_since is not None  # set above whenever up_now
        why = " or ".join(str(c) for c in up_now)
        if current >= rule.max_replicas:
            return Decision(rule.service, current, current, f"{why}, already at max", kept)
        if now - up_since < rule.up_for_s:
            return Decision(rule.service, current, current, f"{why} for {now - up_since:.0f}s, waiting", kept)
        if since_change < rule.cooldown_up_s:
            return Decision(rule.service, current, current, f"{why}, cooling down", kept)
        target = min(current + rule.step, rule.max_replicas)
        return Decision(rule.service, current, target, why, RuleState(last_change_at=now))

    if down_now:
        assert down_since is not None  # set above whenever down_now
        why = " and ".join(str(c) for c in rule.down_when)
        if current <= rule.min_replicas:
            return Decision(rule.service, current, current, f"{why}, already at min", kept)
        if now - down_since < rule.down_for_s:
            return Decision(rule.service, current, current, f"{why} for {now - down_since:.0f}s, waiting", kept)
        if since_change < rule.cooldown_down_s:
            return Decision(rule.service, current, current, f"{why}, cooling down", kept)
        target = max(current - rule.step, rule.min_replicas)
        return Decision(rule.service, current, target, why, RuleState(last_change_at=now))

    missing = sorted(k for k in rule.queries if sample.get(k) is None)
    reason = f"no data for {', '.join(missing)}" if missing else "within band"
    return Decision(rule.service, current, current, reason, kept)


def worker_queries(job: str, stream: str, window: str = "2m") -> dict[str, str]:
    """Queue depth of the worker's input stream and its CPU as a share of its limit (mean of tasks)."""
    return {
        "queue_depth": f'max(babelroom_bus_queue_depth{{stream="{stream}"}})',
        "cpu": (
            f'avg(rate(process_cpu_seconds_total{{job="{job}"}}[{window}])'
            f' / babelroom_cpu_limit_cores{{job="{job}"}})'
        ),
    }


def gateway_queries(job: str = "gateway", window: str = "2m") -> dict[str, str]:
    """p95 of the gateway's HTTP request latency (WebSockets are not requests and are not counted)."""
    return {
        "latency_p95": (
            "histogram_quantile(0.95, sum by (le) "
            f'(rate(babelroom_http_request_duration_seconds_bucket{{job="{job}"}}[{window}])))'
        ),
    }


def default_rules(
    stt_stream: str = "audio",
    mt_stream: str = "transcripts",
    min_replicas: int = 2,
    max_replicas: int = 4,
    cooldown_up_s: float = 120.0,
    cooldown_down_s: float = 300.0,
) -> list[ScalingRule]:
    """The design's rules. ``*_stream`` are the Redis streams the STT and MT workers consume."""
    workers = [
        ScalingRule(
            service=job,
            queries=worker_queries(job, stream),
            up_when=(Condition("queue_depth", ">", 10), Condition("cpu", ">", 0.80)),
            down_when=(Condition("queue_depth", "<", 3), Condition("cpu", "<", 0.30)),
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cooldown_up_s=cooldown_up_s,
            cooldown_down_s=cooldown_down_s,
        )
        for job, stream in (("stt", stt_stream), ("mt", mt_stream))
    ]
    gateway = ScalingRule(
        service="gateway",
        queries=gateway_queries(),
        up_when=(Condition("latency_p95", ">", 0.200),),
        down_when=(Condition("latency_p95", "<", 0.100),),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        cooldown_up_s=cooldown_up_s,
        cooldown_down_s=cooldown_down_s,
    )
    return [*workers, gateway]

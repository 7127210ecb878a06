"""One autoscaling step over every rule, the loop that repeats it, and its HTTP endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

import structlog

from babelroom.metrics import (
    AUTOSCALER_DECISIONS,
    AUTOSCALER_ERRORS,
    AUTOSCALER_REPLICAS,
    render_latest,
)

from .prometheus import PrometheusError
from .rules import Decision, RuleState, ScalingRule, decide
from .swarm import ServiceStatus, SwarmError

log = structlog.get_logger("babelroom.autoscaler")


class MetricsSource(Protocol):
    def query(self, expr: str, at: float | None = None) -> float | None: ...


class Scaler(Protocol):
    def status(self, service: str) -> ServiceStatus: ...

    def scale(self, service: str, replicas: int) -> None: ...


class Autoscaler:
    """Applies :func:`~babelroom.autoscaler.rules.decide` to each rule and carries out the changes."""

    def __init__(
        self,
        rules: Sequence[ScalingRule],
        prometheus: MetricsSource,
        scaler: Scaler,
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = list(rules)
        self.prometheus = prometheus
        self.scaler = scaler
        self.dry_run = dry_run
        self.clock = clock
        self.states: dict[str, RuleState] = {r.service: RuleState() for r in self.rules}
        self.last_step_at: float | None = None

    def sample(self, rule: ScalingRule, at: float | None) -> dict[str, float | None]:
        """Every query of ``rule``; a failed query counts as missing data."""
        out: dict[str, float | None] = {}
        for key, expr in rule.queries.items():
            try:
                out[key] = self.prometheus.query(expr, at=at)
            except PrometheusError as exc:
                AUTOSCALER_ERRORS.labels("prometheus").inc()
                log.warning("query failed", service=rule.service, metric=key, error=str(exc))
                out[key] = None
        return out

    def step(self, now: float | None = None) -> list[Decision]:
        """Decide and act once for every rule.

        Args:
            now: the time to decide at. Given (a replay of recorded series), Prometheus is asked for
                that moment too; omitted, the clock's time and Prometheus' latest values are used.
        """
        at = now
        now = self.clock() if now is None else now
        decisions: list[Decision] = []
        for rule in self.rules:
            try:
                status = self.scaler.status(rule.service)
            except SwarmError as exc:
                AUTOSCALER_ERRORS.labels("docker").inc()
                log.warning("cannot read service", service=rule.service, error=str(exc))
                continue
            AUTOSCALER_REPLICAS.labels(rule.service).set(status.replicas)
            if status.updating:
                log.info("rolling update under way, not scaling", service=rule.service)
                continue
            decision = decide(rule, self.states[rule.service], now, status.replicas, self.sample(rule, at))
            if decision.target != decision.current:
                if not self.dry_run:
                    try:
                        self.scaler.scale(rule.service, decision.target)
                    except SwarmError as exc:
                        AUTOSCALER_ERRORS.labels("docker").inc()
                        log.error("scaling failed", service=rule.service, error=str(exc))
                        continue  # state unchanged: the next step tries again
                    AUTOSCALER_REPLICAS.labels(rule.service).set(decision.target)
                AUTOSCALER_DECISIONS.labels(rule.service, decision.direction).inc()
                log.info(
                    "scaled" if not self.dry_run else "would scale (dry run)",
                    service=rule.service,
                    replicas_from=decision.current,
                    replicas_to=decision.target,
                    reason=decision.reason,
                )
            self.states[rule.service] = decision.state
            decisions.append(decision)
        self.last_step_at = now
        return decisions

    def run_forever(self, interval_s: float, stop: threading.Event) -> None:
        """Step every ``interval_s`` until ``stop`` is set; a failing step is logged, never fatal."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.step()
            except Exception:
                AUTOSCALER_ERRORS.labels("step").inc()
                log.exception("step failed")
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))


def serve_http(
    autoscaler: Autoscaler, port: int, interval_s: float, host: str = "0.0.0.0"
) -> ThreadingHTTPServer:
    """``/healthz`` (200 while steps keep completing), ``/readyz`` (same) and ``/metrics``, in a thread."""
    started = time.time()
    stale_after = 3 * interval_s + 30

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body, ctype = render_latest()
                self._send(200, body, ctype)
            elif self.path.split("?")[0] in ("/healthz", "/readyz"):
                last = autoscaler.last_step_at
                fresh = (time.time() - (last if last is not None else started)) < stale_after
                self._send(200 if fresh else 503, b"ok\n" if fresh else b"no step completed lately\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="autoscaler-http", daemon=True).start()
    return server

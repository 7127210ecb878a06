"""``babelroom autoscaler``: scale STT, MT and the gateway from Prometheus through the Docker Engine API.

Wiring (in babelroom/cli.py): ``app.command("autoscaler")(autoscaler_run)`` with
``from babelroom.autoscaler.cli import run as autoscaler_run``. Standalone: ``python -m
babelroom.autoscaler.cli --help``.
"""

from __future__ import annotations

import signal
import threading

import structlog
import typer

from babelroom.logs import LogLevel, configure_logging

from .engine import Autoscaler, serve_http
from .prometheus import PrometheusClient
from .rules import default_rules
from .swarm import SwarmScaler

log = structlog.get_logger("babelroom.autoscaler")


def run(
    prometheus_url: str = typer.Option("http://prometheus:9090", help="Prometheus base URL"),
    docker_url: str = typer.Option(
        "unix:///var/run/docker.sock", help="Engine API of a Swarm manager (unix:// or tcp://)"
    ),
    stack: str = typer.Option("babelroom", help="Stack name: services are <stack>_stt, <stack>_mt …"),
    services: str = typer.Option("stt,mt,gateway", help="Comma-separated services to scale"),
    interval: float = typer.Option(15.0, help="Seconds between two steps (the scrape interval)"),
    min_replicas: int = typer.Option(2, help="Lower bound of every scaled service"),
    max_replicas: int = typer.Option(4, help="Upper bound of every scaled service"),
    cooldown_up: float = typer.Option(120.0, help="Seconds after a change before scaling up again"),
    cooldown_down: float = typer.Option(300.0, help="Seconds after a change before scaling down"),
    stt_stream: str = typer.Option("audio", help="Redis stream the STT workers consume"),
    mt_stream: str = typer.Option("transcripts", help="Redis stream the MT workers consume"),
    port: int = typer.Option(9105, help="HTTP port of /healthz and /metrics"),
    dry_run: bool = typer.Option(False, help="Log decisions without changing any service"),
    once: bool = typer.Option(False, help="One step, print the decisions, exit"),
    log_level: LogLevel = typer.Option(LogLevel.INFO, envvar="BABELROOM_LOG_LEVEL", case_sensitive=False),
) -> None:
    """Scale services between bounds on queue depth, CPU and gateway latency, with cooldowns."""
    configure_logging(log_level)
    wanted = {s.strip() for s in services.split(",") if s.strip()}
    rules = [
        r
        for r in default_rules(stt_stream, mt_stream, min_replicas, max_replicas, cooldown_up, cooldown_down)
        if r.service in wanted
    ]
    unknown = wanted - {r.service for r in rules}
    if unknown:
        raise typer.BadParameter(f"no rule for {', '.join(sorted(unknown))}", param_hint="--services")
    autoscaler = Autoscaler(
        rules, PrometheusClient(prometheus_url), SwarmScaler.from_url(docker_url, stack), dry_run=dry_run or once
    )
    if once:
        for d in autoscaler.step():
            typer.echo(f"{d.service}: {d.current} -> {d.target} ({d.reason})")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = serve_http(autoscaler, port, interval)
    log.info("autoscaler started", services=sorted(wanted), interval_s=interval, dry_run=dry_run,
             bounds=[min_replicas, max_replicas])
    try:
        autoscaler.run_forever(interval, stop)
    finally:
        server.shutdown()
        log.info("autoscaler stopped")


app = typer.Typer(add_completion=False, help=__doc__)
app.command()(run)

if __name__ == "__main__":
    app()

"""The local stack for ``make demo``, ``make bench`` and the end-to-end tests.

Starts the embedded PostgreSQL (``<state_dir>/postgres``, unix socket) and migrates it, its own
``redis-server`` on a free loopback port, and the services as child processes
(``python -m babelroom.cli gateway|stt|mt``; the gateway also runs the ``persist`` consumer), waits
until each answers ``/readyz``, and stops every one of them on exit, Ctrl-C included. Logs go to
``<state_dir>/logs/<service>.log``.

Redis keeps its data in an append-only file (``appendonly yes``, ``appendfsync everysec``) under
``<state_dir>/redis``, so a Redis restart loses at most the last second of writes, not every room.

Fault injection (``babelroom chaos``, the chaos tests): :meth:`LocalStack.stop_service` /
:meth:`LocalStack.start_service` stop (SIGTERM, or SIGKILL) and restart any child with the same
command, port and environment; :meth:`LocalStack.restart_redis` restarts Redis on its port, keeping or
deleting its files; :meth:`LocalStack.stop_postgres` / :meth:`LocalStack.start_postgres` stop and
start the embedded PostgreSQL on the same socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import redis
import structlog

from babelroom.db.embedded import embedded_database, start_embedded, stop_embedded, stop_embedded_server
from babelroom.db.migrate import upgrade

log = structlog.get_logger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """A child process of the stack."""

    name: str
    process: subprocess.Popen[bytes]
    ready_url: str | None
    log_path: Path
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalStack:
    """PostgreSQL and Redis plus gateway, ``stt_workers`` STT and ``mt_workers`` MT processes on loopback.

    Args:
        state_dir: where logs and Redis files go.
        stt_workers, mt_workers: processes per stage (they share one consumer group each).
        env: extra ``BABELROOM_*`` variables for every service.
        ready_timeout_s: how long to wait for every ``/readyz`` (s).
        media: also run ``babelroom media`` (the RTP audio tap); its UDP port is then ``media_rtp_port``.
        tts: also run ``babelroom tts`` (spoken translations for audio listeners), as ``tts-0``.
        jobs_queues: also run ``babelroom jobs --queue <jobs_queues>`` (a Celery worker, e.g. ``diarization``),
            as ``jobs``; empty: none.

    Raises:
        RuntimeError: redis-server is missing, or a service exits or is not ready in time.
    """

    state_dir: Path
    stt_workers: int = 1
    mt_workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout_s: float = 180.0
    services: list[Service] = field(default_factory=list)
    redis_url: str = ""
    database_url: str = ""
    media: bool = False  # also run `babelroom media`, the RTP audio tap, on UDP 127.0.0.1:media_rtp_port
    media_rtp_port: int = 0
    gateway_url: str = ""
    tts: bool = False
    jobs_queues: str = ""

    def __enter__(self) -> LocalStack:
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run __exit__ on SIGTERM too
        self._previous_sigterm = previous
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        signal.signal(signal.SIGTERM, self._previous_sigterm)

    def start(self) -> None:
        """Start PostgreSQL (migrated) and Redis, then the services; return when all are ready."""
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.database_url = embedded_database(self._pgdata())
        upgrade(self.database_url)
        redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        self._redis_dir().mkdir(parents=True, exist_ok=True)
        self._spawn(
            "redis",
            [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--timeout", "300",
             "--dir", str(self._redis_dir())],
            ready_url=None,
        )
        self._wait_redis()
        gateway_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        self._spawn_service("gateway", {"BABELROOM_GATEWAY_PORT": str(gateway_port)}, gateway_port)
        for i in range(self.stt_workers):
            port = free_port()
            self._spawn_service(f"stt-{i}", {"BABELROOM_STT_METRICS_PORT": str(port)}, port, "stt")
        for i in range(self.mt_workers):
            port = free_port()
            self._spawn_service(f"mt-{i}", {"BABELROOM_MT_METRICS_PORT": str(port)}, port, "mt")
        if self.media:
            port, self.media_rtp_port = free_port(), free_udp_port()
            self._spawn_service("media", {"BABELROOM_MEDIA_METRICS_PORT": str(port),
                                          "BABELROOM_MEDIA_HOST": "127.0.0.1",
                                          "BABELROOM_MEDIA_RTP_PORT": str(self.media_rtp_port)}, port)
        if self.tts:
            port = free_port()
            self._spawn_service("tts-0", {"BABELROOM_TTS_METRICS_PORT": str(port)}, port, "tts")
        if self.jobs_queues:
            port = free_port()
            self._spawn_service("jobs", {"BABELROOM_JOBS_METRICS_PORT": str(port)}, port,
                                ["jobs", "--queue", self.jobs_queues])
        self._wait_ready()

    def ws_url(self, path: str) -> str:
        """The gateway's WebSocket URL for ``path``."""
        return self.gateway_url.replace("http://", "ws://") + path

    def metrics_urls(self, prefix: str) -> list[str]:
        """``/metrics`` URLs of the services whose name starts with ``prefix``."""
        return [
            s.ready_url.replace("/readyz", "/metrics")
            for s in self.services
            if s.name.startswith(prefix) and s.ready_url
        ]

    def pids(self) -> list[int]:
        """Process ids of every child (for CPU accounting)."""
        return [s.process.pid for s in self.services]

    def service(self, name: str) -> Service:
        """The child called ``name`` (``redis``, ``gateway``, ``stt-0``, …).

        Raises:
            KeyError: no such child.
        """
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def stop_service(self, name: str, kill: bool = False, timeout_s: float = 10.0) -> None:
        """Stop the child ``name``: SIGTERM (SIGKILL after ``timeout_s``), or SIGKILL at once with ``kill``.

        Raises:
            KeyError: no such child.
        """
        process = self.service(name).process
        if process.poll() is None:
            if kill:
                process.kill()
            else:
                process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start_service(self, name: str, wait_ready: bool = True) -> None:
        """Start the child ``name`` again with its command, port and environment (its log is appended to);
        with ``wait_ready``, return once it answers ``/readyz`` (Redis: accepts connections).

        Raises:
            KeyError: no such child.
            RuntimeError: it is still running, or exits or is not ready in time.
        """
        old = self.service(name)
        if old.process.poll() is None:
            raise RuntimeError(f"{name} is still running")
        with old.log_path.open("ab") as out:
            old.process = subprocess.Popen(
                old.argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **old.env},
                start_new_session=True,
            )
        if not wait_ready:
            return
        if name == "redis":
            self._wait_redis()
        else:
            self._wait_ready([old])

    def restart_redis(self, keep_data: bool, kill: bool = False) -> None:
        """Stop Redis (SIGTERM, which flushes the AOF; SIGKILL with ``kill``), then start it on the same port.

        ``keep_data=False`` deletes its files (AOF directory, RDB) in between: every stream, consumer
        group, lease and registration is gone, as after losing the Redis volume.
        """
        self.stop_service("redis", kill=kill)
        if not keep_data:
            shutil.rmtree(self._redis_dir())
            self._redis_dir().mkdir()
        self.start_service("redis")

    def stop_postgres(self) -> None:
        """Stop the embedded PostgreSQL (``pg_ctl stop``, fast mode): clients see refused connections."""
        stop_embedded_server(self._pgdata())

    def start_postgres(self) -> None:
        """Start the embedded PostgreSQL again on the same socket (the services' URL stays valid).

        Raises:
            RuntimeError: it came back on another socket directory.
        """
        url = start_embedded(self._pgdata())
        if url != self.database_url:
            raise RuntimeError(f"PostgreSQL came back at {url}, not {self.database_url}")

    def postgres_pid(self) -> int | None:
        """The embedded PostgreSQL's postmaster pid (first line of ``postmaster.pid``), None when it is down."""
        pidfile = self._pgdata() / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def _spawn(self, name: str, argv: list[str], ready_url: str | None, env: dict[str, str] | None = None) -> None:
        log_path = self.state_dir / "logs" / f"{name}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.services.append(Service(name, process, ready_url, log_path, argv, env or {}))

    def _spawn_service(self, name: str, env: dict[str, str], port: int,
                       command: str | list[str] | None = None) -> None:
        args = [command or name] if not isinstance(command, list) else command
        self._spawn(
            name,
            [sys.executable, "-m", "babelroom.cli", *args],
            ready_url=f"http://127.0.0.1:{port}/readyz",
            env={**self.env, **env, "BABELROOM_REDIS_URL": self.redis_url, "BABELROOM_INSTANCE_ID": name,
                 "BABELROOM_DATABASE_URL": self.database_url},
        )

    def _wait_redis(self) -> None:
        """Wait until Redis answers PING (not LOADING: it has read its AOF back)."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=1)
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start; see {self.state_dir / 'logs' / 'redis.log'}")

    def _wait_ready(self, services: list[Service] | None = None) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        pending = [(s, url) for s in services or self.services if (url := s.ready_url)]
        while pending:
            for s, url in list(pending):
                if s.process.poll() is not None:
                    tail = s.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{s.name} exited with {s.process.returncode}:\n{tail}")
                try:
                    if httpx.get(url, timeout=1.0).status_code == 200:
                        pending.remove((s, url))
                        log.info("devstack.ready", service=s.name)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {self.ready_timeout_s} s: {[s.name for s, _ in pending]}")
            time.sleep(0.2)

    def _redis_dir(self) -> Path:
        return (self.state_dir / "redis").resolve()

    def _pgdata(self) -> Path:
        return (self.state_dir / "postgres").resolve()

    def stop(self) -> None:
        """SIGTERM every child (services first, Redis last), then SIGKILL what is left after 10 s;
        then stop PostgreSQL."""
        for s in reversed(self.services):
            if s.process.poll() is None:
                s.process.terminate()
        deadline = time.monotonic() + 10
        for s in reversed(self.services):
            try:
                s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.process.wait()
        self.services.clear()
        if self.database_url:
            stop_embedded(self._pgdata())
            self.database_url = ""

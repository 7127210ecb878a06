"""Faults that ``babelroom chaos`` and the chaos tests inject into a :class:`~babelroom.dev.devstack.LocalStack`.

- :class:`HttpStandIn`: an address an HTTP dependency's URL is pointed at (LibreTranslate for the MT
  worker, ``BABELROOM_LIBRETRANSLATE_URL``; Google's speech for the TTS worker, ``BABELROOM_TTS_GTTS_URL``)
  that either refuses connections (``refuse``: nothing listens) or accepts them and never answers
  (``silent``: a thread holds every socket open without reading a request or sending a reply).
- :func:`kill_holding_entries`: SIGKILL a worker of a consumer group while it holds unacknowledged
  entries (the case the bus's reclaim exists for), then start it again.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from babelroom.dev.devstack import LocalStack, free_port

StandInMode = Literal["refuse", "silent"]


class HttpStandIn:
    """The URL of an HTTP dependency that fails in one way (``mode``), on a free loopback port.

    Use as a context manager; :attr:`url` is valid once entered. ``refuse`` binds nothing, so a
    connection is refused at once; ``silent`` accepts every connection and never sends a byte.
    """

    def __init__(self, mode: StandInMode) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HttpStandIn:
        if self.mode == "silent":
            self._server = socket.create_server(("127.0.0.1", self.port))
            self._thread = threading.Thread(target=self._accept, name="http-silent", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
            self._server.close()
        for conn in self._held:
            conn.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed by __exit__
                return
            self._held.append(conn)


@dataclass
class Kill:
    """One SIGKILL: which worker, how many entries it held, when it died and when it was ready again
    (wall clock, s since the epoch)."""

    service: str
    held: int
    killed_at: float
    ready_at: float


async def _held(client: aioredis.Redis, stream: str, group: str, consumer: str) -> int:
    try:
        consumers = await client.xinfo_consumers(stream, group)
    except aioredis.ResponseError:  # no such stream or group yet
        return 0
    return next((int(c["pending"]) for c in consumers if c["name"].decode() == consumer), 0)


async def kill_holding_entries(
    stack: LocalStack, service: str, stream: str, group: str, *, wait_s: float = 5.0
) -> Kill:
    """SIGKILL ``service`` once its consumer in ``group`` of ``stream`` holds pending entries (or after
    ``wait_s`` seconds if it never does: ``held`` is then 0), then start it again and wait until it is ready.
    """
    process = stack.service(service).process
    consumer = f"{service}-{process.pid}"  # babelroom.runner.consumer_name with INSTANCE_ID = service
    client = aioredis.Redis.from_url(stack.redis_url)
    try:
        deadline = time.monotonic() + wait_s
        held = 0
        while time.monotonic() < deadline:
            held = await _held(client, stream, group, consumer)
            if held:
                break
            await asyncio.sleep(0.005)
    finally:
        await client.aclose()
    stack.stop_service(service, kill=True)
    killed_at = time.time()
    await asyncio.to_thread(stack.start_service, service)
    return Kill(service, held, killed_at, time.time())

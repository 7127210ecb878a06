"""``babelroom media``: receives Janus's RTP forwards of publishers' audio and feeds the pipeline.

One UDP socket (asyncio ``DatagramProtocol``) takes every forwarded stream; packets are told apart by
SSRC, which the registry (:mod:`babelroom.media.forwards`) maps to a room and a speaker. Each known
SSRC gets an :class:`~babelroom.media.stream.RtpAudioStream` task with its own jitter buffer, Opus
decoder and :class:`~babelroom.ingest.SpeakerIngest` — the ingest the audio WebSocket uses.

- An unknown SSRC is looked up in Redis once; its packets wait (up to 100) for the answer, so the
  first words of a tap are not lost. An SSRC that is not registered is ignored for a second, then
  looked up again.
- A tap removed from the registry (``remove`` on ``media:forwards:changes``, or gone at the periodic
  check) is finished: buffered packets are played, the open segment is flushed to the bus.
- RTCP (Janus may multiplex it) is counted and ignored.

Ops: ``/healthz``, ``/readyz`` (Redis reachable, socket bound), ``/metrics`` on ``media_metrics_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
import structlog

from babelroom import metrics
from babelroom.bus.streams import AUDIO_STREAM, Publisher
from babelroom.config import Settings
from babelroom.ingest import SpeakerIngest
from babelroom.media.forwards import CHANGES_CHANNEL, FORWARDS_KEY, Forward, ForwardRegistry
from babelroom.media.rtp import RtpError, is_rtcp, parse_rtp
from babelroom.media.stream import RtpAudioStream
from babelroom.ops_http import serve_ops

log = structlog.get_logger(__name__)
PENDING_MAX = 100
UNKNOWN_RETRY_S = 1.0
RECONCILE_S = 5.0


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, service: MediaService) -> None:
        self.service = service

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.service.datagram_received(data)


class MediaService:
    """The RTP receiver and its streams, inside a running event loop.

    Args:
        settings: ``media_*``, VAD and bus settings.
        redis: asyncio Redis client (registry, segment numbering, bus).
        publisher: the ``audio`` stream publisher; by default one made from ``settings``.
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis, publisher: Publisher | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.publisher = publisher or Publisher.for_stream(redis, AUDIO_STREAM, settings)
        self.registry = ForwardRegistry(redis)
        self.streams: dict[int, RtpAudioStream] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._pending: dict[int, list] = {}
        self._unknown_until: dict[int, float] = {}
        self._background: set[asyncio.Task] = set()
        self.transport: asyncio.DatagramTransport | None = None
        self.address: tuple[str, int] | None = None

    async def start(self, host: str | None = None, port: int | None = None,
                    sock: socket.socket | None = None) -> tuple[str, int]:
        """Bind the RTP socket (``host:port``, default the settings; or adopt ``sock``); returns the
        bound address. Also starts the registry watcher."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self),
                local_addr=(host or self.settings.media_host,
                            self.settings.media_rtp_port if port is None else port),
            )
            sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # a bigger receive buffer rides out event-loop stalls
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.transport = transport
        self.address = transport.get_extra_info("sockname")[:2]
        self._spawn(self._watch_changes())
        self._spawn(self._reconcile_loop())
        log.info("media.listening", address=self.address)
        return self.address

    async def stop(self) -> None:
        """Close the socket, finish every stream (their open segments are flushed) and stop."""
        if self.transport is not None:
            self.transport.close()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(*(self.close_stream(ssrc) for ssrc in list(self.streams)))

    # --- packets ---

    def datagram_received(self, data: bytes) -> None:
        """Route one datagram (called by the protocol)."""
        if is_rtcp(data):
            metrics.MEDIA_PACKETS.labels("rtcp").inc()
            return
        try:
            packet = parse_rtp(data)
        except RtpError:
            metrics.MEDIA_PACKETS.labels("malformed").inc()
            return
        stream = self.streams.get(packet.ssrc)
        if stream is not None:
            if not stream.put(packet):
                metrics.MEDIA_PACKETS.labels("overflow").inc()
            return
        pending = self._pending.get(packet.ssrc)
        if pending is not None:
            if len(pending) < PENDING_MAX:
                pending.append(packet)
            else:
                metrics.MEDIA_PACKETS.labels("overflow").inc()
            return
        if self._unknown_until.get(packet.ssrc, 0.0) > time.monotonic():
            metrics.MEDIA_PACKETS.labels("unknown_ssrc").inc()
            return
        self._pending[packet.ssrc] = [packet]
        self._spawn(self._lookup(packet.ssrc))

    async def _lookup(self, ssrc: int) -> None:
        try:
            forward = await self.registry.get(ssrc)
        except Exception as exc:  # noqa: BLE001 - Redis down: treat as unknown, retry later
            log.warning("media.lookup_failed", ssrc=ssrc, error=repr(exc))
            forward = None
        packets = self._pending.pop(ssrc, [])
        if forward is None:
            self._unknown_until[ssrc] = time.monotonic() + UNKNOWN_RETRY_S
            metrics.MEDIA_PACKETS.labels("unknown_ssrc").inc(len(packets))
            return
        self._unknown_until.pop(ssrc, None)
        stream = self.open_stream(forward)
        for packet in packets:
            if not stream.put(packet):
                metrics.MEDIA_PACKETS.labels("overflow").inc()

    # --- streams ---

    def open_stream(self, forward: Forward) -> RtpAudioStream:
        """Start decoding ``forward``'s SSRC (normally done on its first packet)."""
        if forward.ssrc in self.streams:
            return self.streams[forward.ssrc]
        ingest = SpeakerIngest(
            room=forward.room,
            speaker=forward.participant,
            speaker_name=forward.name or forward.participant,
            language=forward.language,
            settings=self.settings,
            redis=self.redis,
            publisher=self.publisher,
        )
        stream = RtpAudioStream(forward, ingest, self.settings)
        self.streams[forward.ssrc] = stream
        self._tasks[forward.ssrc] = asyncio.create_task(self._run(forward.ssrc, stream))
        log.info("media.stream_opened", ssrc=forward.ssrc, room=forward.room, speaker=forward.participant)
        return stream

    async def _run(self, ssrc: int, stream: RtpAudioStream) -> None:
        try:
            await stream.run()
        except Exception as exc:  # noqa: BLE001 - one broken stream must not stop the others
            log.error("media.stream_failed", ssrc=ssrc, error=repr(exc))
        finally:
            if self.streams.get(ssrc) is stream:
                del self.streams[ssrc]
                self._tasks.pop(ssrc, None)
            stats = stream.jitter.stats
            log.info("media.stream_closed", ssrc=ssrc, room=stream.forward.room,
                     speaker=stream.forward.participant, received=stats.received, lost=stats.lost,
                     reordered=stats.reordered, duplicates=stats.duplicates, late=stats.late,
                     segments=len(stream.notices))

    async def close_stream(self, ssrc: int) -> None:
        """Finish ``ssrc``'s stream: play what is buffered, flush the open segment; wait for it."""
        stream, task = self.streams.get(ssrc), self._tasks.get(ssrc)
        if stream is None or task is None:
            return
        stream.close_soon()
        await asyncio.shield(task)

    # --- registry changes ---

    async def _watch_changes(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANGES_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        change = json.loads(message["data"])
                        if change.get("op") == "remove":
                            self._spawn(self.close_stream(int(change["ssrc"])))
                        elif change.get("op") == "add":
                            self._unknown_until.pop(int(change["ssrc"]), None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: resubscribe
                log.warning("media.watch_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _reconcile_loop(self) -> None:
        """Close streams whose tap vanished without a ``remove`` message reaching us."""
        while True:
            await asyncio.sleep(RECONCILE_S)
            try:
                registered = {int(k) for k in await self.redis.hkeys(FORWARDS_KEY)}
            except Exception:  # noqa: BLE001
                continue
            for ssrc in set(self.streams) - registered:
                self._spawn(self.close_stream(ssrc))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def serve(settings: Settings) -> None:
    """Run the media service with its ops server until SIGINT/SIGTERM."""
    redis = aioredis.from_url(settings.redis_url)
    service = MediaService(settings, redis)
    await service.start()

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    async def socket_ready() -> bool:
        return service.transport is not None and not service.transport.is_closing()

    try:
        await serve_ops({"redis": redis_ready, "rtp_socket": socket_ready}, "0.0.0.0",
                        settings.media_metrics_port)
    finally:
        await service.stop()
        await redis.aclose()

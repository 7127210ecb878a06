"""One reader per room: the room's captions and notices, read once per gateway and fanned out to its sockets.

A :class:`RoomFeeds` (``app.state.feeds``) keeps, per room with at least one open socket on this
gateway, one task that reads the room's caption stream and notice stream with a single blocking
XREAD and puts every entry on the queue of each :class:`Subscription` (one per socket). So a room's
sockets hold one Redis connection between them, not one each (issue 8, D5), and the last socket to
go stops the task.

Redis errors: the reader retries its XREAD with exponential back-off (0.1 s doubling to 2 s, counted
in ``babelroom_room_feed_retries_total``); if Redis stays unreachable for ``ws_redis_outage_grace_s``
every subscription ends with close 1013. When Redis comes back without the caption stream the reader
was following (a restart without persistence, ``FLUSHALL``), or it vanishes between reads, each
socket gets a ``history_lost`` notice (captions between its last one and the loss are gone, and
``room_seq`` numbering starts again) and reading resumes from the stream's start.

A socket that falls ``ws_queue_messages`` behind is ended with close 1013 (reconnect with ``since=``).

Speech: while at least one subscription wants it (an audio-mode caption socket), the same XREAD also
follows the room's ``tts:{room}`` stream (from the moment the first such socket subscribed) and hands
each :class:`~babelroom.bus.schemas.SpeechAudio` to those subscriptions only. Speech is never replayed:
a ``tts:{room}`` stream that lost the feed's position is followed from its start again without a notice
(the sockets drop what is stale).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import KeyT, StreamIdT

from babelroom import metrics
from babelroom.bus.schemas import Caption, Notice, SpeechAudio
from babelroom.bus.streams import StreamEntries, StreamsReply, captions_stream, notices_stream, tts_stream

log = structlog.get_logger(__name__)
BLOCK_MS = 1000
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.1, 2.0
REDIS_UNAVAILABLE = (1013, "try again later: redis unavailable")


@dataclass(frozen=True)
class Ended:
    """The feed ends this subscription: close the socket with ``code`` and ``reason``."""

    code: int
    reason: str


#: What a subscription's queue holds: (stream id or "", message).
FeedItem = tuple[str, Caption | Notice | SpeechAudio | Ended]


@dataclass(eq=False)
class Subscription:
    """One socket's place in a room feed; read :attr:`queue`."""

    room: str
    captions: bool
    queue: asyncio.Queue[FeedItem]
    speech: bool = False
    ended: bool = False

    def put(self, item: FeedItem) -> None:
        """Queue ``item``; a full queue ends the subscription (the socket fell behind)."""
        if self.ended:
            return
        if isinstance(item[1], Ended):
            self.ended = True
        elif self.queue.full():
            self.ended = True
            item = ("", Ended(1013, "try again later: this socket fell behind; reconnect with since="))
        if self.queue.full():
            self.queue.get_nowait()  # room for the Ended item
        self.queue.put_nowait(item)


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id ``"<ms>-<seq>"`` as a sortable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class _Feed:
    room: str
    captions_from: str
    notices_from: str
    subscribers: set[Subscription] = field(default_factory=set)
    speech_from: str | None = None  # None: no subscriber wants speech, tts:{room} is not read
    task: asyncio.Task[None] | None = None


class RoomFeeds:
    """The gateway's room feeds.

    Args:
        redis: the gateway's asyncio client (``decode_responses=False``).
        outage_grace_s: how long a feed keeps retrying an unreachable Redis before ending its subscriptions.
        queue_messages: each subscription's queue size.
    """

    def __init__(self, redis: aioredis.Redis, *, outage_grace_s: float, queue_messages: int) -> None:
        self.redis = redis
        self.outage_grace_s = outage_grace_s
        self.queue_messages = queue_messages
        self._feeds: dict[str, _Feed] = {}

    async def subscribe(self, room: str, *, captions: bool, speech: bool = False) -> Subscription:
        """A new subscription to ``room``'s notices (and captions when ``captions``, spoken translations
        when ``speech``), from now on.

        Raises:
            redis.exceptions.ConnectionError: Redis is unreachable while a new feed looks up where to start.
        """
        speech_start = await self._last_id(tts_stream(room)) if speech else None
        feed = self._feeds.get(room)
        if feed is None:
            caption_start, notice_start = await asyncio.gather(
                self._last_id(captions_stream(room)), self._last_id(notices_stream(room)))
            feed = self._feeds.get(room)  # another socket of the room may have started it meanwhile
            if feed is None:
                feed = self._feeds[room] = _Feed(room, caption_start, notice_start)
                feed.task = asyncio.create_task(self._run(feed), name=f"room-feed:{room}")
                metrics.ROOM_FEEDS.inc()
        if feed.speech_from is None:
            feed.speech_from = speech_start  # no await from here on: the feed's task may not see it empty
        subscription = Subscription(room, captions, asyncio.Queue(self.queue_messages), speech=speech)
        feed.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Drop ``subscription``; the room's feed stops with its last one."""
        feed = self._feeds.get(subscription.room)
        if feed is None:
            return
        feed.subscribers.discard(subscription)
        if not feed.subscribers:
            self._stop(feed)
        elif not any(s.speech for s in feed.subscribers):
            feed.speech_from = None

    def _stop(self, feed: _Feed) -> None:
        if self._feeds.get(feed.room) is feed:
            del self._feeds[feed.room]
            metrics.ROOM_FEEDS.dec()
        if feed.task is not None and feed.task is not asyncio.current_task():
            feed.task.cancel()

    async def close(self) -> None:
        """Stop every feed (the gateway shuts down)."""
        tasks = [f.task for f in self._feeds.values() if f.task is not None]
        for feed in list(self._feeds.values()):
            self._stop(feed)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _last_id(self, stream: str) -> str:
        last = cast(StreamEntries, await self.redis.xrevrange(stream, count=1))
        return last[0][0].decode() if last else "0-0"

    async def _run(self, feed: _Feed) -> None:
        loop = asyncio.get_running_loop()
        backoff, down_since = FIRST_BACKOFF_S, None
        captions, notices, speech = captions_stream(feed.room), notices_stream(feed.room), tts_stream(feed.room)
        try:
            while feed.subscribers:
                try:
                    if down_since is not None:
                        await self._check_lost(feed, "store_reset")
                    positions: dict[KeyT, StreamIdT] = {captions: feed.captions_from, notices: feed.notices_from}
                    if feed.speech_from is not None:
                        positions[speech] = feed.speech_from
                    reply = cast(StreamsReply, await self.redis.xread(positions, block=BLOCK_MS, count=100))
                    if not reply:
                        await self._check_lost(feed, "stream_gone")
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    metrics.ROOM_FEED_RETRIES.labels(type(exc).__name__).inc()
                    down_since = loop.time() if down_since is None else down_since
                    if loop.time() - down_since >= self.outage_grace_s:
                        log.warning("room_feed.redis_unavailable", room=feed.room, error=repr(exc))
                        metrics.DEPENDENCY_UNAVAILABLE.labels("redis", "socket").inc(len(feed.subscribers))
                        self._broadcast(feed, ("", Ended(*REDIS_UNAVAILABLE)))
                        return
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                backoff, down_since = FIRST_BACKOFF_S, None
                for stream, items in reply or []:
                    for raw_id, fields in items:
                        entry_id = raw_id.decode()
                        if stream.decode() == captions:
                            feed.captions_from = entry_id
                            self._broadcast(feed, (entry_id, Caption.from_fields(fields)), only="captions")
                        elif stream.decode() == speech:
                            if feed.speech_from is not None:  # else the last audio socket left meanwhile
                                feed.speech_from = entry_id
                                self._broadcast(feed, (entry_id, SpeechAudio.from_fields(fields)), only="speech")
                        else:
                            feed.notices_from = entry_id
                            self._broadcast(feed, (entry_id, Notice.from_fields(fields)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("room_feed.failed", room=feed.room)
            self._broadcast(feed, ("", Ended(1011, "internal error")))
        finally:
            self._stop(feed)

    async def _check_lost(self, feed: _Feed, cause: str) -> None:
        """Detect streams that lost the entry the feed last read (Redis restarted without its data,
        ``FLUSHALL``, expiry, trimming): follow them from their start again, and tell caption sockets."""
        for name, position in (("captions", feed.captions_from), ("notices", feed.notices_from),
                               ("speech", feed.speech_from)):
            if position is None or position == "0-0":
                continue
            stream = {"captions": captions_stream, "notices": notices_stream, "speech": tts_stream}[name](feed.room)
            if await self.redis.xrange(stream, position, position, count=1):
                continue
            if name == "notices":
                feed.notices_from = "0-0"
                continue
            if name == "speech":
                if feed.speech_from is not None:
                    feed.speech_from = "0-0"
                continue
            feed.captions_from = "0-0"
            metrics.CAPTION_HISTORY_LOST.labels(cause).inc()
            log.warning("room_feed.history_lost", room=feed.room, cause=cause, position=position)
            self._broadcast(feed, ("", history_lost(feed.room, cause)), only="captions")

    def _broadcast(self, feed: _Feed, item: FeedItem, *, only: Literal["captions", "speech"] | None = None) -> None:
        """Queue ``item`` for every subscription, or only for those that want ``only``."""
        for subscription in list(feed.subscribers):
            if only is None or (subscription.captions if only == "captions" else subscription.speech):
                subscription.put(item)


def history_lost(room: str, cause: str, since: int | None = None) -> Notice:
    """The ``history_lost`` notice: captions the client has not seen can no longer be sent.

    ``cause``: ``store_reset`` (Redis lost its data; ``room_seq`` numbering restarts), ``stream_gone``
    (the stream vanished) or ``trimmed`` (older than what the stream keeps). ``since``: the client's
    last ``room_seq``, when known.
    """
    after = f" after room_seq {since}" if since is not None else ""
    message = {
        "store_reset": f"captions{after} were lost: the caption store restarted; room_seq numbering restarts",
        "stream_gone": f"captions{after} were lost: the room's caption stream is gone",
        "trimmed": f"captions{after} are no longer kept: the saved transcript has the finals",
    }[cause]
    return Notice(room=room, code="history_lost", reason=cause, message=message)

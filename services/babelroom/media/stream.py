"""One forwarded publisher's audio: RTP packets in, segments on the bus out.

Per packet: jitter buffer (order, duplicates, losses) → Opus decode, or concealment of a lost packet
(in-band FEC from the next packet when it is there, else PLC) → s16le 48 kHz → the audio WebSocket's
:class:`~babelroom.audio.pcm.PcmDecoder` (16 kHz float32) → :class:`~babelroom.ingest.SpeakerIngest`:
from the PCM on, this is the audio WebSocket's path exactly.

Timeline: the segmenter counts samples, so the stream keeps the RTP clock's pace: where timestamps
jump further than the packets account for (DTX, a paused sender) silence of that length is inserted
(up to ``media_max_gap_fill_ms``), and when no packet has come for ``media_idle_flush_ms`` the open
segment is finished, as when a WebSocket speaker ends the stream.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from babelroom import metrics
from babelroom.audio.pcm import PcmDecoder, StreamFormat
from babelroom.config import Settings
from babelroom.ingest import SegmentNotice, SpeakerIngest
from babelroom.media.forwards import Forward
from babelroom.media.jitter import JitterBuffer, Slot
from babelroom.media.opus import OPUS_RATE, OpusDecoder, OpusError, packet_samples
from babelroom.media.rtp import RtpPacket, ts_delta

log = structlog.get_logger(__name__)
DEFAULT_FRAME = OPUS_RATE // 50  # 20 ms, until a packet says otherwise
SILENCE_CHUNK = 2 * OPUS_RATE // 10  # inserted silence goes in 100 ms pieces (bytes)


class RtpAudioStream:
    """Decodes one SSRC into a :class:`SpeakerIngest`. Feed it with :meth:`put`; it runs :meth:`run`.

    Args:
        forward: who speaks (from the registry).
        ingest: the speaker's ingest (segmenter + bus), as the WebSocket builds it.
        settings: ``media_*`` settings.
    """

    def __init__(self, forward: Forward, ingest: SpeakerIngest, settings: Settings) -> None:
        self.forward = forward
        self.ingest = ingest
        self.jitter = JitterBuffer(settings.media_jitter_ms / 1000, settings.media_jitter_max_packets)
        self.opus = OpusDecoder()
        self.pcm = PcmDecoder(
            StreamFormat(participant=forward.participant, name=forward.name or forward.participant,
                         language=forward.language, sample_rate=OPUS_RATE, channels=1),
            max_frame_bytes=2 * 5760,  # a 120 ms packet, the longest Opus has
        )
        self.queue: asyncio.Queue[tuple[RtpPacket, float] | None] = asyncio.Queue(settings.media_queue_packets)
        self.idle_s = settings.media_idle_flush_ms / 1000
        self.max_gap = OPUS_RATE * settings.media_max_gap_fill_ms // 1000
        self.notices: list[SegmentNotice] = []
        self.decoded_samples = 0  # at 48 kHz, concealment and inserted silence included
        self._frame = DEFAULT_FRAME  # duration of the last packet (samples at 48 kHz)
        self._next_ts: int | None = None  # RTP timestamp where the next packet should start
        self._open_segment = False  # audio fed since the last flush

    def put(self, packet: RtpPacket) -> bool:
        """Queue a packet (from the datagram callback); False when the queue is full (dropped)."""
        try:
            self.queue.put_nowait((packet, time.monotonic()))
            return True
        except asyncio.QueueFull:
            return False

    def close_soon(self) -> None:
        """Ask :meth:`run` to finish: flush the buffer and the open segment, then return."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:  # drop one packet to make room for the end marker
            self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def run(self) -> None:
        """Process packets until :meth:`close_soon`; losses are declared on the jitter deadline."""
        metrics.MEDIA_STREAMS.inc()
        try:
            while True:
                deadline = self.jitter.deadline()
                timeout = self.idle_s if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    if deadline is not None:
                        await self._play(self.jitter.poll(time.monotonic()))
                    elif self._open_segment:
                        await self._end_of_talk()
                    continue
                if item is None:
                    break
                packet, arrived = item
                await self._play(self._push(packet, arrived))
        finally:
            await self._play(self.jitter.flush(time.monotonic()))
            await self._end_of_talk()
            self.opus.close()
            metrics.MEDIA_STREAMS.dec()

    def _push(self, packet: RtpPacket, arrived: float) -> list[Slot]:
        stats = self.jitter.stats
        before = (stats.duplicates, stats.late, stats.reordered)
        slots = self.jitter.push(packet, arrived)
        duplicate, late, reordered = (a - b for a, b in
                                      zip((stats.duplicates, stats.late, stats.reordered), before, strict=True))
        outcome = "duplicate" if duplicate else "late" if late else "accepted"
        metrics.MEDIA_PACKETS.labels(outcome).inc()
        if reordered:
            metrics.MEDIA_REORDERED.inc()
        return slots

    async def _end_of_talk(self) -> None:
        self.notices += await self.ingest.feed(self.pcm.flush())
        self.notices += await self.ingest.flush()
        self.pcm = PcmDecoder(self.pcm.fmt, self.pcm.max_frame_bytes)  # a flushed resampler is done
        self._open_segment = False

    async def _play(self, slots: list[Slot]) -> None:
        if not slots:
            return
        for i, slot in enumerate(slots):
            packet = slot.packet
            if packet is None:
                following = slots[i + 1].packet if i + 1 < len(slots) else None
                adjacent = following is not None and slots[i + 1].index == slot.index + 1
                await self._feed(self._conceal(following if adjacent else None))
                continue
            metrics.MEDIA_JITTER_DELAY.observe(slot.held_s)
            silence = self._silence_before(packet)
            for k in range(0, len(silence), SILENCE_CHUNK):
                await self._feed(silence[k : k + SILENCE_CHUNK])
            try:
                self._frame = packet_samples(packet.payload)
                pcm = self.opus.decode(packet.payload)
            except OpusError:
                metrics.MEDIA_DECODE_ERRORS.inc()
                pcm = self.opus.conceal(self._frame)
            self._next_ts = (packet.timestamp + self._frame) & 0xFFFFFFFF
            await self._feed(pcm)

    async def _feed(self, pcm: bytes) -> None:
        """One packet's (or one piece of inserted silence's) s16le 48 kHz PCM into the shared path."""
        self.decoded_samples += len(pcm) // 2
        self.notices += await self.ingest.feed(self.pcm.decode(pcm))
        self._open_segment = True

    def _conceal(self, following: RtpPacket | None) -> bytes:
        metrics.MEDIA_LOST.labels("fec" if following else "plc").inc()
        if self._next_ts is not None:
            self._next_ts = (self._next_ts + self._frame) & 0xFFFFFFFF
        return self.opus.conceal(self._frame, following.payload if following else None)

    def _silence_before(self, packet: RtpPacket) -> bytes:
        """Zeros for a forward jump of the RTP clock beyond the packets (DTX, a paused sender)."""
        if self._next_ts is None:
            return b""
        gap = ts_delta(packet.timestamp, self._next_ts)
        if gap < self._frame // 2:  # jitter in the sender's timestamps, or a step back: ignore
            return b""
        gap = min(gap, self.max_gap)
        metrics.MEDIA_SILENCE_INSERTED.inc(gap / OPUS_RATE)
        return bytes(2 * gap)

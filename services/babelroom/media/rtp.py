"""RTP packets (RFC 3550 §5.1) and 16-bit sequence-number arithmetic.

Only what the audio tap needs: the fixed header, CSRCs, one header extension block and padding are
parsed so that :attr:`RtpPacket.payload` is exactly the codec payload. RTCP (payload types 72–76 once
the marker bit is folded in, RFC 5761 §4) is recognised so that a multiplexed sender does not count
as malformed traffic.

Sources: RFC 3550 §5.1 (header), §A.1 (sequence-number extension with wrap-around),
https://www.rfc-editor.org/rfc/rfc3550; RFC 5761 §4 (RTP/RTCP demultiplexing).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
SEQ_MOD = 1 << 16
_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One parsed RTP packet.

    Attributes:
        payload_type: 0–127.
        marker: the M bit.
        sequence: 16-bit sequence number.
        timestamp: 32-bit media timestamp (48 kHz clock for Opus, RFC 7587).
        ssrc: synchronisation source.
        payload: the codec payload, CSRCs, extension and padding removed.
        csrcs: contributing sources, usually empty.
    """

    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    csrcs: tuple[int, ...] = ()

    def serialize(self) -> bytes:
        """The packet on the wire (no extension, no padding): the inverse of :func:`parse_rtp`."""
        first = (RTP_VERSION << 6) | len(self.csrcs)
        second = (int(self.marker) << 7) | self.payload_type
        head = _HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        return head + b"".join(struct.pack("!I", c) for c in self.csrcs) + self.payload


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet (RFC 5761 §4: second byte 192–223, i.e. PT 200–204 …)."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one datagram.

    Raises:
        RtpError: shorter than the 12-byte header, not version 2, or the CSRC list, extension or
            padding runs past the end of the datagram.
    """
    if len(data) < _HEADER.size:
        raise RtpError(f"{len(data)} bytes is shorter than the RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    offset = _HEADER.size + 4 * (first & 0x0F)
    if offset > len(data):
        raise RtpError("CSRC list runs past the end")
    csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, _HEADER.size)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if offset + 4 > len(data):
            raise RtpError("extension header runs past the end")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if offset > len(data):
            raise RtpError("extension runs past the end")
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes, itself included
        padding = data[-1]
        if padding == 0 or end - padding < offset:
            raise RtpError("bad padding length")
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        csrcs=tuple(csrcs),
    )


def seq_delta(a: int, b: int) -> int:
    """``a - b`` for 16-bit sequence numbers, in [-32768, 32767] (so 0 - 65535 is +1)."""
    return (a - b + SEQ_MOD // 2) % SEQ_MOD - SEQ_MOD // 2


def ts_delta(a: int, b: int) -> int:
    """``a - b`` for 32-bit RTP timestamps, in [-2**31, 2**31)."""
    return (a - b + (1 << 31)) % (1 << 32) - (1 << 31)

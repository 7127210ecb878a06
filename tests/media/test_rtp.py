"""The RTP parser against an independent implementation (aiortc's packet writer), and its refusals."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap
from aiortc.rtp import RtpPacket as AiortcPacket

from babelroom.media.rtp import RtpError, RtpPacket, is_rtcp, parse_rtp, seq_delta, ts_delta

AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def aiortc_packet(**kw) -> AiortcPacket:
    p = AiortcPacket(payload_type=111, marker=1, sequence_number=65535, timestamp=4_000_000_000,
                     ssrc=0xDEADBEEF, payload=b"\x78opus-bytes")
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def test_parses_what_aiortc_writes_with_csrcs_extension_and_padding():
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=1, uri=AUDIO_LEVEL)]))
    p = aiortc_packet(csrc=[1, 2, 3], padding_size=7)
    p.extensions.audio_level = (True, 42)  # what browsers put on every audio packet
    wire = p.serialize(ext_map)
    assert wire[0] & 0x30 == 0x30  # extension and padding bits set
    got = parse_rtp(wire)
    assert got == RtpPacket(payload_type=111, marker=True, sequence=65535, timestamp=4_000_000_000,
                            ssrc=0xDEADBEEF, payload=b"\x78opus-bytes", csrcs=(1, 2, 3))


def test_serialize_is_read_back_by_aiortc():
    ours = RtpPacket(payload_type=96, marker=False, sequence=7, timestamp=960, ssrc=5, payload=b"abc")
    theirs = AiortcPacket.parse(ours.serialize())
    assert (theirs.payload_type, theirs.marker, theirs.sequence_number, theirs.timestamp, theirs.ssrc,
            theirs.payload) == (96, 0, 7, 960, 5, b"abc")


@pytest.mark.parametrize(
    "wire, reason",
    [
        (b"\x80\x6f\x00", "shorter"),
        (bytes([0x40, 111]) + bytes(10), "version"),
        (bytes([0x83, 111]) + bytes(10) + bytes(8), "CSRC"),  # 3 CSRCs announced, 2 present
        (bytes([0x90, 111]) + bytes(10) + b"\xbe\xde\x00\x05" + bytes(4), "extension"),
        (bytes([0xA0, 111]) + bytes(10) + b"ab" + bytes([9]), "padding"),
        (bytes([0xA0, 111]) + bytes(10) + b"ab" + bytes([0]), "padding"),
    ],
)
def test_malformed_packets_are_refused(wire, reason):
    with pytest.raises(RtpError, match=reason):
        parse_rtp(wire)


def test_rtcp_is_told_apart():
    assert is_rtcp(bytes([0x80, 200]) + bytes(26))  # sender report
    assert is_rtcp(bytes([0x81, 201]) + bytes(30))  # receiver report
    assert not is_rtcp(RtpPacket(111, False, 1, 1, 1, b"x").serialize())
    assert not is_rtcp(RtpPacket(111, True, 1, 1, 1, b"x").serialize())  # marker + PT 111 = 239


def test_sequence_and_timestamp_arithmetic_wraps():
    assert seq_delta(0, 65535) == 1 and seq_delta(65535, 0) == -1
    assert seq_delta(100, 100) == 0 and seq_delta(32767, 0) == 32767 and seq_delta(32768, 0) == -32768
    assert ts_delta(0, 2**32 - 960) == 960 and ts_delta(2**32 - 960, 0) == -960

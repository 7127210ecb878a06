"""Opus decoding with loss concealment, through libopus itself (Debian ``libopus0``) via ctypes.

libopus is called directly rather than through PyAV because concealment needs two calls that
FFmpeg's decoder API does not offer: ``opus_decode(NULL)`` (packet-loss concealment, PLC) and
``opus_decode(next_packet, decode_fec=1)`` (the in-band forward error correction that WebRTC senders
put in every packet: a low-bitrate copy of the previous frame). The binding is the four functions
below; opuslib does the same but is unmaintained.

Output: mono s16le at 48 kHz (a stereo stream is down-mixed by libopus), the wire format of the
audio WebSocket, so the RTP tap hands :class:`~babelroom.audio.pcm.PcmDecoder` exactly what a
WebSocket client would.

Sources: libopus API, https://opus-codec.org/docs/opus_api-1.3.1/group__opus__decoder.html;
RFC 6716 §2.1.7 (in-band FEC), RFC 7587 (RTP payload: 48 kHz clock).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

OPUS_RATE = 48_000
#: The longest Opus packet: 120 ms.
MAX_FRAME_SAMPLES = OPUS_RATE * 120 // 1000


class OpusError(RuntimeError):
    """libopus refused a packet; ``code`` is its (negative) error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"opus error {code}: {message}")
        self.code = code


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    """libopus, loaded once.

    Raises:
        OSError: libopus is not installed (Debian ``libopus0``).
    """
    path = ctypes.util.find_library("opus") or "libopus.so.0"
    lib = ctypes.CDLL(path)
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int16),
        ctypes.c_int, ctypes.c_int,
    ]
    lib.opus_packet_get_nb_samples.restype = ctypes.c_int
    lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_strerror.argtypes = [ctypes.c_int]
    return lib


def _check(code: int) -> int:
    if code < 0:
        raise OpusError(code, _lib().opus_strerror(code).decode())
    return code


def packet_samples(payload: bytes) -> int:
    """Samples per channel at 48 kHz that ``payload`` decodes to (2.5–120 ms worth).

    Raises:
        OpusError: not a valid Opus packet (e.g. empty, or a bad TOC byte).
    """
    return _check(_lib().opus_packet_get_nb_samples(payload, len(payload), OPUS_RATE))


class OpusDecoder:
    """One stream's libopus decoder, mono at 48 kHz. Not thread-safe.

    Raises:
        OSError: libopus is missing; OpusError: the decoder could not be created.
    """

    def __init__(self) -> None:
        lib = _lib()
        err = ctypes.c_int(0)
        self._state = lib.opus_decoder_create(OPUS_RATE, 1, ctypes.byref(err))
        _check(err.value)
        self._buf = (ctypes.c_int16 * MAX_FRAME_SAMPLES)()

    def _run(self, data: bytes | None, frame_size: int, fec: bool) -> bytes:
        n = _check(_lib().opus_decode(
            self._state, data, len(data) if data else 0, self._buf, frame_size, int(fec)
        ))
        return ctypes.string_at(self._buf, n * 2)

    def decode(self, payload: bytes) -> bytes:
        """One packet to s16le mono PCM (``2 × packet_samples`` bytes).

        Raises:
            OpusError: a corrupt packet; the decoder's state is unchanged.
        """
        return self._run(payload, MAX_FRAME_SAMPLES, False)

    def conceal(self, samples: int, next_payload: bytes | None = None) -> bytes:
        """PCM for ``samples`` (a multiple of 2.5 ms) that were lost.

        With ``next_payload`` (the packet right after the loss) the frame is rebuilt from that
        packet's in-band FEC data when it carries some; else libopus extrapolates (PLC).

        Raises:
            OpusError: ``samples`` is not a valid duration.
        """
        samples = max(120, min(MAX_FRAME_SAMPLES, samples))
        if next_payload:
            try:
                return self._run(next_payload, samples, True)
            except OpusError:
                pass
        return self._run(None, samples, False)

    def close(self) -> None:
        """Free the libopus state; the object must not be used afterwards."""
        if self._state:
            _lib().opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:  # noqa: D105
        self.close()

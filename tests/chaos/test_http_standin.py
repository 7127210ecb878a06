"""The stand-in for an unreachable HTTP dependency (babelroom.dev.faults.HttpStandIn), in both modes, and the
TTS chain it is put in front of by the gTTS chaos scenarios (gTTS first, eSpeak NG speaking instead)."""

from __future__ import annotations

import time

import httpx
import pytest

from babelroom.dev.faults import HttpStandIn, StandInMode
from babelroom.mt.circuit_breaker import CircuitBreaker
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.gtts import GoogleTextToSpeech


def test_refuse_refuses_connections_at_once() -> None:
    with HttpStandIn("refuse") as standin:
        start = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            httpx.get(standin.url, timeout=2)
        assert time.monotonic() - start < 0.5


def test_silent_accepts_and_never_answers() -> None:
    with HttpStandIn("silent") as standin:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):  # connected (no ConnectError), then nothing
            httpx.get(standin.url, timeout=0.3)
        assert 0.3 <= time.monotonic() - start < 1.5
    with pytest.raises(httpx.ConnectError):  # closed on exit
        httpx.get(standin.url, timeout=0.3)


@pytest.mark.parametrize("mode", ["refuse", "silent"])
def test_an_unreachable_gtts_first_in_the_chain_falls_back_to_espeak(mode: StandInMode) -> None:
    with HttpStandIn(mode) as standin:
        gtts = GoogleTextToSpeech(standin.url, 0.3, CircuitBreaker("gtts", failure_threshold=2, reset_timeout_s=60))
        chain = FallbackTextToSpeech([gtts, EspeakTextToSpeech()], order="configured")
        assert [b.name for b in chain.supporting("es")] == ["gtts", "espeak"]
        assert [b.name for b in FallbackTextToSpeech(chain.backends).supporting("es")] == ["espeak", "gtts"]
        spoken = [chain.synthesize("Buenos días.", "es") for _ in range(3)]
        assert [s.backend for s in spoken] == ["espeak"] * 3
        assert gtts.breaker.state == "open"
        start = time.monotonic()
        chain.synthesize("Buenas tardes.", "es")  # the open breaker costs nothing
        assert time.monotonic() - start < 0.25
        chain.close()

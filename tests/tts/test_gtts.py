"""The gTTS backend against a stand-in for Google Translate's endpoint (the only fake: the real one
cannot be reached from here), behind its circuit breaker."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import av
import numpy as np
import pytest
from prometheus_client import REGISTRY

from babelroom.mt.circuit_breaker import CircuitBreaker, State
from babelroom.tts import voices
from babelroom.tts.base import SpeechError
from babelroom.tts.espeak import EspeakTextToSpeech
from babelroom.tts.fallback import FallbackTextToSpeech
from babelroom.tts.gtts import PATH, GoogleTextToSpeech, pieces


def _mp3(seconds: float = 0.5, rate: int = 24_000) -> bytes:
    """A real MP3 of a 440 Hz tone (what the endpoint sends is MP3)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


@dataclass
class FakeGoogle:
    url: str
    status: int = 200
    requests: list[tuple[str, list[object]]] = field(default_factory=list)  # (path, the decoded f.req)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    mp3 = base64.b64encode(_mp3()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            rpc = json.loads(parse_qs(body)["f.req"][0])
            fake.requests.append((self.path, json.loads(rpc[0][0][1])))
            self.send_response(fake.status)
            self.end_headers()
            if fake.status == 200:
                reply = f')]}}\'\n\n123\n[["wrb.fr","jQ1olc","[\\"{mp3}\\"]",null,null,null,"generic"]]\n'
                self.wfile.write(reply.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeGoogle(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def test_posts_each_piece_and_decodes_the_mp3(google: FakeGoogle) -> None:
    tts = GoogleTextToSpeech(google.url, 2.0, CircuitBreaker("gtts"))
    text = "Buenos días a todos. " * 6  # 126 characters: two pieces
    speech = tts.synthesize(text, "es")
    assert [path for path, _ in google.requests] == [PATH, PATH]
    assert [rpc[1:] for _, rpc in google.requests] == [["es", None, "null"]] * 2
    assert " ".join(str(rpc[0]) for _, rpc in google.requests) == " ".join(text.split())
    assert speech.backend == "gtts" and speech.sample_rate == 24_000 and 0.9 < speech.duration_s < 1.3
    assert np.abs(speech.samples).max() > 0.2
    tts.close()


def test_pieces_are_cut_at_spaces() -> None:
    assert pieces("one two three", limit=8) == ["one two", "three"]
    assert all(len(p) <= 100 for p in pieces("word " * 80))


def test_failures_open_the_breaker_and_the_chain_falls_back(google: FakeGoogle,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    breaker = CircuitBreaker("gtts", failure_threshold=2, reset_timeout_s=60)
    gtts = GoogleTextToSpeech(google.url, 2.0, breaker)
    google.status = 500
    for _ in range(2):
        with pytest.raises(SpeechError, match="500"):
            gtts.synthesize("Hola", "es")
    assert breaker.state is State.OPEN
    assert REGISTRY.get_sample_value("babelroom_mt_circuit_open", {"backend": "gtts"}) == 1
    sent = len(google.requests)
    monkeypatch.setitem(voices.PRIOR, "gtts", 0.0)  # ranked first, to see the chain leave it
    chain = FallbackTextToSpeech([gtts, EspeakTextToSpeech()])
    assert [backend.name for backend in chain.supporting("es")] == ["gtts", "espeak"]
    before = REGISTRY.get_sample_value("babelroom_tts_fallback_total", {"backend": "gtts"}) or 0
    speech = chain.synthesize("Hola a todos", "es")
    assert speech.backend == "espeak"
    assert len(google.requests) == sent  # refused by the open breaker, no request
    assert REGISTRY.get_sample_value("babelroom_tts_fallback_total", {"backend": "gtts"}) == before + 1
    chain.close()


def test_a_reply_without_audio_is_an_error(google: FakeGoogle) -> None:
    google.status = 204
    tts = GoogleTextToSpeech(google.url, 2.0, CircuitBreaker("gtts"))
    with pytest.raises(SpeechError, match="no audio"):
        tts.synthesize("Hola", "es")
    tts.close()

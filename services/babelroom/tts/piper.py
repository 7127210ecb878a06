"""Piper (VITS voices, ONNX) kept out of process: Piper's engine is GPL-3.0-or-later, so Babelroom
runs it as a separate program (:mod:`babelroom.tts.piper_process`) and talks to it over a pipe.

One long-lived child per voice holds the model (loading it per call would cost ~2 s); requests go one
at a time. A child that dies or times out is killed and restarted on the next call. Installed voice:
``en_US-joe-medium`` (CC0 dataset, 22.05 kHz), English only.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import structlog

from babelroom.tts.base import Speech, SpeechError, TextToSpeech, UnsupportedLanguage, from_pcm16

log = structlog.get_logger(__name__)

#: ISO 639-1 → Piper voice file name (``<name>.onnx`` and ``<name>.onnx.json`` in the model directory).
VOICES = {"en": "en_US-joe-medium"}


class PiperTextToSpeech(TextToSpeech):
    """Piper voices, each in a child process.

    Args:
        model_dir: the directory holding ``<voice>.onnx`` and ``<voice>.onnx.json``.
        threads: onnxruntime intra-op threads of each child.
        timeout_s: longest one synthesis (or the child's start) may take (s).

    Raises:
        FileNotFoundError: no voice of :data:`VOICES` is in ``model_dir``.
        SpeechError: a child did not start.
    """

    name = "piper"

    def __init__(self, model_dir: Path, threads: int = 1, timeout_s: float = 20.0) -> None:
        self.models = {lang: model_dir / f"{voice}.onnx" for lang, voice in VOICES.items()
                       if (model_dir / f"{voice}.onnx").is_file() and (model_dir / f"{voice}.onnx.json").is_file()}
        if not self.models:
            raise FileNotFoundError(f"Piper: no voice in {model_dir} (babelroom models install --offline)")
        self.threads, self.timeout_s = threads, timeout_s
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        with self._lock:
            for language in self.models:  # load each voice now, not on the first sentence
                self._child(language)

    def voice(self, language: str) -> str | None:
        return VOICES[language] if language in self.models else None

    def _child(self, language: str) -> subprocess.Popen[bytes]:
        child = self._children.get(language)
        if child is not None and child.poll() is None:
            return child
        child = subprocess.Popen(
            [sys.executable, "-m", "babelroom.tts.piper_process", str(self.models[language]), str(self.threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        self._children[language] = child
        self._read_header(child)  # {"ready": true}
        log.info("tts.piper_started", language=language, pid=child.pid)
        return child

    def _read_exact(self, stream: IO[bytes], size: int, deadline: float) -> bytes:
        data = b""
        while len(data) < size:
            if not select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise SpeechError(f"Piper: no answer within {self.timeout_s} s")
            chunk = os.read(stream.fileno(), size - len(data))
            if not chunk:
                raise SpeechError("Piper: the child process ended")
            data += chunk
        return data

    def _read_header(self, child: subprocess.Popen[bytes]) -> dict[str, object]:
        assert child.stdout is not None
        deadline = time.monotonic() + self.timeout_s
        line = b""
        while not line.endswith(b"\n"):
            line += self._read_exact(child.stdout, 1, deadline)
        header: dict[str, object] = json.loads(line)
        return header

    def synthesize(self, text: str, language: str) -> Speech:
        voice = self.voice(language)
        if voice is None:
            raise UnsupportedLanguage(f"Piper has no voice for {language!r}")
        start = time.perf_counter()
        with self._lock:
            try:
                child = self._child(language)
                assert child.stdin is not None and child.stdout is not None
                child.stdin.write(json.dumps({"text": text}).encode() + b"\n")
                child.stdin.flush()
                header = self._read_header(child)
                if "error" in header:
                    raise SpeechError(f"Piper: {header['error']}")
                pcm = self._read_exact(child.stdout, int(str(header["bytes"])), time.monotonic() + self.timeout_s)
            except (OSError, ValueError, SpeechError) as exc:
                self._stop(language)
                raise exc if isinstance(exc, SpeechError) else SpeechError(f"Piper: {exc}") from exc
        return Speech(from_pcm16(pcm), int(str(header["sample_rate"])), self.name, voice,
                      time.perf_counter() - start)

    def _stop(self, language: str) -> None:
        child = self._children.pop(language, None)
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    def close(self) -> None:
        with self._lock:
            for language in list(self._children):
                self._stop(language)

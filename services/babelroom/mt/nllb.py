"""NLLB-200 through CTranslate2: the neural backend (``nllb``).

The model directory is what ``ct2-transformers-converter --model facebook/nllb-200-distilled-600M
--quantization int8 --copy_files sentencepiece.bpe.model`` writes: ``model.bin``, ``config.json``,
``shared_vocabulary.json`` (``.txt`` from older converters) and the SentencePiece model.

Token format (transformers' ``NllbTokenizer`` with its default ``legacy_behaviour=False``):
source = ``[src_code] + pieces + ["</s>"]``; the decoder is forced to start with ``[tgt_code]``.

Sources: https://opennmt.net/CTranslate2/guides/transformers.html#nllb,
https://huggingface.co/docs/transformers/model_doc/nllb (the non-legacy tokenizer format).
"""

from __future__ import annotations

import json
from pathlib import Path

import ctranslate2
import sentencepiece as spm

from babelroom.metrics import MT_INFERENCE, MT_SENTENCES
from babelroom.mt.base import TranslationError, Translator, UnsupportedLanguagePair
from babelroom.mt.languages import to_flores

SP_MODEL = "sentencepiece.bpe.model"
EOS = "</s>"
#: Hard cap on output tokens per sentence; a batch gets ``2 * longest source + 16`` below it, which
#: bounds the cost of a degenerate (repeating) hypothesis without clipping real translations.
MAX_DECODING_LENGTH = 256


def read_vocabulary(model_dir: Path) -> list[str]:
    """The target vocabulary of a converted model, in id order.

    Raises:
        FileNotFoundError: neither ``shared_vocabulary.json`` nor ``shared_vocabulary.txt`` exists.
    """
    json_path = model_dir / "shared_vocabulary.json"
    if json_path.is_file():
        return list(json.loads(json_path.read_text(encoding="utf-8")))
    txt_path = model_dir / "shared_vocabulary.txt"
    if txt_path.is_file():
        return txt_path.read_text(encoding="utf-8").splitlines()
    raise FileNotFoundError(f"NLLB model vocabulary missing: {json_path} (nor {txt_path.name})")


class NllbTranslator(Translator):
    """NLLB-200 (any size) converted to CTranslate2, with its SentencePiece tokenizer.

    Args:
        model_dir: the converted model directory (see the module docstring).
        beam_size: beam width (1 = greedy).
        batch_size: at most this many sentences per CTranslate2 call.
        device: ``cpu`` (or ``cuda``/``auto`` where CTranslate2 has it).
        compute_type: CTranslate2 compute type (``int8``, ``int8_float32``, ``float32`` …).
        inter_threads: batches translated in parallel.
        intra_threads: OpenMP threads per batch (0 = CTranslate2's default).

    Raises:
        FileNotFoundError: ``model.bin``, the vocabulary or ``sentencepiece.bpe.model`` is missing;
            the message names the file.
    """

    name = "nllb"

    def __init__(
        self,
        model_dir: Path,
        *,
        beam_size: int = 2,
        batch_size: int = 8,
        device: str = "cpu",
        compute_type: str = "int8",
        inter_threads: int = 1,
        intra_threads: int = 0,
    ) -> None:
        model_dir = Path(model_dir)
        for required in ("model.bin", SP_MODEL):
            if not (model_dir / required).is_file():
                raise FileNotFoundError(f"NLLB model file missing: {model_dir / required}")
        self._vocabulary = frozenset(read_vocabulary(model_dir))
        self._sp = spm.SentencePieceProcessor(model_file=str(model_dir / SP_MODEL))
        self._pieces = frozenset(self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size()))
        self._model = ctranslate2.Translator(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            inter_threads=inter_threads,
            intra_threads=intra_threads,
        )
        self.beam_size = beam_size
        self.batch_size = batch_size

    def supports(self, src: str, tgt: str) -> bool:
        """True when both languages have a FLORES-200 code that is a token of the model."""
        try:
            return to_flores(src) in self._vocabulary and to_flores(tgt) in self._vocabulary
        except UnsupportedLanguagePair:
            return False

    def encode(self, text: str, src: str) -> list[str]:
        """Source tokens of ``text`` in language ``src`` (ISO 639-1): ``[src_code, *pieces, "</s>"]``."""
        return [to_flores(src), *self._sp.encode(text, out_type=str), EOS]

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate in chunks of :attr:`batch_size`; one ``MT_INFERENCE`` observation per chunk.

        Raises:
            UnsupportedLanguagePair: a language is unknown or not in the model's vocabulary.
            TranslationError: CTranslate2 failed.
        """
        if not self.supports(src, tgt):
            raise UnsupportedLanguagePair(f"nllb: no model tokens for {src}→{tgt}")
        sources = [self.encode(text, src) for text in texts]
        prefix = [to_flores(tgt)]
        translations: list[str] = []
        for start in range(0, len(sources), self.batch_size):
            chunk = sources[start : start + self.batch_size]
            max_length = min(MAX_DECODING_LENGTH, 2 * max(len(tokens) for tokens in chunk) + 16)
            with MT_INFERENCE.labels(self.name).time():
                try:
                    results = self._model.translate_batch(
                        chunk,
                        target_prefix=[prefix] * len(chunk),
                        beam_size=self.beam_size,
                        max_decoding_length=max_length,
                    )
                except (RuntimeError, ValueError) as exc:
                    raise TranslationError(f"nllb: {exc}") from exc
            MT_SENTENCES.labels(self.name).inc(len(chunk))
            translations.extend(self._decode(result.hypotheses[0]) for result in results)
        return translations

    def _decode(self, tokens: list[str]) -> str:
        """Detokenize a hypothesis, keeping only SentencePiece pieces.

        That drops the forced target-language token and any other model-only token (language codes,
        ``<pad>``, ``<mask>``, ``madeupword…``) the decoder may emit.
        """
        return self._sp.decode_pieces([token for token in tokens if token in self._pieces])

    def close(self) -> None:
        """Free the model's memory; the translator is unusable afterwards."""
        self._model.unload_model()

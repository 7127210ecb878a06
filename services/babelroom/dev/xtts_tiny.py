"""A tiny XTTS with random weights, for the tests: the real XTTS-v2 architecture (coqui-tts ``Xtts``) at toy
sizes, saved in the layout of the real checkpoint (``config.json``, ``model.pth``, ``vocab.json``) so that
:class:`babelroom.voice.xtts.XttsVoice` loads it with the same code as the real weights.

Sizes: 2 GPT layers of 128 channels (4 heads), 1,026 audio tokens, at most :data:`MAX_AUDIO_TOKENS` audio
tokens per sentence (each 1,024 samples at 22.05 kHz: at most ~2.2 s of speech); the HiFi-GAN decoder and
the speaker encoder keep their fixed coqui-tts sizes (the decoder's input is the GPT's 128 channels). The
vocabulary is a byte-pair encoding trained here with the ``tokenizers`` library on a few sentences in
:data:`LANGUAGES`, with XTTS's special tokens (``[STOP]``, ``[UNK]``, ``[SPACE]``, ``[START]``) and one
language tag per language. Random weights speak noise, not words: tests check shapes, lengths, rates and
the job path, never what it says. Needs the ``.venv-xtts`` environment (torch 2.9.1 + coqui-tts).

Run: ``python -m babelroom.dev.xtts_tiny OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

LANGUAGES = ("en", "es", "pt", "de", "fr")
MAX_AUDIO_TOKENS = 48
SPECIAL = ("[STOP]", "[UNK]", "[SPACE]", "[START]")
#: What the vocabulary is trained on (lower case, as XTTS's tokenizer sees it), one sentence per language.
CORPUS = (
    "good morning, everyone. the meeting starts now; we have three questions to answer.",
    "buenos días a todos. la reunión empieza ahora; tenemos tres preguntas que responder.",
    "bom dia a todos. a reunião começa agora; temos três perguntas para responder.",
    "guten morgen zusammen. das treffen beginnt jetzt; wir haben drei fragen zu beantworten.",
    "bonjour à tous. la réunion commence maintenant ; nous avons trois questions à traiter.",
)
#: Every letter the test languages write, so that no test text is [UNK].
ALPHABET = "abcdefghijklmnopqrstuvwxyzáàâãäçéèêëíìîïñóòôõöúùûüßœæ0123456789.,;:!?'\"-()"


def build_vocab(path: Path, languages: tuple[str, ...] = LANGUAGES, vocab_size: int = 256) -> None:
    """Train the byte-pair vocabulary and save it as ``path`` (a ``tokenizers`` JSON, like XTTS's vocab.json)."""
    from tokenizers import Tokenizer, models, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[*SPECIAL, *(f"[{x}]" for x in languages)],
                                  initial_alphabet=list(ALPHABET), show_progress=False)
    tokenizer.train_from_iterator([s.replace(" ", "[SPACE]") for s in CORPUS], trainer=trainer)
    tokenizer.save(str(path))


def build_tiny_xtts(out: Path, *, seed: int = 0, languages: tuple[str, ...] = LANGUAGES) -> Path:
    """Write a random-weight tiny XTTS to ``out`` (created); returns ``out``. Same ``seed``: same weights."""
    import torch
    from tokenizers import Tokenizer
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    out.mkdir(parents=True, exist_ok=True)
    build_vocab(out / "vocab.json", languages)
    vocab = Tokenizer.from_file(str(out / "vocab.json"))
    config = XttsConfig()
    config.languages = list(languages)
    args = config.model_args
    args.gpt_layers, args.gpt_n_model_channels, args.gpt_n_heads = 2, 128, 4
    args.decoder_input_dim = 128
    args.gpt_num_audio_tokens, args.gpt_start_audio_token, args.gpt_stop_audio_token = 1026, 1024, 1025
    args.gpt_max_audio_tokens, args.gpt_max_text_tokens, args.gpt_max_prompt_tokens = MAX_AUDIO_TOKENS, 200, 70
    args.gpt_use_perceiver_resampler = True  # as XTTS-v2
    args.gpt_number_text_tokens = max(vocab.get_vocab().values()) + 1
    args.gpt_start_text_token = vocab.token_to_id("[START]")
    args.gpt_stop_text_token = vocab.token_to_id("[STOP]")
    torch.manual_seed(seed)
    model = Xtts(config)
    torch.save({"model": model.state_dict()}, out / "model.pth")
    config.save_json(str(out / "config.json"))
    return out


if __name__ == "__main__":
    sys.stdout.write(f"{build_tiny_xtts(Path(sys.argv[1]))}\n")

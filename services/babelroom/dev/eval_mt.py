"""The text half of ``babelroom eval``: line-aligned test sets (NTREX-128) through the MT route table.

A folder holds one file per language, ``<prefix>.<iso 639-3>.txt`` (``ntrex128-dev.eng.txt``,
``ntrex128-dev.spa.txt`` …), line ``i`` of each being the same sentence. For every ordered pair of
those languages that a route reaches, the backends the MT worker would build from the settings
(:func:`babelroom.mt.factory.backend_names`, no cache) translate the source lines by the pair's best
route, falling back as the worker does (:class:`babelroom.mt.routes.RoutedTranslator`); the output is
scored against the target lines (sacrebleu chrF and BLEU) and timed. With ``every_route`` each route the
table knows for the pair is scored instead (direct and pivots, best first): what
:data:`babelroom.mt.routes.MEASURED` records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from babelroom.config import Settings
from babelroom.dev.eval_scoring import chrf_bleu
from babelroom.mt.base import Translator
from babelroom.mt.factory import backend_names, build_backend
from babelroom.mt.routes import RoutedTranslator

#: ISO 639-3 file suffixes of the NTREX-128 files → ISO 639-1.
ISO3 = {"eng": "en", "spa": "es", "por": "pt", "deu": "de", "fra": "fr", "vie": "vi", "cat": "ca", "ita": "it"}
#: Sentences per translate call.
BATCH = 16


@dataclass
class PairScore:
    """chrF/BLEU of one pair over ``lines`` lines, by the route that translated them."""

    source: str
    target: str
    route: str
    lines: int
    chrf: float
    bleu: float
    ms_per_sentence: float


def read_sets(folder: Path, limit: int | None = None) -> dict[str, list[str]]:
    """The line-aligned files of ``folder`` by ISO 639-1 code, each cut to its first ``limit`` lines.

    Raises:
        ValueError: fewer than two known languages there, or files of different lengths.
    """
    sets: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.txt")):
        code = ISO3.get(path.stem.rsplit(".", 1)[-1])
        if code is not None:
            sets[code] = path.read_text(encoding="utf-8").splitlines()[:limit]
    if len(sets) < 2:
        raise ValueError(f"{folder}: needs line-aligned <name>.<{'|'.join(ISO3)}>.txt files of two languages or more")
    lengths = {code: len(lines) for code, lines in sets.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{folder}: the files are not line-aligned (lines per language: {lengths})")
    return sets


def all_pairs(sets: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Every ordered pair of the languages of ``sets``."""
    return [(src, tgt) for src in sets for tgt in sets if src != tgt]


#: Translates one batch; returns the translations and the route that made them.
TranslateBatch = Callable[[list[str]], tuple[list[str], str]]


def evaluate_mt(settings: Settings, sets: dict[str, list[str]], pairs: list[tuple[str, str]],
                on_pair: Callable[[str, str], None], every_route: bool = False) -> list[PairScore]:
    """Score each pair of ``pairs`` that a route reaches (the others are skipped): by its best route
    with the worker's fallbacks, or each of its routes when ``every_route``.

    Raises:
        ValueError: a pair names a language ``sets`` has no file for.
    """
    translator = RoutedTranslator([build_backend(name, settings) for name in backend_names(settings)])
    unknown = sorted({code for pair in pairs for code in pair} - set(sets))
    if unknown:
        raise ValueError(f"no test set for {', '.join(unknown)} (have {', '.join(sets)})")
    scores = []
    try:
        for src, tgt in pairs:
            scores += [_score(translate, sets, src, tgt) for translate in _translators(translator, src, tgt,
                                                                                       every_route)]
            on_pair(src, tgt)
    finally:
        translator.close()
    return scores


def _translators(translator: RoutedTranslator, src: str, tgt: str, every_route: bool) -> Iterator[TranslateBatch]:
    """The pair's routed translator, or each of its routes; nothing when no route reaches the pair."""
    if not every_route:
        if translator.supports(src, tgt):
            yield lambda texts: translator.translate_batch_with_backend(texts, src, tgt)
        return
    for route in translator.supporting(src, tgt):
        yield _by_route(route, src, tgt)


def _by_route(route: Translator, src: str, tgt: str) -> TranslateBatch:
    return lambda texts: (route.translate_batch(texts, src, tgt), route.name)


def _score(translate: TranslateBatch, sets: dict[str, list[str]], src: str, tgt: str) -> PairScore:
    hypotheses: list[str] = []
    routes: list[str] = []
    started = time.perf_counter()
    for i in range(0, len(sets[src]), BATCH):
        out, route = translate(sets[src][i : i + BATCH])
        hypotheses += out
        routes.append(route)
    elapsed = time.perf_counter() - started
    scores = chrf_bleu(hypotheses, sets[tgt])
    return PairScore(src, tgt, "/".join(dict.fromkeys(routes)), len(hypotheses), scores["chrf"], scores["bleu"],
                     round(1000 * elapsed / max(len(hypotheses), 1), 1))

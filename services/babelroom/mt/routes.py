"""The route table: for each (source, target), the installed backends ranked by measured chrF, with
pivots through a third language where no direct pair exists or where the pivot measures better.

A route is one to three hops, each ``(backend, src, tgt)``; its name is what captions carry as
``backend``: ``bergamot`` (direct), ``apertium>en>bergamot`` (es→en by Apertium, en→pt by Bergamot) or
``apertium>es>apertium>pt>bergamot`` (fr→es→pt→en). A three-hop route is built only of hops whose chrF
was measured (so an NLLB that reaches every pair does not multiply the routes of every pair).
Its score is the chrF recorded in :data:`MEASURED` for that route and pair; an unmeasured direct hop
scores its backend's :data:`PRIOR` and an unmeasured pivot its weakest hop minus :data:`PIVOT_PENALTY`
per pivot language
(measured here, a pivot lands close to its weakest hop: pt→es 47.6 over hops of 64.4 and 47.4; es→pt
52.6 over 49.6 and 58.9; en→es 54.4 over 58.9 and 54.8). A pivot can beat a direct pair: en↔es through
Portuguese (Bergamot, then Apertium's close pt↔es) measures 7-8 points above Apertium's en↔es.
:class:`RoutedTranslator` tries the routes of a pair best first: it is a
:class:`~babelroom.mt.fallback.FallbackTranslator` whose chain is chosen per pair, so the cache and
the ``MT_FALLBACK`` counter work unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from babelroom.mt.base import Translator, UnsupportedLanguagePair
from babelroom.mt.fallback import FallbackTranslator

#: Languages the platform offers (Whisper base transcribes them all; NTREX-128 has references).
OFFERED_LANGUAGES = ("en", "es", "pt", "de", "fr", "vi")

#: Licence of each backend's models (Apertium: the Debian language-pair packages).
BACKEND_LICENCES = {
    "bergamot": "MPL-2.0",
    "apertium": "GPL-2.0",
    "nllb": "CC-BY-NC-4.0",
    "libretranslate": "AGPL-3.0 (server; models per its install)",
}

_NTREX = ("NTREX-128 dev, all 603 lines, sacrebleu 2.6 corpus chrF, measured 2026-12-06 with `babelroom eval "
          "--mt-dir tests/data/mt --mt-every-route` on Debian apertium-eng-spa 0.8.1, apertium-fr-es 0.9.4, "
          "apertium-es-pt 1.1.6 and the Bergamot en↔pt students (tests/mt/test_routes.py re-measures the first 100)")


@dataclass(frozen=True)
class Measurement:
    chrf: float
    source: str


#: Measured chrF by (route name, source, target).
MEASURED: dict[tuple[str, str, str], Measurement] = {
    ("bergamot", "en", "pt"): Measurement(58.9, _NTREX),
    ("bergamot", "pt", "en"): Measurement(64.4, _NTREX),
    ("apertium", "en", "es"): Measurement(47.4, _NTREX),
    ("apertium", "es", "en"): Measurement(49.6, _NTREX),
    ("bergamot>en>apertium", "pt", "es"): Measurement(47.6, _NTREX),
    ("apertium>en>bergamot", "es", "pt"): Measurement(52.6, _NTREX),
    ("apertium>es>apertium", "en", "pt"): Measurement(45.4, _NTREX),
    # Debian's apertium-fr-es and apertium-es-pt: direct, and as hops of pivots (BLEU, ms: docs/mt-routes.md).
    ("apertium", "fr", "es"): Measurement(46.6, _NTREX),
    ("apertium", "es", "fr"): Measurement(45.5, _NTREX),
    ("apertium", "es", "pt"): Measurement(52.5, _NTREX),
    ("apertium", "pt", "es"): Measurement(54.8, _NTREX),
    ("apertium>es>apertium", "fr", "en"): Measurement(42.7, _NTREX),
    ("apertium>es>apertium", "en", "fr"): Measurement(40.2, _NTREX),
    ("apertium>es>apertium", "fr", "pt"): Measurement(43.8, _NTREX),
    ("apertium>es>apertium", "pt", "fr"): Measurement(44.8, _NTREX),
    ("apertium>es>apertium", "pt", "en"): Measurement(49.5, _NTREX),
    ("bergamot>pt>apertium", "en", "es"): Measurement(54.4, _NTREX),
    ("apertium>pt>bergamot", "es", "en"): Measurement(57.7, _NTREX),
    ("apertium>es>apertium>pt>bergamot", "fr", "en"): Measurement(47.1, _NTREX),
    ("bergamot>pt>apertium>es>apertium", "en", "fr"): Measurement(43.5, _NTREX),
    ("apertium>es>apertium>en>bergamot", "fr", "pt"): Measurement(45.0, _NTREX),
    ("bergamot>en>apertium>es>apertium", "pt", "fr"): Measurement(41.0, _NTREX),
}

#: chrF assumed for an unmeasured direct hop (not measurements: an ordering). Bergamot tiny students
#: of other pairs are assumed near en↔pt; NLLB-200 600M between Bergamot and Apertium.
PRIOR = {"bergamot": 55.0, "nllb": 50.0, "apertium": 45.0, "libretranslate": 40.0}
PIVOT_PENALTY = 2.0
#: chrF difference below which two routes count as equal (points): the shorter one goes first, since each
#: hop costs a model's latency (es→pt: Apertium direct 52.5 at 1.1 ms/sentence against 52.6 through
#: English at 41 ms). A 603-line corpus chrF is not that precise.
CHRF_TIE = 0.5

#: ``supports(src, tgt)`` of each backend, by backend name.
Capabilities = Mapping[str, Callable[[str, str], bool]]


@dataclass(frozen=True)
class Hop:
    backend: str
    src: str
    tgt: str


@dataclass(frozen=True)
class Route:
    """One way to translate ``src`` → ``tgt``: one hop (direct), two (a pivot) or three (two pivots)."""

    hops: tuple[Hop, ...]
    chrf: float
    measured: bool

    @property
    def name(self) -> str:
        """``bergamot``, ``apertium>en>bergamot`` or ``apertium>es>apertium>pt>bergamot``."""
        parts = [self.hops[0].backend]
        for hop in self.hops[1:]:
            parts += [hop.src, hop.backend]
        return ">".join(parts)

    @property
    def languages(self) -> list[str]:
        """The languages the text passes through, e.g. ``["es", "en", "pt"]``."""
        return [self.hops[0].src, *(hop.tgt for hop in self.hops)]

    @property
    def licence(self) -> str:
        return " + ".join(dict.fromkeys(BACKEND_LICENCES.get(hop.backend, "unknown") for hop in self.hops))


def _score(name: str, hops: tuple[Hop, ...]) -> tuple[float, bool]:
    measured = MEASURED.get((name, hops[0].src, hops[-1].tgt))
    if measured is not None:
        return measured.chrf, True
    if len(hops) == 1:
        return PRIOR.get(name, 0.0), False
    return min(_score(hop.backend, (hop,))[0] for hop in hops) - PIVOT_PENALTY * (len(hops) - 1), False


def _route(*hops: Hop) -> Route:
    name = Route(hops, 0.0, False).name
    chrf, measured = _score(name, hops)
    return Route(hops, chrf, measured)


class RouteTable:
    """Routes between ``languages`` over the backends of ``capabilities`` (in preference order: on
    equal chrF the earlier backend wins)."""

    def __init__(self, capabilities: Capabilities, languages: Iterable[str] = OFFERED_LANGUAGES) -> None:
        self.capabilities = dict(capabilities)
        self.languages = list(dict.fromkeys(languages))

    def _direct(self, src: str, tgt: str) -> list[Hop]:
        return [Hop(name, src, tgt) for name, supports in self.capabilities.items() if supports(src, tgt)]

    def _measured_direct(self, src: str, tgt: str) -> list[Hop]:
        """The direct hops whose chrF :data:`MEASURED` records (the only hops of three-hop routes)."""
        return [hop for hop in self._direct(src, tgt) if (hop.backend, src, tgt) in MEASURED]

    def routes(self, src: str, tgt: str) -> list[Route]:
        """Every route ``src`` → ``tgt``, best chrF first; of routes within :data:`CHRF_TIE` of the best,
        the one with the fewest hops goes first."""
        if src == tgt:
            return []
        found = [_route(hop) for hop in self._direct(src, tgt)]
        pivots = [language for language in self.languages if language not in (src, tgt)]
        for pivot in pivots:
            for first in self._direct(src, pivot):
                found.extend(_route(first, second) for second in self._direct(pivot, tgt))
        for first_pivot, second_pivot in itertools.permutations(pivots, 2):
            legs = [self._measured_direct(a, b) for a, b in itertools.pairwise([src, first_pivot, second_pivot, tgt])]
            found.extend(_route(*hops) for hops in itertools.product(*legs))
        order = {name: i for i, name in enumerate(self.capabilities)}
        ranked = sorted(found, key=lambda r: (-r.chrf, len(r.hops), [order[h.backend] for h in r.hops]))
        if not ranked:
            return ranked
        tied = [r for r in ranked if r.chrf >= ranked[0].chrf - CHRF_TIE]
        shortest = min(tied, key=lambda r: len(r.hops))  # the best chrF among the shortest (ranked order)
        return [shortest, *(r for r in ranked if r is not shortest)]

    def best(self, src: str, tgt: str) -> Route | None:
        routes = self.routes(src, tgt)
        return routes[0] if routes else None


class RouteTranslator(Translator):
    """Runs one :class:`Route` over the backends it names. Its :attr:`name` is the route's name."""

    def __init__(self, route: Route, backends: Mapping[str, Translator]) -> None:
        self.route = route
        self.name = route.name
        self._backends = backends

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) == (self.route.hops[0].src, self.route.hops[-1].tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if not self.supports(src, tgt):
            raise UnsupportedLanguagePair(f"route {self.name} is {self.route.languages}, not {src}→{tgt}")
        for hop in self.route.hops:
            texts = self._backends[hop.backend].translate_batch(texts, hop.src, hop.tgt)
        return texts


class RoutedTranslator(FallbackTranslator):
    """The MT worker's translator: each pair's routes, best first, as its fallback chain.

    Args:
        backends: the installed backends, in preference order for ties.
        languages: the pivot candidates (and the languages :meth:`table` enumerates).

    Raises:
        ValueError: ``backends`` is empty.
    """

    def __init__(self, backends: list[Translator], languages: Iterable[str] = OFFERED_LANGUAGES) -> None:
        super().__init__(backends)
        self.name = "routes:" + ",".join(backend.name for backend in self.backends)
        self._by_name = {backend.name: backend for backend in self.backends}
        self.table = RouteTable({b.name: b.supports for b in self.backends}, languages)
        self._chains: dict[tuple[str, str], list[Translator]] = {}

    def supporting(self, src: str, tgt: str) -> list[Translator]:
        """The routes of ``src`` → ``tgt`` as translators, best first (computed once per pair)."""
        chain = self._chains.get((src, tgt))
        if chain is None:
            chain = [RouteTranslator(route, self._by_name) for route in self.table.routes(src, tgt)]
            self._chains[(src, tgt)] = chain
        return chain

    def supports(self, src: str, tgt: str) -> bool:
        return bool(self.supporting(src, tgt))

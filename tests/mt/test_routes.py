"""The route table: best installed route per pair by measured chrF, pivots through a third language,
and the routed translator on the real Bergamot en↔pt and Debian's Apertium en↔es, fr↔es and es↔pt."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
import sacrebleu

from babelroom.bus.schemas import Caption, Transcript
from babelroom.bus.streams import Entry, captions_stream
from babelroom.captions import listeners
from babelroom.config import Settings
from babelroom.dev.eval_mt import evaluate_mt, read_sets
from babelroom.mt.apertium import ApertiumTranslator
from babelroom.mt.base import UnsupportedLanguagePair
from babelroom.mt.bergamot import BergamotTranslator
from babelroom.mt.cache import CachedTranslator
from babelroom.mt.routes import MEASURED, PIVOT_PENALTY, PRIOR, RoutedTranslator, RouteTable
from babelroom.mt.worker import NO_ROUTE, MtStage

MT_DATA = Path(__file__).resolve().parents[1] / "data" / "mt"


def pairs(*items: str):
    """``pairs("en-pt", "pt-en")`` → a ``supports`` function of exactly those pairs."""
    allowed = {tuple(item.split("-")) for item in items}
    return lambda src, tgt: (src, tgt) in allowed


INSTALLED = {"bergamot": pairs("en-pt", "pt-en"), "apertium": pairs("en-es", "es-en")}


def test_direct_routes_carry_their_measured_chrf() -> None:
    table = RouteTable(INSTALLED)
    best = table.best("en", "pt")
    assert best is not None and best.name == "bergamot" and best.languages == ["en", "pt"]
    assert best.measured and best.chrf == MEASURED[("bergamot", "en", "pt")].chrf == 58.9
    assert best.licence == "MPL-2.0"


def test_a_missing_pair_pivots_through_english() -> None:
    table = RouteTable(INSTALLED)
    es_pt = table.best("es", "pt")
    assert es_pt is not None and es_pt.name == "apertium>en>bergamot" and es_pt.languages == ["es", "en", "pt"]
    assert es_pt.measured and es_pt.chrf == 52.6 and es_pt.licence == "GPL-2.0 + MPL-2.0"
    pt_es = table.best("pt", "es")
    assert pt_es is not None and pt_es.name == "bergamot>en>apertium" and pt_es.chrf == 47.6
    assert table.best("en", "vi") is None and table.routes("en", "en") == []


def test_unmeasured_routes_rank_by_prior_and_pivot_penalty() -> None:
    table = RouteTable({**INSTALLED, "nllb": lambda s, t: s != t})
    routes = table.routes("de", "fr")
    assert routes[0].name == "nllb" and not routes[0].measured and routes[0].chrf == PRIOR["nllb"]
    assert all(r.chrf <= PRIOR["nllb"] - PIVOT_PENALTY for r in routes[1:])
    # en→pt: the measured Bergamot beats NLLB's prior; en→es: the prior beats Apertium's measurement.
    assert table.best("en", "pt").name == "bergamot"
    assert table.best("en", "es").name == "nllb"


def test_a_tie_goes_to_the_shorter_route() -> None:
    """es→pt: Apertium direct (52.5) and through English (52.6) are within CHRF_TIE, so the one hop goes
    first; pt→es through English (47.6) is well below Apertium's 54.8 and stays behind it."""
    table = RouteTable({"bergamot": pairs("en-pt", "pt-en"), "apertium": pairs("en-es", "es-en", "es-pt", "pt-es")})
    assert [r.name for r in table.routes("es", "pt")][:2] == ["apertium", "apertium>en>bergamot"]
    assert [r.name for r in table.routes("pt", "es")][:2] == ["apertium", "bergamot>en>apertium"]
    assert table.best("en", "pt").name == "bergamot"


def test_a_measured_pivot_beats_a_weaker_direct_route() -> None:
    """en→es through Portuguese (54.4) is 7 points above Apertium's direct en→es (47.4): far past a tie."""
    table = RouteTable({"bergamot": pairs("en-pt", "pt-en"), "apertium": pairs("en-es", "es-en", "pt-es")})
    assert [r.name for r in table.routes("en", "es")][:2] == ["bergamot>pt>apertium", "apertium"]


#: What `make test` installs: Bergamot en↔pt, Debian's apertium-eng-spa, apertium-fr-es, apertium-es-pt.
DEBIAN = {"bergamot": pairs("en-pt", "pt-en"),
          "apertium": pairs("en-es", "es-en", "fr-es", "es-fr", "es-pt", "pt-es")}
#: The best route of each pair among en, es, fr, pt over :data:`DEBIAN`, by measured chrF (NTREX-128, 603 lines).
BEST_WITH_DEBIAN_PAIRS = {
    ("en", "es"): ("bergamot>pt>apertium", 54.4),  # Apertium's own en→es: 47.4
    ("es", "en"): ("apertium>pt>bergamot", 57.7),  # 49.6
    ("en", "pt"): ("bergamot", 58.9),
    ("pt", "en"): ("bergamot", 64.4),
    ("es", "pt"): ("apertium", 52.5),  # through English: 52.6, a tie (CHRF_TIE) that the shorter route takes
    ("pt", "es"): ("apertium", 54.8),  # through English: 47.6
    ("fr", "es"): ("apertium", 46.6),
    ("es", "fr"): ("apertium", 45.5),
    ("fr", "en"): ("apertium>es>apertium>pt>bergamot", 47.1),  # through Spanish alone: 42.7
    ("en", "fr"): ("bergamot>pt>apertium>es>apertium", 43.5),  # 40.2
    ("fr", "pt"): ("apertium>es>apertium>en>bergamot", 45.0),  # 43.8
    ("pt", "fr"): ("apertium>es>apertium", 44.8),  # through English and Spanish: 41.0
}


def test_debian_pairs_route_every_pair_by_measurement() -> None:
    """French reaches en, es and pt (and they reach French); every best route was measured."""
    table = RouteTable(DEBIAN)
    best = {(src, tgt): table.best(src, tgt) for src, tgt in BEST_WITH_DEBIAN_PAIRS}
    assert all(route is not None and route.measured for route in best.values())
    assert {pair: (route.name, route.chrf) for pair, route in best.items() if route} == BEST_WITH_DEBIAN_PAIRS
    fr_en = best[("fr", "en")]
    assert fr_en is not None and fr_en.languages == ["fr", "es", "pt", "en"] and fr_en.licence == "GPL-2.0 + MPL-2.0"


def test_three_hop_routes_use_measured_hops_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """An NLLB reaching every pair joins direct and one-pivot routes, but no three-hop route (its hops are
    unmeasured); an unmeasured three-hop route scores its weakest hop minus two pivot penalties."""
    table = RouteTable({**DEBIAN, "nllb": lambda s, t: s != t})
    routes = {r.name: r for r in table.routes("fr", "en")}
    assert "apertium>es>apertium>pt>bergamot" in routes and "apertium>es>nllb" in routes
    assert not [name for name, r in routes.items() if len(r.hops) == 3 and "nllb" in name]
    monkeypatch.delitem(MEASURED, ("apertium>es>apertium>pt>bergamot", "fr", "en"))
    unmeasured = {r.name: r for r in RouteTable(DEBIAN).routes("fr", "en")}["apertium>es>apertium>pt>bergamot"]
    assert not unmeasured.measured and unmeasured.chrf == min(46.6, 52.5, 64.4) - 2 * PIVOT_PENALTY
    assert RouteTable(DEBIAN).best("fr", "en").name == "apertium>es>apertium"  # measured 42.7


@pytest.fixture(scope="module")
def routed(bergamot: BergamotTranslator, apertium: ApertiumTranslator) -> RoutedTranslator:
    return RoutedTranslator([bergamot, apertium])


#: chrF floors on these 100 lines, about 3 points under what each best route measured on them.
REAL_TEXT_FLOOR = {
    ("es", "pt"): 48.0,  # 51.7 (Apertium direct; through English 51.8)
    ("pt", "es"): 51.0,  # 54.2
    ("en", "es"): 51.0,  # 54.3
    ("es", "en"): 54.0,  # 57.5
    ("fr", "es"): 41.5,  # 44.7
    ("es", "fr"): 40.0,  # 43.3
    ("fr", "en"): 41.5,  # 44.5
    ("en", "fr"): 37.5,  # 40.7
    ("fr", "pt"): 39.5,  # 42.7
    ("pt", "fr"): 38.5,  # 41.9
}


@pytest.mark.parametrize(("src", "tgt"), sorted(REAL_TEXT_FLOOR))
def test_best_routes_translate_real_text(routed: RoutedTranslator, ntrex: dict[str, list[str]], src: str,
                                         tgt: str) -> None:
    """Each pair's best route over the installed Bergamot and Debian Apertium pairs (persistent pipelines)."""
    hypotheses, backend = routed.translate_batch_with_backend(ntrex[src][:100], src, tgt)
    chrf = sacrebleu.corpus_chrf(hypotheses, [ntrex[tgt][:100]]).score
    print(f"{backend} {src}->{tgt} chrF {chrf:.1f}")
    assert backend == BEST_WITH_DEBIAN_PAIRS[(src, tgt)][0] and chrf >= REAL_TEXT_FLOOR[(src, tgt)]


def test_cache_keys_follow_the_route(routed: RoutedTranslator, redis_client: redis.Redis) -> None:
    cached = CachedTranslator(routed, redis_client, 60)
    first = cached.translate_batch_with_backends(["Buenos días, amigos."], "es", "en")
    assert first[1] == ["apertium>pt>bergamot"] and "friends" in first[0][0].lower()
    assert cached.translate_batch_with_backends(["Buenos días, amigos."], "es", "en") == first
    assert any(b"apertium>pt>bergamot:es:en" in key for key in redis_client.keys("mt:*"))
    with pytest.raises(UnsupportedLanguagePair):
        cached.translate_batch_with_backends(["x"], "en", "vi")


async def test_a_pair_without_route_shows_the_source_flagged(
    settings, routed: RoutedTranslator, redis_client: redis.Redis, redis_url: str
) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await listeners.register(client, "r", "vi", "c1")
        await listeners.register(client, "r", "pt", "c2")
        stage = MtStage(settings, client, CachedTranslator(routed, redis_client, 60))
        final = Transcript(room="r", speaker="u1", speaker_name="Ana", language="en", audio_start_ms=0,
                           audio_end_ms=900, segment_id="s1", seq=1, kind="final", text="Thank you very much.")
        await stage.handle([(Entry("1", {}), final)])
        captions = [Caption.from_fields(f) for _, f in await client.xrange(captions_stream("r"))]
    finally:
        await client.aclose()
    by_language = {c.translation.language: c.translation for c in captions}
    assert by_language["vi"].backend == NO_ROUTE == "no_route"
    assert by_language["vi"].text == "Thank you very much."
    assert by_language["pt"].backend == "bergamot" and "obrigad" in by_language["pt"].text.lower()


def test_eval_scores_every_route_of_a_pair(bergamot_root, tmp_path) -> None:
    """``babelroom eval --mt-every-route``: each route of es→pt, best first (Apertium direct, and through
    English), as MEASURED records them; without it, only the best route."""
    settings = Settings(models_dir=bergamot_root.parent, state_dir=tmp_path, mt_backends="bergamot,apertium")
    sets = read_sets(MT_DATA, 10)
    every = evaluate_mt(settings, sets, [("es", "pt"), ("en", "vi")], lambda _s, _t: None, every_route=True)
    assert sorted(score.route for score in every) == ["apertium", "apertium>en>bergamot"]
    assert all(score.lines == 10 and score.chrf > 30 for score in every)
    (best,) = evaluate_mt(settings, sets, [("es", "pt")], lambda _s, _t: None)
    assert best.route == every[0].route

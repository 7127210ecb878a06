"""The eval's Markdown tables (the figures are those of a real run on the Spanish set)."""

from babelroom.dev.eval import LanguageScore, default_target, markdown, model_of
from babelroom.dev.eval_mt import PairScore


def test_tables_show_the_wer_gap_and_dashes_for_what_was_not_measured() -> None:
    es = LanguageScore(language="es", model="whisper-base", target="en", clips=4, runs=4, audio_s=37.5,
                       streaming_wer=0.377, offline_wer=0.273, finals=9, sentence_end_share=0.444, pause_share=0.444,
                       sentence_or_pause_share=0.667, final_latency_ms={}, chrf=None, bleu=None, missing_finals=0)
    pair = PairScore("en", "pt", "bergamot", 100, 58.2, 30.5, 136.5)
    table = markdown([es], [pair], "vm", speed=0)
    assert "streamed at as fast as possible" in table
    row = "| es | whisper-base | 4 | 4 | 37.5 | 37.7% | 27.3% | +10.4 | 9 | 44% | 44% | 67% | – | – | en | – | – | 0 |"
    assert row in table
    assert "| en→pt | bergamot | 100 | 58.2 | 30.5 | 136.5 |" in table
    assert "times, after" not in table


def test_tables_say_how_the_runs_of_several_leads_pool() -> None:
    vi = LanguageScore(language="vi", model="whisper-base", target="en", clips=10, runs=30, audio_s=50.1,
                       streaming_wer=0.312, offline_wer=0.315, finals=30, sentence_end_share=0.9, pause_share=1.0,
                       sentence_or_pause_share=1.0, final_latency_ms={"p50": 850.0, "p95": 1100.0}, chrf=None,
                       bleu=None, missing_finals=0)
    table = markdown([vi], [], "vm", speed=1, leads_ms=[0, 110, 220])
    assert "Each clip ran 3 times, after 0, 110, 220 ms of silence, streamed and offline alike" in table
    row = "| vi | whisper-base | 10 | 30 | 50.1 | 31.2% | 31.5% | -0.3 | 30 | 90% | 100% | 100% | 850 | 1100 |"
    assert row in table


def test_models_and_targets_per_language() -> None:
    models = {None: "models/whisper-base", "en": "tiny.en"}
    assert (model_of(models, "en"), model_of(models, "vi"), model_of({}, "es")) == ("tiny.en", "models/whisper-base",
                                                                                    None)
    assert (default_target("en"), default_target("pt")) == ("es", "en")

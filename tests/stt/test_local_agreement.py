"""LocalAgreement-2 on word sequences (no model)."""

from __future__ import annotations

import json

import pytest

from babelroom.stt.local_agreement import LocalAgreement, word_key


def run(hypotheses: list[str]) -> list[tuple[list[str], list[str]]]:
    agreement = LocalAgreement()
    return [agreement.update(text.split()) for text in hypotheses]


def test_word_key_ignores_case_and_punctuation():
    assert word_key("Country,") == word_key("country") == "country"
    assert word_key("don't") == "dont"
    assert word_key("¿Qué?") == "qué"


def test_first_hypothesis_commits_nothing():
    assert run(["and so my"]) == [([], ["and", "so", "my"])]


def test_committed_prefix_grows_by_the_agreement_of_the_last_two():
    steps = run(
        [
            "and so",
            "and so my fellow American",
            "and so am I fellow Americans",
            "and so my fellow Americans ask",
            "and so my fellow Americans ask not what",
        ]
    )
    committed = [c for c, _ in steps]
    assert committed == [
        [],
        ["and", "so"],
        ["and", "so"],
        ["and", "so"],
        ["and", "so", "my", "fellow", "Americans", "ask"],
    ]
    assert steps[-1][1] == ["not", "what"]


def test_comparison_ignores_case_and_punctuation_and_keeps_the_latest_spelling():
    committed, unstable = run(["Hello world", "hello, World. Again"])[-1]
    assert committed == ["hello,", "World."]
    assert unstable == ["Again"]


def test_committed_words_never_change_when_the_decoder_rewrites_them():
    agreement = LocalAgreement()
    agreement.update("before the wood cutters of".split())
    committed, _ = agreement.update("before the wood cutters of the".split())
    assert committed == ["before", "the", "wood", "cutters", "of"]
    # two words merged into one, and a substitution, inside the committed part
    assert agreement.update("before the woodcutters of the Netherlands".split()) == (
        committed + ["the"],
        ["Netherlands"],
    )
    assert agreement.update("before a woodcutters off the Netherlands by".split()) == (
        committed + ["the", "Netherlands"],
        ["by"],
    )


def test_a_substituted_committed_word_does_not_hide_the_next_one():
    agreement = LocalAgreement()
    agreement.update("my fellow Americans asked".split())
    agreement.update("my fellow Americans asked not".split())
    assert agreement.update("my fellow Americans ask not what".split()) == (
        ["my", "fellow", "Americans", "asked", "not"],
        ["what"],
    )


def test_a_shorter_hypothesis_commits_nothing_new():
    agreement = LocalAgreement()
    agreement.update("one two three".split())
    agreement.update("one two three four".split())
    assert agreement.update("one two".split()) == (["one", "two", "three"], [])


def test_state_round_trips_through_json_between_workers():
    hypotheses = ["a b", "a b c", "a b c d e", "a b c d e f"]
    expected = run(hypotheses)
    state = LocalAgreement().state()
    for text, want in zip(hypotheses, expected, strict=True):
        agreement = LocalAgreement.from_state(json.loads(json.dumps(state)))
        assert agreement.update(text.split()) == want
        state = agreement.state()
    assert state == {"committed": ["a", "b", "c", "d", "e"], "previous": ["a", "b", "c", "d", "e", "f"]}


@pytest.mark.parametrize(
    "state",
    [{}, {"committed": "a b", "previous": None}, {"committed": [], "previous": [1]}],
)
def test_malformed_state_is_refused(state):
    with pytest.raises(ValueError, match="not a LocalAgreement state"):
        LocalAgreement.from_state(state)

from babelroom.stt.overlap import strip_repeated_prefix


def test_repeated_words_across_a_cut_are_removed():
    assert strip_repeated_prefix("ask not what your country", "your country can do for you") == "can do for you"
    assert strip_repeated_prefix("represented in the Exhibition.", "exhibition, in being modern") == "in being modern"


def test_nothing_is_removed_without_a_match():
    assert strip_repeated_prefix("and so my fellow Americans", "ask not") == "ask not"
    assert strip_repeated_prefix("", "hello there") == "hello there"
    assert strip_repeated_prefix("one two three four five", "two three four five six") == "six"
    assert strip_repeated_prefix("one two three four five", "one two three four five six") == (
        "one two three four five six"  # only the last 4 words of the previous text are looked at
    )


def test_longest_match_wins_and_punctuation_alone_never_matches():
    assert strip_repeated_prefix("the the", "the the cat") == "cat"
    assert strip_repeated_prefix("well —", "— yes") == "— yes"

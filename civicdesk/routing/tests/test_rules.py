from hypothesis import given
from hypothesis import strategies as st

from civicdesk.routing.kernels.rules import (
    KeywordRuleSpec,
    first_match,
    fold,
    parse_keywords,
    rule_matches,
)

POTHOLE = KeywordRuleSpec(1, ("pothole", "hole in the road"), "pothole", order=10)
BINS = KeywordRuleSpec(2, ("bin", "rubbish"), "missed-bin", order=20)
LIGHT = KeywordRuleSpec(3, ("street", "light"), "street-light", order=5, match_all=True)


def test_whole_words_match_ignoring_case_and_punctuation() -> None:
    assert rule_matches(POTHOLE, "There's a POTHOLE, outside no. 4!")
    assert rule_matches(POTHOLE, "a big hole   in the\nroad")
    assert not rule_matches(BINS, "the cabinet is broken")  # 'bin' inside a word


def test_accents_are_ignored_both_ways() -> None:
    romanian = KeywordRuleSpec(4, ("gunoi neridicat",), "missed-bin")
    assert rule_matches(romanian, "Gunoi neridicat de trei zile")
    assert rule_matches(KeywordRuleSpec(5, ("stradă",), "x"), "lumina pe strada mare")
    assert fold("Ștefan Țară") == "stefan tara"


def test_match_all_needs_every_keyword() -> None:
    assert rule_matches(LIGHT, "The light on our street is out")
    assert not rule_matches(LIGHT, "The light in the park is out")


def test_first_match_goes_by_order_then_id() -> None:
    text = "rubbish dumped in a pothole on the street with no light"
    assert first_match([BINS, POTHOLE, LIGHT], text) == LIGHT
    assert first_match([BINS, POTHOLE], text) == POTHOLE
    assert first_match([BINS, POTHOLE], "noise from next door") is None


def test_a_rule_without_keywords_never_matches() -> None:
    assert not rule_matches(KeywordRuleSpec(9, (), "x"), "anything")
    assert not rule_matches(KeywordRuleSpec(9, ("  ", "!!"), "x"), "anything !!")


def test_keywords_parse_from_lines_and_commas() -> None:
    assert parse_keywords("bin, rubbish\n hole in the road \n\n,") == (
        "bin",
        "rubbish",
        "hole in the road",
    )


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzăîșț", min_size=1, max_size=8)


@given(keyword=words, before=st.lists(words, max_size=5), after=st.lists(words, max_size=5))
def test_a_keyword_surrounded_by_words_always_matches(
    keyword: str, before: list[str], after: list[str]
) -> None:
    text = " ".join([*before, keyword.upper(), *after])
    assert rule_matches(KeywordRuleSpec(1, (keyword,), "x"), text)


@given(rules=st.permutations([POTHOLE, BINS, LIGHT]), text=st.text(max_size=60))
def test_the_winner_does_not_depend_on_the_order_rules_are_given(
    rules: list[KeywordRuleSpec], text: str
) -> None:
    assert first_match(rules, text) == first_match([LIGHT, POTHOLE, BINS], text)

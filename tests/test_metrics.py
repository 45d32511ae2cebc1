"""Tests for the text and vector drift metrics and the per-generation drift table."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from pydantic import ValidationError

from service.experiment.fact_context import in_one_sentence, sentences, starts_a_word
from service.experiment.spec import Fact, Source
from service.measure.drift_table import JUDGED, METRICS, DriftTable
from service.measure.metrics import (
    cosine_distance,
    euclidean,
    facts_retained,
    text_metrics,
    type_token_ratio,
    words,
)
from service.provenance.message import TextMetrics

# --- words ---------------------------------------------------------------------------------


def test_words_lower_cases_and_drops_punctuation() -> None:
    """Tokens are lower-cased and punctuation between words is discarded."""
    assert words("The Cat SAT; on the mat!") == ["the", "cat", "sat", "on", "the", "mat"]


def test_words_keeps_inner_apostrophes_and_hyphens() -> None:
    """Inner straight or curly apostrophes and hyphens stay inside one token."""
    assert words("Don't stop-me, it’s well-known") == ["don't", "stop-me", "it’s", "well-known"]


def test_words_strips_outer_apostrophes_and_hyphens() -> None:
    """Quotes and dangling hyphens at a word's edge are not part of it."""
    assert words("'quoted' well- -known dogs'") == ["quoted", "well", "known", "dogs"]


def test_words_keeps_numbers_whole_and_splits_underscores() -> None:
    """Decimals and thousands stay one token ("5.9", "1,240"); an underscore separates words."""
    assert words("V12 in 1962: 5.9 litres, 1,240 cars, snake_case. Ends, 3") == [
        "v12",
        "in",
        "1962",
        "5.9",
        "litres",
        "1,240",
        "cars",
        "snake",
        "case",
        "ends",
        "3",
    ]


def test_words_handles_non_ascii_letters() -> None:
    """Accented letters belong to words."""
    assert words("Café naïve Über") == ["café", "naïve", "über"]


@pytest.mark.parametrize("text", ["", "   ", "... -- !!", "'"])
def test_words_of_text_without_words_is_empty(text: str) -> None:
    """A text of only spaces and punctuation has no tokens."""
    assert words(text) == []


# --- type_token_ratio ----------------------------------------------------------------------


def test_type_token_ratio_counts_unique_over_total() -> None:
    """Three distinct words among four tokens give 0.75."""
    assert type_token_ratio(["a", "b", "a", "c"]) == 0.75


def test_type_token_ratio_all_unique_is_one() -> None:
    """A text with no repeated word has ratio 1."""
    assert type_token_ratio(["x", "y", "z"]) == 1.0


def test_type_token_ratio_of_empty_is_zero() -> None:
    """An empty token list has ratio 0, not a division error."""
    assert type_token_ratio([]) == 0.0


# --- facts ---------------------------------------------------------------------------------

FACTS = [
    Fact(name="engine", patterns=[r"5\.9.litre", "V12"]),
    Fact(name="launch", patterns=["1962"]),
    Fact(name="designer", patterns=["keller"]),
]


def test_facts_retained_any_pattern_case_insensitive_in_fact_order() -> None:
    """A fact counts when any pattern matches, ignoring case; names come in fact order."""
    assert facts_retained("built by KELLER with a v12", FACTS) == ["engine", "designer"]


def test_facts_retained_regex_patterns() -> None:
    """Patterns are regular expressions: '.' matches the hyphen of '5.9-litre'."""
    assert facts_retained("a 5.9-litre engine", FACTS) == ["engine"]
    assert facts_retained("a 509 litre tank", FACTS) == []


def test_a_number_pattern_does_not_match_inside_a_longer_number() -> None:
    """A `78` pattern matches the number 78, not the last digits of 1978."""
    fact = [Fact(name="year", patterns=["78"])]
    assert facts_retained("it opened in 1978", fact) == []
    assert facts_retained("it opened in 78 AD", fact) == ["year"]
    assert facts_retained("78.", fact) == ["year"]


def test_a_word_pattern_does_not_match_inside_a_longer_word() -> None:
    """`LED` does not match "dovetailed", but does match "LED lamps" and "LED-lit"."""
    fact = [Fact(name="led", patterns=["LED"])]
    assert facts_retained("the joints were dovetailed", fact) == []
    assert facts_retained("LED lamps", fact) == ["led"]
    assert facts_retained("an LED-lit hall", fact) == ["led"]


def test_a_match_ending_in_a_non_word_character_is_free_on_that_side() -> None:
    """`Mach 2\\.` ends in a full stop, so it matches inside "Mach 2.04"."""
    assert facts_retained("at Mach 2.04", [Fact(name="m", patterns=[r"Mach 2\."])]) == ["m"]


def test_whole_words_false_searches_anywhere() -> None:
    """With whole_words false a pattern matches inside words, as a plain search does."""
    fact = [Fact(name="led", patterns=["LED"], whole_words=False)]
    assert facts_retained("the joints were dovetailed", fact) == ["led"]


def test_a_leading_inline_flag_group_stays_valid() -> None:
    """A pattern that opens with `(?s)` still compiles and keeps its word edges."""
    fact = [Fact(name="x", patterns=["(?s)fire.station"])]
    assert facts_retained("the fire\nstation", fact) == ["x"]
    assert facts_retained("campfire station", fact) == []


def test_facts_retained_none_and_all() -> None:
    """No match gives an empty list; every fact present gives all names."""
    assert facts_retained("nothing here", FACTS) == []
    assert facts_retained("V12 in 1962 by Keller", FACTS) == ["engine", "launch", "designer"]


def test_facts_retained_without_facts_is_empty() -> None:
    """With no facts to check nothing is retained."""
    assert facts_retained("V12 in 1962", []) == []


# --- facts bound to their context -----------------------------------------------------------

AUTOMATED = Fact(name="automated", patterns=["1989"], context=["automat"])
LIGHTHOUSE = (
    "The lighthouse was built in 1872. Its keepers left when it was automated in 1989. "
    "A museum opened in 1995."
)


def test_a_context_bound_fact_is_credited_beside_its_context() -> None:
    """`1989` counts for `automated` in a sentence that also speaks of automation (a context
    word matches at the start of a word: automated, automation)."""
    assert AUTOMATED.matches(LIGHTHOUSE)
    assert AUTOMATED.matches("Automation came in 1989, and the keepers left.")


def test_a_number_moved_to_another_event_is_not_credited() -> None:
    """A retelling that ties 1989 to the museum and the automation to no date keeps the
    number but not the fact; the same fact without context would credit it."""
    moved = "The lighthouse was automated long ago. A museum opened in 1989."
    assert not AUTOMATED.matches(moved)
    assert Fact(name="automated", patterns=["1989"]).matches(moved)
    assert facts_retained(moved, [AUTOMATED]) == []


def test_context_must_start_a_word_and_sentences_split_on_their_ends() -> None:
    """`automat` inside "semiautomatic" is no context; a decimal point does not end a
    sentence, a full stop, a line break or a CJK full stop does."""
    assert not AUTOMATED.matches("A semiautomatic gun from 1989.")
    engine = Fact(name="engine", patterns=[r"5\.9"], context=["litre"])
    assert engine.matches("It had a 5.9 litre engine.")
    assert not engine.matches("It had 5.9 of them. The litre was gone.")
    assert not engine.matches("It had 5.9 of them\nlitre")
    assert sentences("一。二！三 four. Five") == ["一。", "二！", "三 four.", "Five"]


@dataclass(frozen=True)
class SpanOnly:
    start: int


@dataclass(frozen=True)
class SearchOnly:
    """A compiled pattern of another engine: `search` only, its match's start a number."""

    pattern: re.Pattern[str]

    def search(self, text: str) -> SpanOnly | None:
        found = self.pattern.search(text)
        return SpanOnly(found.start()) if found else None


def test_context_needs_only_search_and_looks_past_matches_inside_words() -> None:
    """Context matching works with any engine's `search` (a match's start a method or a
    number), and finds a word-start match after matches inside words."""
    for engine in (re.compile("automat", re.I), SearchOnly(re.compile("automat", re.I))):
        assert starts_a_word(engine, "semiautomatic, xautomat, then automated")
        assert not starts_a_word(engine, "semiautomatic and xautomat")
        assert in_one_sentence("Automated in 1989.", [re.compile("1989")], [engine])
        assert not in_one_sentence("Automated. In 1989.", [re.compile("1989")], [engine])


def test_context_without_whole_words_matches_inside_words() -> None:
    """With whole_words false (as scripts without spaces need) context matches anywhere."""
    fact = Fact(name="自动化", patterns=["1989"], context=["自动"], whole_words=False)
    assert fact.matches("灯塔于1989年实现自动化。")
    assert not fact.matches("灯塔实现自动化。博物馆于1989年开放。")


def test_bad_context_is_a_spec_error() -> None:
    """A context that is no regex, or that the source never puts beside the pattern, is
    refused at validation, naming it."""
    with pytest.raises(ValidationError, match="'\\('"):
        Fact(name="x", patterns=["1989"], context=["("])
    with pytest.raises(ValidationError, match="does not match the source text itself"):
        Source(text="Automated. In 1989 a museum opened.", facts=[AUTOMATED])


# --- text_metrics --------------------------------------------------------------------------


def test_text_metrics_fields_by_hand() -> None:
    """Length, unique words, ratio and fact retention of a five-word text."""
    facts = [Fact(name="cat", patterns=["cat"]), Fact(name="bird", patterns=["bird"])]
    metrics = text_metrics("The cat saw the dog.", facts)
    assert metrics == TextMetrics(
        length_words=5,
        unique_words=4,
        type_token_ratio=0.8,
        fact_retention=0.5,
        facts_retained=["cat"],
        length_chars=20,
    )


def test_text_metrics_without_facts_has_no_retention() -> None:
    """With no facts fact_retention is None, not 0."""
    metrics = text_metrics("One two two.", [])
    assert metrics.length_words == 3
    assert metrics.unique_words == 2
    assert metrics.type_token_ratio == pytest.approx(2 / 3)
    assert metrics.fact_retention is None
    assert metrics.facts_retained == []


def test_text_metrics_of_empty_text() -> None:
    """An empty text has zero length, ratio 0 and retention 0 when facts exist."""
    metrics = text_metrics("", FACTS)
    assert metrics.length_words == 0
    assert metrics.unique_words == 0
    assert metrics.type_token_ratio == 0.0
    assert metrics.fact_retention == 0.0


# --- vector distances ----------------------------------------------------------------------


def test_euclidean_rows_against_one_vector() -> None:
    """Each row's distance to a single vector: a 3-4-5 triangle and a zero distance."""
    result = euclidean(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([0.0, 0.0]))
    assert result.shape == (2,)
    np.testing.assert_allclose(result, [0.0, 5.0])


def test_euclidean_row_wise_pairs() -> None:
    """Two (n, d) arrays are compared row by row."""
    a = np.array([[1.0, 1.0], [2.0, 2.0]])
    b = np.array([[1.0, 2.0], [5.0, 6.0]])
    np.testing.assert_allclose(euclidean(a, b), [1.0, 5.0])


def test_euclidean_accepts_lists_and_single_vectors() -> None:
    """Plain lists of ints work and two vectors give a scalar distance."""
    assert float(euclidean([1, 2, 3], [4, 6, 3])) == 5.0


def test_cosine_orthogonal_is_one() -> None:
    """Orthogonal vectors are at cosine distance 1."""
    assert float(cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 3.0]))) == 1.0


def test_cosine_identical_is_zero() -> None:
    """A vector is at cosine distance 0 from itself and from a positive multiple."""
    v = np.array([1.0, 2.0, 3.0])
    assert float(cosine_distance(v, v)) == pytest.approx(0.0, abs=1e-12)
    assert float(cosine_distance(v, 4 * v)) == pytest.approx(0.0, abs=1e-12)


def test_cosine_opposite_is_two() -> None:
    """Opposite vectors are at cosine distance 2."""
    v = np.array([1.0, -2.0, 0.5])
    assert float(cosine_distance(v, -v)) == pytest.approx(2.0)


def test_cosine_zero_vector_is_one() -> None:
    """A zero vector on either side (or both) gives distance 1, without a warning."""
    zero = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    assert float(cosine_distance(zero, v)) == 1.0
    assert float(cosine_distance(v, zero)) == 1.0
    assert float(cosine_distance(zero, zero)) == 1.0


def test_cosine_batch_of_rows_against_one_vector() -> None:
    """Rows vs one vector: same, orthogonal, opposite, zero, scaled and 45 degrees."""
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    result = cosine_distance(rows, np.array([1.0, 0.0]))
    assert result.shape == (6,)
    np.testing.assert_allclose(result, [0.0, 1.0, 2.0, 1.0, 0.0, 1 - 1 / math.sqrt(2)])


def test_cosine_row_wise_pairs() -> None:
    """Two (n, d) arrays are compared row by row, not all against all."""
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(cosine_distance(a, b), [1.0, 0.0])


# --- DriftTable ----------------------------------------------------------------------------


def test_drift_table_means_per_generation_sorted() -> None:
    """Rows come sorted by generation with the count and each metric's mean."""
    table = DriftTable()
    table.add(1, {"length_words": 10, "type_token_ratio": 0.5})
    table.add(0, {"length_words": 40, "type_token_ratio": 1.0})
    table.add(1, {"length_words": 20, "type_token_ratio": 0.7})
    rows = table.rows()
    assert [r["generation"] for r in rows] == [0, 1]
    assert [r["n"] for r in rows] == [1, 2]
    assert rows[0]["length_words"] == 40
    assert rows[1]["length_words"] == 15
    assert rows[1]["type_token_ratio"] == pytest.approx(0.6)


def test_drift_table_skips_none_values() -> None:
    """A None value is not averaged in as zero, but the message is still counted."""
    table = DriftTable()
    table.add(2, {"fact_retention": None, "length_words": 4})
    table.add(2, {"fact_retention": 0.5, "length_words": 6})
    (row,) = table.rows()
    assert row["n"] == 2
    assert row["fact_retention"] == 0.5
    assert row["length_words"] == 5


def test_drift_table_unmeasured_metric_is_none_and_row_layout() -> None:
    """Metrics never given are None; a row has generation, n, every metric, n_embedded, and
    the fact judge's means and count."""
    table = DriftTable()
    table.add(0, {"length_words": 3})
    (row,) = table.rows()
    assert list(row) == ["generation", "n", *METRICS, "n_embedded", *JUDGED, "n_judged"]
    assert row["n_judged"] == 0 and row["judged_fact_retention"] is None
    assert row["cosine"] is None
    assert row["euclidean"] is None
    assert row["fact_retention"] is None
    assert row["n_embedded"] == 0


def test_drift_table_add_values_for_later_metrics() -> None:
    """add_values adds embedding distances without counting another message."""
    table = DriftTable()
    table.add(1, {"length_words": 10})
    table.add(1, {"length_words": 12})
    table.add_values(1, {"euclidean": 0.2, "cosine": 0.1})
    (row,) = table.rows()
    assert row["n"] == 2
    assert row["length_words"] == 11
    assert row["euclidean"] == pytest.approx(0.2)
    assert row["cosine"] == pytest.approx(0.1)
    assert row["n_embedded"] == 1


def test_drift_table_n_embedded_counts_euclidean_values() -> None:
    """n_embedded is the number of euclidean values per generation; None ones do not count."""
    table = DriftTable()
    for _ in range(3):
        table.add(0, {"length_words": 1})
    table.add_values(0, {"euclidean": 1.0, "cosine": 0.5})
    table.add_values(0, {"euclidean": 3.0, "cosine": 0.1})
    table.add_values(0, {"euclidean": None, "cosine": None})
    (row,) = table.rows()
    assert row["n"] == 3
    assert row["n_embedded"] == 2
    assert row["euclidean"] == 2.0
    assert row["cosine"] == pytest.approx(0.3)


def test_drift_table_empty_has_no_rows() -> None:
    """A table with nothing added has no rows."""
    assert DriftTable().rows() == []

"""Tests for the study metrics (tail loss, overlap, diversity, attractors, distance to parents)
and the statistics, on hand-made cases and samples with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from service.measure.attractor import attractor
from service.measure.diversity import (
    mean_pairwise_cosine,
    mean_pairwise_sq_euclidean,
    rms_pairwise_euclidean,
)
from service.measure.metrics import cosine_distance, distance_to_parents, text_metrics, words
from service.measure.overlap import chrf, rouge_l
from service.measure.stats import summarize
from service.measure.tail import entropy_ratio, rare_word_retention, rare_words, token_entropy

# --- tail loss -----------------------------------------------------------------------------


def test_rare_words_are_long_words_seen_once() -> None:
    """Words seen once, of at least four letters, form the tail; repeats and short words do not."""
    tokens = words("The keeper saw the keeper light a lantern by the cove")
    assert rare_words(tokens) == frozenset({"light", "lantern", "cove"})


def test_rare_word_retention_counts_kept_share() -> None:
    """Two of three rare words kept gives 2/3; no rare words gives None."""
    rare = frozenset({"light", "lantern", "cove"})
    assert rare_word_retention(words("a lantern in the cove"), rare) == pytest.approx(2 / 3)
    assert rare_word_retention(words("anything"), frozenset()) is None


def test_token_entropy_by_hand() -> None:
    """Four distinct words: 2 bits; two words, one twice as frequent: H(1/3, 2/3); empty: 0."""
    assert token_entropy(["a", "b", "c", "d"]) == pytest.approx(2.0)
    expected = -(1 / 3) * math.log2(1 / 3) - (2 / 3) * math.log2(2 / 3)
    assert token_entropy(["a", "b", "b"]) == pytest.approx(expected)
    assert token_entropy([]) == 0.0


def test_entropy_ratio_against_the_original() -> None:
    """A text of one repeated word has ratio 0; of the original's own spread, 1."""
    assert entropy_ratio(["x", "x"], 2.0) == 0.0
    assert entropy_ratio(["a", "b", "c", "d"], 2.0) == pytest.approx(1.0)
    assert entropy_ratio(["a"], 0.0) is None


def test_text_metrics_with_original_fills_tail_and_chars() -> None:
    """Given the original, text_metrics reports characters, rare-word retention and entropy."""
    original = "alpha beta gamma delta"
    metrics = text_metrics("alpha beta", [], original)
    assert metrics.length_chars == len("alpha beta")
    assert metrics.rare_word_retention == pytest.approx(0.5)
    assert metrics.entropy_ratio == pytest.approx(0.5)
    assert text_metrics("alpha beta", []).rare_word_retention is None


# --- overlap -------------------------------------------------------------------------------


def test_rouge_l_identical_disjoint_and_subsequence() -> None:
    """Identical texts score 1, disjoint 0; 'a b d' against 'a b c d': LCS 3, F = 2*1*.75/1.75."""
    assert rouge_l("the cat sat", "the cat sat") == pytest.approx(1.0)
    assert rouge_l("dogs bark", "the cat sat") == 0.0
    assert rouge_l("a b d", "a b c d") == pytest.approx(2 * 1.0 * 0.75 / 1.75)


def test_chrf_identical_and_disjoint_and_ordering() -> None:
    """chrF is 1 for the same text, 0 for texts sharing no character n-gram, and higher for
    a near copy than for a loose paraphrase."""
    original = "The lighthouse was automated in 1978."
    assert chrf(original, original) == pytest.approx(1.0)
    assert chrf("zzz", "qqq") == 0.0
    near = chrf("The lighthouse was automated in 1979.", original)
    loose = chrf("A beacon became automatic.", original)
    assert 0 < loose < near < 1


# --- distance to parents -------------------------------------------------------------------


def test_distance_to_parents_is_mean_over_parents() -> None:
    """Distances to two parents at 3 and 5 (Euclidean) average to 4; cosine averages too."""
    vector = np.array([0.0, 1.0])
    parents = np.array([[0.0, 4.0], [0.0, -4.0]])
    euc, cos = distance_to_parents(vector, parents)  # type: ignore[misc]
    assert euc == pytest.approx(4.0)
    assert cos == pytest.approx(float(np.mean(cosine_distance(parents, vector))))
    assert cos == pytest.approx(1.0)
    assert distance_to_parents(vector, np.empty((0, 2))) is None


# --- diversity -----------------------------------------------------------------------------


def _brute_sq(x: np.ndarray) -> float:
    return float(np.mean([np.sum((a - b) ** 2) for a, b in itertools.combinations(x, 2)]))


def _brute_cos(x: np.ndarray) -> float:
    return float(np.mean([cosine_distance(a, b) for a, b in itertools.combinations(x, 2)]))


@pytest.mark.parametrize("n", [2, 3, 7, 25])
def test_diversity_matches_brute_force_over_all_pairs(n: int) -> None:
    """The variance identity gives the same mean over pairs as enumerating them."""
    x = np.random.default_rng(n).normal(size=(n, 5))
    assert mean_pairwise_sq_euclidean(x) == pytest.approx(_brute_sq(x))
    assert rms_pairwise_euclidean(x) == pytest.approx(math.sqrt(_brute_sq(x)))
    assert mean_pairwise_cosine(x) == pytest.approx(_brute_cos(x))


def test_diversity_by_hand_and_collapse() -> None:
    """Two points 2 apart: mean squared distance 4; identical texts have no diversity; one
    text alone has none either."""
    assert mean_pairwise_sq_euclidean(np.array([[0.0, 0.0], [2.0, 0.0]])) == pytest.approx(4.0)
    same = np.tile([1.0, 2.0, 3.0], (5, 1))
    assert rms_pairwise_euclidean(same) == pytest.approx(0.0)
    assert mean_pairwise_cosine(same) == pytest.approx(0.0, abs=1e-12)
    assert mean_pairwise_cosine(np.array([[1.0, 0.0]])) == 0.0


def test_cosine_diversity_of_orthogonal_unit_axes_is_one() -> None:
    """Pairwise orthogonal vectors (of any length) are all at cosine distance 1."""
    assert mean_pairwise_cosine(np.diag([1.0, 3.0, 0.5])) == pytest.approx(1.0)


# --- attractor -----------------------------------------------------------------------------


def test_attractor_on_an_exact_linear_map() -> None:
    """final = 60 + 0.4 * initial: slope .4, strength .6, fixed point 60 / .6 = 100."""
    initial = [20.0, 80.0, 150.0, 300.0]
    final = [60 + 0.4 * x for x in initial]
    fit = attractor(initial, final)
    assert fit is not None
    assert fit.slope == pytest.approx(0.4)
    assert fit.strength == pytest.approx(0.6)
    assert fit.position == pytest.approx(100.0)
    assert fit.n == 4


def test_attractor_extremes() -> None:
    """Every chain ends at 50: strength 1 at 50; final = initial: strength 0, no fixed point;
    a single starting value cannot be fitted."""
    full = attractor([10.0, 40.0, 90.0], [50.0, 50.0, 50.0])
    assert full is not None
    assert full.strength == pytest.approx(1.0)
    assert full.position == pytest.approx(50.0)
    none = attractor([10.0, 40.0, 90.0], [10.0, 40.0, 90.0])
    assert none is not None
    assert none.strength == pytest.approx(0.0, abs=1e-9)
    assert none.position is None
    assert attractor([5.0, 5.0], [1.0, 2.0]) is None


# --- statistics ----------------------------------------------------------------------------


def test_summarize_known_answer() -> None:
    """1..5: mean 3, sd sqrt(2.5), CI 3 +- t(.975, 4) * sd / sqrt(5) = 3 +- 1.9632."""
    result = summarize([1, 2, 3, 4, 5])
    assert result.n == 5
    assert result.mean == pytest.approx(3.0)
    assert result.sd == pytest.approx(math.sqrt(2.5))
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert result.ci_low == pytest.approx(3 - half)
    assert result.ci_high == pytest.approx(3 + half)


def test_summarize_small_samples() -> None:
    """No values: nothing defined; one value: a mean without sd or CI."""
    assert summarize([]).mean is None
    one = summarize([7.0])
    assert (one.n, one.mean, one.sd, one.ci_low) == (1, 7.0, None, None)


def test_t_interval_covers_the_true_mean_about_95_percent() -> None:
    """Over 2,000 normal samples of 10, the CI covers the true mean 93-97% of the time."""
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(2000):
        s = summarize(rng.normal(5.0, 2.0, size=10))
        assert s.ci_low is not None and s.ci_high is not None
        covered += s.ci_low <= 5.0 <= s.ci_high
    assert 0.93 <= covered / 2000 <= 0.97

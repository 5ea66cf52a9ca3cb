from __future__ import annotations

import numpy as np
import pytest

from harness.stats import PairedDiff, bootstrap_ci, paired_bootstrap, point_estimate


def test_same_seed_same_interval_and_seed_matters():
    values = np.random.default_rng(3).random(40)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_mean_interval_contains_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small = rng.normal(0.2, 0.05, 20)
    large = rng.normal(0.2, 0.05, 2000)
    low, high = bootstrap_ci(small)
    assert low < small.mean() < high
    large_low, large_high = bootstrap_ci(large)
    assert (large_high - large_low) < (high - low) / 4


def test_coverage_of_the_true_mean_is_close_to_nominal():
    # 200 independent datasets from a known distribution: a 90% interval should cover
    # the true mean in roughly 90% of them (bootstrap percentile intervals run a bit narrow).
    rng = np.random.default_rng(42)
    covered = 0
    for trial in range(200):
        data = rng.exponential(0.1, 50)
        low, high = bootstrap_ci(data, confidence=0.9, n_resamples=1000, seed=trial)
        covered += low <= 0.1 <= high
    assert 0.8 <= covered / 200 <= 0.97


def test_ratio_is_total_over_total_and_resamples_whole_samples():
    edits = np.array([0, 10, 2, 1, 30])
    ref_chars = np.array([100, 20, 50, 40, 60])
    assert point_estimate(edits, weights=ref_chars, statistic="ratio") == pytest.approx(43 / 270)
    low, high = bootstrap_ci(edits, weights=ref_chars, statistic="ratio")
    assert low < 43 / 270 < high
    assert low >= 0 and high <= 30 / 60 + 1e-12  # never beyond the worst single page's ratio


def test_degenerate_inputs_return_the_point_estimate_without_nan():
    assert bootstrap_ci([]) == (0.0, 0.0)
    assert bootstrap_ci([0.25]) == (0.25, 0.25)
    assert bootstrap_ci([3], weights=[12], statistic="ratio") == (0.25, 0.25)
    assert bootstrap_ci([0, 0], weights=[0, 0], statistic="ratio") == (0.0, 0.0)
    assert point_estimate([2], weights=[0], statistic="ratio") == 1.0  # the empty-reference rule
    assert bootstrap_ci([2, 0], weights=[0, 5], statistic="ratio")[1] <= 1.0
    assert paired_bootstrap([], []) == PairedDiff(0.0, 0.0, 0.0, False)
    assert paired_bootstrap([0.1], [0.3]) == PairedDiff(
        pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2), False
    )


def test_paired_identical_runs_are_not_significant():
    values = np.random.default_rng(5).random(30)
    result = paired_bootstrap(values, values)
    assert result == PairedDiff(0.0, 0.0, 0.0, False)


def test_paired_detects_a_consistent_small_change_that_unpaired_intervals_miss():
    rng = np.random.default_rng(11)
    page_difficulty = rng.uniform(0.0, 0.5, 40)
    a = page_difficulty
    b = page_difficulty + 0.02 + rng.normal(0, 0.005, 40)
    result = paired_bootstrap(a, b)
    assert result.significant and result.low > 0 and result.diff == pytest.approx(b.mean() - a.mean())
    # The unpaired intervals overlap: only pairing reveals the change.
    a_low, a_high = bootstrap_ci(a)
    b_low, b_high = bootstrap_ci(b)
    assert b_low < a_high


def test_paired_ratio_with_shared_weights():
    ref_chars = np.array([50, 80, 40, 120, 60, 90])
    edits_a = np.array([5, 8, 4, 12, 6, 9])
    edits_b = np.array([1, 2, 1, 3, 1, 2])
    result = paired_bootstrap(edits_a, edits_b, weights=ref_chars, statistic="ratio")
    assert result.diff == pytest.approx(10 / 440 - 44 / 440)
    assert result.significant and result.high < 0


def test_bad_inputs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, float("nan")])
    with pytest.raises(ValueError, match="needs weights"):
        bootstrap_ci([1, 2], statistic="ratio")
    with pytest.raises(ValueError, match="takes no weights"):
        bootstrap_ci([1, 2], weights=[1, 1])
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1, 2], confidence=95)

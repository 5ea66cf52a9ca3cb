"""Bootstrap confidence intervals for accuracy figures (numpy only).

Two statistics cover what the harness reports:

- ``"mean"``: the mean of per-sample values (macro CER: the mean of each page's CER).
- ``"ratio"``: ``sum(values) / sum(weights)`` (micro CER: total edits / total reference
  characters). Resampling draws whole samples, so a page's edits stay with its length.

Intervals are percentile bootstrap intervals. Everything is vectorised, seeded and
deterministic: the same inputs and seed give the same interval on every machine.
Degenerate inputs never produce NaN or infinity: with one sample the interval is the
point estimate itself, with none it is ``(0.0, 0.0)``, and a ratio over no reference
characters follows the empty-reference rule of :mod:`harness.metrics` (0.0 without
errors, else 1.0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Statistic = Literal["mean", "ratio"]

# Bounds the resampling matrix (resamples x samples) held in memory at once.
_MAX_CHUNK_ELEMENTS = 250_000


@dataclass(frozen=True)
class PairedDiff:
    """``statistic(b) - statistic(a)`` on paired samples, with its bootstrap interval.

    ``significant`` is true when the interval excludes zero (never with fewer than two pairs).
    For CER, a positive ``diff`` means ``b`` makes more errors than ``a``.
    """

    diff: float
    low: float
    high: float
    significant: bool


def point_estimate(
    values: Sequence[float] | np.ndarray, *, weights=None, statistic: Statistic = "mean"
) -> float:
    """The statistic on the data as given (no resampling); 0.0 for no samples.

    For ``"ratio"`` with ``sum(weights) == 0``: 0.0 when ``sum(values) == 0`` too, else 1.0
    (the empty-reference rule of :mod:`harness.metrics`), so no figure is ever infinite.
    """
    array, weight_array = _validate(values, weights, statistic)
    if array.size == 0:
        return 0.0
    if weight_array is None:
        return float(array.mean())
    return float(_safe_ratio(np.array([array.sum()]), np.array([weight_array.sum()]))[0])


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    weights: Sequence[float] | np.ndarray | None = None,
    statistic: Statistic = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of ``statistic`` over ``values``.

    ``statistic="mean"`` takes no weights. ``statistic="ratio"`` needs ``weights`` (one per
    value, e.g. reference characters per page) and estimates ``sum(values) / sum(weights)``.
    With fewer than two samples the interval collapses to the point estimate.
    """
    array, weight_array = _validate(values, weights, statistic)
    _check_settings(n_resamples, confidence)
    if array.size < 2:
        point = point_estimate(array, weights=weight_array, statistic=statistic)
        return point, point
    resampled = _resampled_statistic([(array, weight_array)], statistic, n_resamples, seed)[0]
    return _interval(resampled, confidence)


def paired_bootstrap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    weights: Sequence[float] | np.ndarray | None = None,
    weights_b: Sequence[float] | np.ndarray | None = None,
    statistic: Statistic = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDiff:
    """Difference ``statistic(b) - statistic(a)`` where ``a[i]`` and ``b[i]`` are the same page.

    Each resample draws the same pages for both sides, so page difficulty cancels out and
    the interval reflects only how the change behaves page by page. For ``"ratio"``,
    ``weights`` are the per-page denominators (reference characters) of ``a``, and of ``b``
    too unless ``weights_b`` is given (it differs only if normalisation differs).
    """
    a_array, a_weights = _validate(a, weights, statistic)
    b_array, b_weights = _validate(b, weights if weights_b is None else weights_b, statistic)
    if a_array.shape != b_array.shape:
        raise ValueError(f"paired samples must have equal lengths, got {a_array.size} and {b_array.size}")
    _check_settings(n_resamples, confidence)
    diff = point_estimate(b_array, weights=b_weights, statistic=statistic) - point_estimate(
        a_array, weights=a_weights, statistic=statistic
    )
    if a_array.size < 2:
        return PairedDiff(diff, diff, diff, False)
    resampled_a, resampled_b = _resampled_statistic(
        [(a_array, a_weights), (b_array, b_weights)], statistic, n_resamples, seed
    )
    low, high = _interval(resampled_b - resampled_a, confidence)
    return PairedDiff(diff, low, high, bool(low > 0 or high < 0))


def _validate(values, weights, statistic: str) -> tuple[np.ndarray, np.ndarray | None]:
    array = np.asarray(values, dtype=float).ravel()
    if np.isnan(array).any():
        raise ValueError("values contain NaN: drop unscored or failed samples before bootstrapping")
    if statistic == "mean":
        if weights is not None:
            raise ValueError('statistic="mean" takes no weights; use statistic="ratio" for sum(v)/sum(w)')
        return array, None
    if statistic != "ratio":
        raise ValueError(f'statistic must be "mean" or "ratio", got {statistic!r}')
    if weights is None:
        raise ValueError('statistic="ratio" needs weights (the per-sample denominators)')
    weight_array = np.asarray(weights, dtype=float).ravel()
    if weight_array.shape != array.shape:
        raise ValueError(f"weights must match values in length, got {weight_array.size} and {array.size}")
    if np.isnan(weight_array).any() or (weight_array < 0).any():
        raise ValueError("weights must be non-negative numbers")
    return array, weight_array


def _check_settings(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def quantiles(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    """The ``qs`` quantiles (0-1, linear interpolation) of ``values``, which must not be empty."""
    return [float(value) for value in np.quantile(np.asarray(values, dtype=float), list(qs))]


def error_rates(errors: Any, lengths: Any) -> np.ndarray:
    """``errors / lengths`` elementwise, with the empty-reference rule of :mod:`harness.metrics`.

    The one implementation of the rule: a zero length gives 0.0 without errors, else 1.0.
    """
    return _safe_ratio(np.asarray(errors, dtype=float), np.asarray(lengths, dtype=float))


def _safe_ratio(numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    empty = denominators == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerators / np.where(empty, 1.0, denominators)
    return np.where(empty, np.where(numerators > 0, 1.0, 0.0), ratio)


def _resampled_statistic(
    sides: list[tuple[np.ndarray, np.ndarray | None]], statistic: str, n_resamples: int, seed: int
) -> list[np.ndarray]:
    """The statistic on ``n_resamples`` bootstrap resamples, one array per side.

    All sides are resampled with the same indices (pairing). Resamples are drawn as
    multiplicity counts in chunks, so memory stays bounded for large datasets.
    """
    n = sides[0][0].size
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_CHUNK_ELEMENTS // n)
    results: list[list[np.ndarray]] = [[] for _ in sides]
    done = 0
    while done < n_resamples:
        rows = min(chunk, n_resamples - done)
        indices = rng.integers(0, n, size=(rows, n))
        # counts[r, i]: how often sample i appears in resample r
        offsets = (indices + n * np.arange(rows)[:, None]).ravel()
        counts = np.bincount(offsets, minlength=rows * n).reshape(rows, n).astype(float)
        for side, (values, weights) in enumerate(sides):
            if statistic == "mean":
                results[side].append(counts @ values / n)
            else:
                results[side].append(_safe_ratio(counts @ values, counts @ weights))
        done += rows
    return [np.concatenate(parts) for parts in results]


def _interval(resampled: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return float(low), float(high)


def finite_or_none(value: Any) -> float | None:
    """``value`` as a finite float, or None for a missing, non-numeric, NaN or infinite value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None

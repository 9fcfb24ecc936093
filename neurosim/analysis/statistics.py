"""Confidence intervals over seeds: a mean with its Student-t interval, and a paired difference.

Every study that repeats a run over seeds (``neurosim tolerance``, ``neurosim bitdepth``,
the seeds of a p sweep in ``neurosim plot --kind p-sweep``) states its numbers with these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
"""Two-sided confidence of every interval neurosim reports."""


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` samples with its two-sided Student-t confidence interval [low, high]
    (NaN when n < 2: one sample gives no interval)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def t_interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``samples`` ± t_{(1+c)/2, n−1} · s/√n, s the sample standard deviation (n − 1 in
    the denominator); NaN values are left out. Empty: every field NaN, n = 0."""
    values = np.asarray([v for v in samples if not math.isnan(v)], dtype=float)
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(values.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def paired_difference(values: Sequence[float], reference: Sequence[float],
                      confidence: float = CONFIDENCE) -> Interval:
    """The t interval of the per-seed differences values[k] − reference[k] (pairs with a NaN left out)."""
    return t_interval([v - r for v, r in zip(values, reference)], confidence)

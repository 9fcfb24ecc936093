"""Quantisers against their definition: 2^b levels, rounding, saturation, unbiasedness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurosim.devices.quantize import Quantiser

bits = st.integers(1, 12)
ranges = st.tuples(st.floats(-8, 8), st.floats(0.01, 16)).map(lambda t: (t[0], t[0] + t[1]))
modes = st.sampled_from(["nearest", "truncate", "stochastic"])


def quantiser(b, rng_, mode, signed):
    lo, hi = rng_
    if signed:
        lo, hi = -abs(hi), abs(hi)
    return Quantiser(b, lo, hi, mode, signed, seed=3, name="test")


@settings(max_examples=60, deadline=None)
@given(bits, ranges, modes, st.booleans())
def test_exactly_2_to_the_bits_levels_over_the_range(b, rng_, mode, signed):
    q = quantiser(b, rng_, mode, signed)
    sweep = np.linspace(q.lo - 1, q.hi + 1, 2 ** b * 8 + 1)
    out = np.unique(q(np.concatenate([sweep, q.levels()])))
    assert len(out) == 2 ** b
    np.testing.assert_allclose(out, q.levels(), rtol=0, atol=1e-9 * (q.hi - q.lo))
    if signed:
        assert 0.0 in q.levels()


@settings(max_examples=60, deadline=None)
@given(bits, ranges, modes, st.booleans(), st.sampled_from([np.float32, np.float64]))
def test_idempotent_on_its_own_output(b, rng_, mode, signed, dtype):
    q = quantiser(b, rng_, mode, signed)
    if dtype is np.float32:  # a level must be stored within SNAP·Δ: |level| ≤ 2^(18−b)·(hi − lo), as documented
        assume(max(abs(q.lo), abs(q.hi)) <= 2.0 ** (18 - b) * (q.hi - q.lo))
    x = np.random.default_rng(b).uniform(q.lo - 1, q.hi + 1, 200).astype(dtype)
    once = q(x)
    assert np.array_equal(q(once), once)


@settings(max_examples=60, deadline=None)
@given(bits, ranges, st.sampled_from(["nearest", "truncate"]), st.booleans())
def test_monotone_and_saturating(b, rng_, mode, signed):
    q = quantiser(b, rng_, mode, signed)
    x = np.sort(np.random.default_rng(b).uniform(q.lo - 2, q.hi + 2, 500))
    out = q(x)
    assert np.all(np.diff(out) >= 0)
    levels = q.levels()
    assert np.all(out[x <= q.lo] == levels[0]) and np.all(out[x >= q.hi] == levels[-1])


@settings(max_examples=60, deadline=None)
@given(bits, ranges, st.booleans())
def test_nearest_error_at_most_half_a_step_inside_the_range(b, rng_, signed):
    q = quantiser(b, rng_, "nearest", signed)
    levels = q.levels()
    x = np.random.default_rng(b).uniform(levels[0], levels[-1], 500)
    assert np.all(np.abs(q(x) - x) <= q.step / 2 * (1 + 1e-9))


@settings(max_examples=60, deadline=None)
@given(bits, ranges, st.booleans())
def test_truncate_rounds_down(b, rng_, signed):
    q = quantiser(b, rng_, "truncate", signed)
    levels = q.levels()
    x = np.random.default_rng(b).uniform(levels[0], levels[-1], 500)
    err = x - q(x)
    assert np.all(err > -q.step * 2 ** -6 - 1e-12) and np.all(err < q.step)


@pytest.mark.parametrize("fraction", [0.03, 0.25, 0.5, 0.9])
def test_stochastic_rounding_is_unbiased(fraction):
    """n draws of a value a fraction f of a step above a level: the mean lands on x.

    Each draw is level or level + Δ (Bernoulli f), so the mean's standard error is
    Δ·sqrt(f(1 − f)/n); with n = 200,000 a 5-sigma tolerance fails by chance with
    probability < 1e-6, while a bias of 1 % of a step would exceed it.
    """
    q = Quantiser(4, -1.0, 1.0, "stochastic", signed=True, seed=11, name="unbiased")
    n = 200_000
    x = np.full(n, q.levels()[5] + fraction * q.step)
    mean = q(x).mean()
    tolerance = 5 * q.step * np.sqrt(fraction * (1 - fraction) / n)
    assert abs(mean - x[0]) < tolerance
    assert set(np.unique(q(x))) <= {q.levels()[5], q.levels()[6]}


def test_ideal_is_the_array_itself():
    x = np.arange(5.0)
    assert Quantiser(None)(x) is x


def test_stochastic_rounding_is_reproducible_from_the_seed():
    x = np.random.default_rng(0).uniform(-1, 1, 100)
    a, b = (Quantiser(3, -1, 1, "stochastic", True, seed=5, name="w")(x) for _ in range(2))
    c = Quantiser(3, -1, 1, "stochastic", True, seed=6, name="w")(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2 ** 32))
def test_one_pass_draws_what_drawing_one_by_one_draws(n, seed):
    """The kernels draw number k of a pass for its k-th element (counter-based); that must
    be the k-th number of the generator drawn one after another: rounding an array in one
    call equals rounding its elements in n calls, and leaves the generator in the same state."""
    x = np.random.default_rng(seed).uniform(-1, 1, n)
    whole, single = (Quantiser(3, -1, 1, "stochastic", True, seed=seed, name="w") for _ in range(2))
    at_once = whole(x)
    one_by_one = np.array([single(x[i:i + 1])[0] for i in range(n)])
    assert np.array_equal(at_once, one_by_one) and whole.state[0] == single.state[0]

"""Fused element-wise kernels (numba): one pass over the state per integration step."""

from __future__ import annotations

import numba
import numpy as np

from neurosim.devices.quantize import advance, point, quantise_at, quantise_fixed, quantise_value


@numba.njit(inline="always")
def _clip(v):  # pragma: no cover - compiled
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@numba.njit(inline="always")
def _euler(s, drive, keep, epsilon):  # pragma: no cover - compiled
    """clip((1 − ε)s + ε·drive, 0, 1), with ``keep`` = 1 − ε."""
    return _clip(keep * s + epsilon * drive)


@numba.njit(inline="always")
def _output_step(s, current, target, keep, epsilon, nudge, split):  # pragma: no cover - compiled
    """One step of an output neuron with the cost's nudge, ``nudge`` = 2β (0: free phase).

    ``split`` (the paper's code): v = (1 − ε)s + ε·I, then v ← v + ε·2β(y − v), then clip:
    the nudge acts on the state after the free step. Otherwise one Euler step of the total
    field: clip((1 − ε)s + ε(I + 2β(y − s)), 0, 1).
    """
    if split:
        v = keep * s + epsilon * current
        return _clip(v + epsilon * nudge * (target - v))
    return _euler(s, current + nudge * (target - s), keep, epsilon)


@numba.njit(cache=True, nogil=True, fastmath=False)
def leaky_integrate(s, current, epsilon, out_start, nudge, target, split):  # pragma: no cover - compiled
    """One integration step of every neuron, in place, clipped to [0, 1].

    s ← clip((1 − ε)s + ε·I, 0, 1), where I is the total input current (synaptic current
    plus bias); output neurons (columns from ``out_start``) also get the cost's nudge
    with ``nudge`` = 2β (0 in the free phase), applied after the free step when ``split``
    (the paper's code) or inside the same Euler step otherwise (:func:`_output_step`).
    """
    batch, width = s.shape
    keep = 1.0 - epsilon
    for k in range(batch):
        for i in range(out_start):
            s[k, i] = _euler(s[k, i], current[k, i], keep, epsilon)
        for i in range(out_start, width):
            s[k, i] = _output_step(s[k, i], current[k, i], target[k, i - out_start], keep, epsilon, nudge, split)


@numba.njit(cache=True, nogil=True, fastmath=False)
def leaky_integrate_quantised(s, r, current, epsilon, out_start, nudge, target, split, params,
                              states):  # pragma: no cover - compiled
    """The step of :func:`leaky_integrate` through the neuron's quantisation points, fused.

    Per neuron, in one pass: the ADC reads the current, q_I(I); the integrator steps
    (output neurons with the nudge, :func:`_output_step`); its state is written through q_s; the DAC drives r = q_ρ(s) onto
    the synapses. ``params``/``states`` hold the kernel parameters and generator states of
    the points [current ADC, state, activation DAC] (:mod:`neurosim.devices.quantize`).

    The element loops have independent iterations (they vectorise): without a stochastic
    point they are branch-free and draw nothing; otherwise element n of the pass (row-major,
    from 1) rounds with draw n of each stochastic point's generator (:func:`quantise_at`),
    and each generator advances by batch·width draws at the end.
    """
    batch, width = s.shape
    keep = 1.0 - epsilon
    p_adc, p_state, p_dac = point(params[0]), point(params[1]), point(params[2])
    if p_adc[4] >= 0.0 and p_state[4] >= 0.0 and p_dac[4] >= 0.0:
        for k in range(batch):
            for i in range(out_start):
                v = quantise_fixed(_euler(s[k, i], quantise_fixed(current[k, i], p_adc, p_adc[4]), keep, epsilon),
                                   p_state, p_state[4])
                s[k, i] = v
                r[k, i] = quantise_fixed(v, p_dac, p_dac[4])
            for i in range(out_start, width):
                v = quantise_fixed(_output_step(s[k, i], quantise_fixed(current[k, i], p_adc, p_adc[4]),
                                                target[k, i - out_start], keep, epsilon, nudge, split),
                                   p_state, p_state[4])
                s[k, i] = v
                r[k, i] = quantise_fixed(v, p_dac, p_dac[4])
        return
    g_adc, g_state, g_dac = states[0, 0], states[1, 0], states[2, 0]
    for k in range(batch):
        first = np.uint64(k * width + 1)
        for i in range(out_start):
            n = first + np.uint64(i)
            v = quantise_at(_euler(s[k, i], quantise_at(current[k, i], p_adc, g_adc, n), keep, epsilon),
                            p_state, g_state, n)
            s[k, i] = v
            r[k, i] = quantise_at(v, p_dac, g_dac, n)
        for i in range(out_start, width):
            n = first + np.uint64(i)
            v = quantise_at(_output_step(s[k, i], quantise_at(current[k, i], p_adc, g_adc, n),
                                         target[k, i - out_start], keep, epsilon, nudge, split),
                            p_state, g_state, n)
            s[k, i] = v
            r[k, i] = quantise_at(v, p_dac, g_dac, n)
    for j in range(3):
        if params[j, 4] < 0.0:
            states[j, 0] = advance(states[j, 0], batch * width)


@numba.njit(cache=True, nogil=True)
def apply_quantised_update(w, dw, rate, symmetric, p_weight, g_weight, p_update, g_update):  # pragma: no cover
    """W ← q_W(W + q_ΔW(α·ΔW)) in place, one pass.

    Returns (lost, nonzero): how many connections with ΔW ≠ 0 kept their stored weight
    unchanged, and how many had ΔW ≠ 0.

    ``symmetric`` (an intralayer block): only the upper triangle is computed and mirrored,
    so stochastic rounding keeps W = Wᵀ.
    """
    rows, cols = w.shape
    lost = nonzero = 0
    p_w, p_u = point(p_weight), point(p_update)
    g_w, g_u = g_weight[0], g_update[0]
    for i in range(rows):
        for j in range(i if symmetric else 0, cols):
            change = dw[i, j]
            if change == 0.0:
                continue
            nonzero += 1
            old = w[i, j]
            step, g_u = quantise_value(rate * change, p_u, g_u)
            new, g_w = quantise_value(old + step, p_w, g_w)
            w[i, j] = new
            if symmetric:
                w[j, i] = new
            if w[i, j] == old:
                lost += 1
    g_weight[0], g_update[0] = g_w, g_u
    return lost, nonzero


def rho(s: np.ndarray) -> np.ndarray:
    """Hard sigmoid ρ(s) = clip(s, 0, 1) (paper eq. 1)."""
    return np.clip(s, 0.0, 1.0)


def rho_prime(s: np.ndarray) -> np.ndarray:
    """ρ'(s): 1 on the closed interval [0, 1] (ρ'(0) = ρ'(1) = 1 by convention), 0 outside."""
    return ((s >= 0.0) & (s <= 1.0)).astype(s.dtype)

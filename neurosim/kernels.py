"""Fused element-wise kernels (numba): one pass over the state per integration step."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, fastmath=False)
def leaky_integrate(s, current, epsilon, out_start, nudge, target):  # pragma: no cover - compiled
    """One Euler step of every neuron, in place, clipped to [0, 1].

    s ← clip((1 − ε)s + ε·I, 0, 1), where I is the total input current (synaptic current
    plus bias) and, for output neurons (columns from ``out_start``), also the cost's nudge
    2β(y_target − s) passed as ``nudge`` = 2β (0 in the free phase).
    """
    batch, width = s.shape
    keep = 1.0 - epsilon
    for k in range(batch):
        for i in range(out_start):
            v = keep * s[k, i] + epsilon * current[k, i]
            s[k, i] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
        for i in range(out_start, width):
            drive = current[k, i] + nudge * (target[k, i - out_start] - s[k, i])
            v = keep * s[k, i] + epsilon * drive
            s[k, i] = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


def rho(s: np.ndarray) -> np.ndarray:
    """Hard sigmoid ρ(s) = clip(s, 0, 1) (paper eq. 1)."""
    return np.clip(s, 0.0, 1.0)


def rho_prime(s: np.ndarray) -> np.ndarray:
    """ρ'(s): 1 on the closed interval [0, 1] (ρ'(0) = ρ'(1) = 1 by convention), 0 outside."""
    return ((s >= 0.0) & (s <= 1.0)).astype(s.dtype)

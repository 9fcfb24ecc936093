"""Learning rules on a directed graph (corrections before the learning rate).

DEEP (paper eq. 2): integrate Ẇ_ij ∝ s_i ṡ_j along the weakly-clamped path from s⁰ to
s^β, M_β Euler steps, ṡ_j by a backward difference:

    ΔW_ij = 1/(β M_β) · Σ_{m=M0+1}^{M0+M_β} s_i(m) (s_j(m) − s_j(m−1)),

averaged over the batch; the bias is the weight from the always-on neuron (s = 1), so
Δb_j = (s_j^β − s_j⁰)/(β M_β). Dividing by the signed β keeps the direction of descent when
β's sign is drawn at random (the paper writes "∝").

Asymmetric vector-field EP (ref. [6]), one forward-difference step:
ΔW_ij = s_i⁰ (s_j^β − s_j⁰)/β, Δb_j = (s_j^β − s_j⁰)/β.

ℓ1 regularisation adds −λ₁ sign(W_ij) to every correction.
"""

from __future__ import annotations

import numpy as np


def with_bias(u: np.ndarray) -> np.ndarray:
    """Append the always-on bias neuron (activity 1) as a last column: batch × (N + 1)."""
    return np.concatenate([u, np.ones((u.shape[0], 1), dtype=u.dtype)], axis=1)


class PathIntegral:
    """Accumulates Σ_m s_i(m)(s_j(m) − s_j(m−1)) over the steps it is shown, summed over the batch."""

    def __init__(self, n: int, dtype=np.float64):
        self.total = np.zeros((n + 1, n), dtype=dtype)
        self.steps = 0

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> None:
        self.total += with_bias(current).T @ (current - previous)
        self.steps += 1

    def correction(self, beta: float, batch: int) -> np.ndarray:
        """ΔW of eq. 2: the accumulated sum / (β · M_β · batch)."""
        return self.total / (beta * self.steps * batch)


def asymmetric_correction(u0: np.ndarray, ubeta: np.ndarray, beta: float) -> np.ndarray:
    """ΔW_ij = ⟨s_i⁰ (s_j^β − s_j⁰)⟩/β over the batch, bias row included."""
    return with_bias(u0).T @ (ubeta - u0) / (beta * u0.shape[0])


def l1_correction(weights: np.ndarray, strength: float) -> np.ndarray:
    """−λ₁ sign(W): the (sub)gradient step of the penalty λ₁ Σ|W_ij|."""
    return -strength * np.sign(weights)

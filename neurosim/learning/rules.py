"""Learning rules: β, its sign and the division by it live here, and only here.

A rule turns what the memory cells hold into corrections ΔW (before the learning rate);
the device banks only compute the products a rule asks for and store what it returns.

- :class:`EPRule` (Scellier & Bengio; the layer-skipping paper's eqs. 7–8):
  ΔW_ij = ⟨ρ(Uβ_i)ρ(Uβ_j) − ρ(U0_i)ρ(U0_j)⟩/β, Δb_i = ⟨ρ(Uβ_i) − ρ(U0_i)⟩/β, the
  weakly-clamped phase nudging the outputs by −β∂C/∂y = 2β(y − s) (C = ‖y − y_target‖²).
- :class:`DeepRule` (DEEP paper eq. 2): integrate Ẇ_ij ∝ s_i ṡ_j along the weakly-clamped
  path, M_β Euler steps, ṡ_j by a backward difference:
  ΔW_ij = 1/(β M_β) Σ_{m=M0+1}^{M0+M_β} s_i(m)(s_j(m) − s_j(m−1)), averaged over the batch;
  the bias is the weight from the always-on neuron (s = 1), so Δb_j = (s_j^β − s_j⁰)/(β M_β).
- :class:`AsymmetricRule` (vector-field EP, the DEEP paper's ref. [6]), one forward
  difference: ΔW_ij = ⟨s_i⁰(s_j^β − s_j⁰)⟩/β, Δb_j = ⟨s_j^β − s_j⁰⟩/β.
- :class:`BackpropRule`: ΔW_ab = −⟨r_aᵀ δ_b⟩, Δb = −⟨δ⟩; no β.

Dividing by the *signed* β keeps the direction of descent when β's sign is drawn at
random per batch (the paper's trick, ``dynamics.estimator: random_sign``). The symmetric
estimator (``symmetric``) runs a +β and a −β phase and divides their difference by 2β.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Beta:
    """The clamping factor of an EP-family rule and how its sign is chosen."""

    magnitude: float
    estimator: str = "random_sign"
    """``random_sign``, ``one_sided`` or ``symmetric`` (``dynamics.estimator``)."""

    @property
    def symmetric(self) -> bool:
        """Two weakly-clamped phases, +β and −β, per batch."""
        return self.estimator == "symmetric"

    def draw(self, sign_rng: np.random.Generator) -> float:
        """The signed β of the next batch: ±magnitude (one draw of ``sign_rng``) with a random
        sign, else +magnitude (the symmetric estimator runs −β as well)."""
        return self.magnitude * (sign_rng.choice((-1.0, 1.0)) if self.estimator == "random_sign" else 1.0)


class EPRule:
    """Equilibrium Propagation's rule (eqs. 7–8) and the cost's nudge."""

    name = "ep"

    def __init__(self, beta: Beta):
        self.beta = beta

    @staticmethod
    def nudge(beta: float) -> float:
        """The factor of the output nudge 2β(y − s): 2β."""
        return 2.0 * beta

    @staticmethod
    def weight_scale(beta: float, examples: int) -> float:
        """The factor 1/(β·B) that turns summed products over a batch of B into ⟨·⟩/β."""
        return 1.0 / (beta * examples)

    @staticmethod
    def bias_correction(r0: np.ndarray, rbeta: np.ndarray, beta: float) -> np.ndarray:
        """Δb = ⟨ρ(Uβ) − ρ(U0)⟩/β over the batch."""
        return (rbeta - r0).mean(axis=0) / r0.dtype.type(beta)


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


class DeepRule(EPRule):
    """DEEP's path-integral rule (eq. 2), with optional ℓ1 regularisation."""

    name = "deep"

    def __init__(self, beta: Beta, l1: float = 0.0):
        super().__init__(beta)
        self.l1 = l1

    @staticmethod
    def correction(path: PathIntegral, beta: float, examples: int) -> np.ndarray:
        """ΔW of eq. 2: the accumulated sum / (β · M_β · batch)."""
        return path.total / (beta * path.steps * examples)

    def regularised(self, correction: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Adds −λ₁ sign(W), the (sub)gradient step of the penalty λ₁ Σ|W_ij|, when λ₁ > 0."""
        if self.l1 > 0:
            correction += -self.l1 * np.sign(weights)
        return correction


class AsymmetricRule(DeepRule):
    """Asymmetric vector-field EP's one-step rule, with optional ℓ1 regularisation."""

    name = "asymmetric"

    @staticmethod
    def correction_from_cells(u0: np.ndarray, ubeta: np.ndarray, beta: float) -> np.ndarray:
        """ΔW_ij = ⟨s_i⁰ (s_j^β − s_j⁰)⟩/β over the batch, bias row included."""
        return with_bias(u0).T @ (ubeta - u0) / (beta * u0.shape[0])


class BackpropRule:
    """Gradient descent on C = ½‖ρ(u_L) − y_target‖²: ΔW_ab = −⟨r_aᵀ δ_b⟩, Δb = −⟨δ⟩. No β."""

    name = "bp"
    beta = None

    @staticmethod
    def weight_correction(r: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return -(r.T @ delta) / len(r)

    @staticmethod
    def bias_correction(delta: np.ndarray) -> np.ndarray:
        return -delta.mean(axis=0)

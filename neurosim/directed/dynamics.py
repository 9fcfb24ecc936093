"""Neuron dynamics on a directed graph, integrated with Euler steps and the hard sigmoid.

The state ``u`` holds every neuron (batch × N, inputs in the first P columns, clamped).
Two vector fields, for the non-input neurons j:

- ``deep`` (paper eq. 1):       V_j = Σ_i W_ij s_i + b_j − s_j Σ_i W_ji
- ``asymmetric`` (vector-field EP, the paper's ref. [6], ρ' = 1 inside [0, 1]):
                                V_j = Σ_i W_ij s_i + b_j − s_j

plus, on the outputs in the weakly-clamped phase, −β ∂C/∂s_j = 2β(y_j − s_j) with the
cost C = ‖ŷ − y‖² (no ½, as in the Hopfield controller). One step, step size ε (units of
the neuron time constant): s ← clip(s + ε·V(s), 0, 1) (the paper's footnote 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from neurosim.directed.synapses import DirectedSynapseBank

Kind = Literal["deep", "asymmetric"]


def vector_field(kind: Kind, bank: DirectedSynapseBank, u: np.ndarray, beta: float = 0.0,
                 target: np.ndarray | None = None) -> np.ndarray:
    """V(u) for every neuron (batch × N); 0 on the clamped inputs. No clipping."""
    graph = bank.graph
    v = u @ bank.connections + bank.bias
    leak = bank.outflow() if kind == "deep" else 1.0
    v -= u * leak
    v[:, : graph.n_inputs] = 0.0
    if beta != 0.0:
        v[:, graph.outputs] += 2.0 * beta * (target - u[:, graph.outputs])
    return v


def relax(kind: Kind, bank: DirectedSynapseBank, u: np.ndarray, steps: int, epsilon: float,
          beta: float = 0.0, target: np.ndarray | None = None,
          on_step: Callable[[np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """Integrate ``steps`` Euler steps from ``u`` (not modified); returns the final state.

    ``on_step(previous, current)`` sees the state before and after every step (used by
    the DEEP rule to integrate along the path).
    """
    free = bank.graph.free
    u = u.copy()
    for _ in range(steps):
        previous = u.copy() if on_step is not None else None
        v = vector_field(kind, bank, u, beta, target)
        np.clip(u[:, free] + epsilon * v[:, free], 0.0, 1.0, out=u[:, free])
        if on_step is not None:
            on_step(previous, u)
    return u


def initial_state(x: np.ndarray, n: int, dtype) -> np.ndarray:
    """Inputs clamped to x, every other neuron at rest (0)."""
    u = np.zeros((x.shape[0], n), dtype=dtype)
    u[:, : x.shape[1]] = x
    return u

"""Diagnostics of the directed dynamics: Propositions 1 and 2 of the paper.

Proposition 1: with every neuron free (no clamped inputs), no biases and β = 0, the DEEP
field preserves the sum of rates, Σ_j V_j(s) = Σ_ij W_ij s_i − Σ_j s_j Σ_i W_ji = 0.

Proposition 2 (Gershgorin discs of the Jacobian J_jk = ∂V_j/∂s_k of eq. 1 over the
non-input neurons, J_jj = −Σ_i W_ji, J_jk = W_kj): the free equilibrium is locally
asymptotically stable if, for every non-input j,

    Σ_i W_ji > 0   and   Σ_{i > P, i ≠ j} |W_ij| < |Σ_i W_ji|.

The field is linear in s, so the condition depends on the weights only. For the
asymmetric field J_jj = −1, and the same disc test reads Σ_{i>P} |W_ij| < 1.
"""

from __future__ import annotations

import numpy as np

from neurosim.models.graph import Kind
from neurosim.devices.directed_synapses import DirectedSynapseBank


def rate_sum_drift(bank: DirectedSynapseBank, s: np.ndarray) -> np.ndarray:
    """Σ_j V_j(s) of the DEEP field with all N neurons free, no biases, β = 0 (per example).

    Proposition 1 says it is 0 for any state and weights (up to rounding).
    """
    w = bank.connections
    return (s @ w).sum(axis=1) - s @ w.sum(axis=1)


def stable_neurons(bank: DirectedSynapseBank, kind: Kind = "deep") -> np.ndarray:
    """Per non-input neuron: does it satisfy the sufficient condition (Proposition 2)? (N − P,)"""
    graph = bank.graph
    incoming = np.abs(bank.connections[graph.free, graph.free]).sum(axis=0)
    if kind == "asymmetric":
        return incoming < 1.0
    outflow = bank.outflow()[graph.free]
    return (outflow > 0) & (incoming < np.abs(outflow))


def stable_fraction(bank: DirectedSynapseBank, kind: Kind = "deep") -> float:
    """Fraction of non-input neurons that satisfy Proposition 2's condition."""
    return float(stable_neurons(bank, kind).mean())

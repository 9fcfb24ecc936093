"""The sparsity mechanism (paper eq. 3): weak connections removed at random.

At every update, each live connection with |W_ij| < λ is removed with probability

    p_ij = exp(−|W_ij|/T) / Σ_k exp(−|W_kj|/T),

the Boltzmann distribution over the live incoming connections k of j (bias included, as
the connection from the always-on neuron), temperature T. Connections with |W_ij| ≥ λ
are never removed; removed ones stay removed.
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.directed_synapses import DirectedSynapseBank


def removal_probabilities(weights: np.ndarray, alive: np.ndarray, threshold: float,
                          temperature: float) -> np.ndarray:
    """p_ij of eq. 3 for candidates (alive, |W| < λ), 0 elsewhere; same shape as ``weights``."""
    magnitude = np.abs(weights)
    # Shift by the column's smallest live |W| before exponentiating: the ratio is unchanged
    # and nothing underflows to 0/0 at low temperature.
    smallest = np.where(alive, magnitude, np.inf).min(axis=0, keepdims=True)
    smallest = np.where(np.isfinite(smallest), smallest, 0.0)
    excess = np.where(alive, magnitude - smallest, np.inf)  # removed ones: exp(−∞) = 0, no overflow
    boltzmann = np.exp(-excess / temperature)
    total = boltzmann.sum(axis=0, keepdims=True)
    p = np.divide(boltzmann, total, out=np.zeros_like(boltzmann), where=total > 0)
    return np.where(alive & (magnitude < threshold), p, 0.0)


def prune(bank: DirectedSynapseBank, rng: np.random.Generator, threshold: float, temperature: float) -> int:
    """Draw the removals of one update and apply them; returns the number removed."""
    p = removal_probabilities(bank.weights, bank.alive, threshold, temperature)
    return bank.remove(rng.random(p.shape) < p)

"""The directed synapse bank: every connection's weight and whether it is still alive.

Unlike the bidirectional :class:`neurosim.devices.SynapseBank`, a directed synapse carries
current one way only: W[i, j] drives j with W[i, j]·s_i, and W[j, i] is an independent
device. The bank is two arrays, ``weights`` and ``alive`` ((N + 1) × N, the last row the
biases); a removed connection has weight 0 and stays removed.
"""

from __future__ import annotations

import numpy as np

from neurosim.directed.graph import DirectedGraph


class DirectedSynapseBank:
    """Weights W ((N + 1) × N, row N the biases) and the alive mask of a directed graph."""

    def __init__(self, graph: DirectedGraph, weights: np.ndarray):
        self.graph = graph
        self.alive = graph.mask()
        if weights.shape != self.alive.shape:
            raise ValueError(f"weights must be {self.alive.shape}, got {weights.shape}")
        self.weights = np.where(self.alive, weights, 0.0).astype(weights.dtype)
        self.initial_count = int(self.alive.sum())

    @classmethod
    def uniform(cls, graph: DirectedGraph, rng: np.random.Generator, scale: float, dtype=np.float64):
        """Every weight and bias drawn from U[−scale, scale]."""
        return cls(graph, rng.uniform(-scale, scale, (graph.n + 1, graph.n)).astype(dtype))

    @property
    def connections(self) -> np.ndarray:
        """W between neurons (N × N), biases excluded."""
        return self.weights[: self.graph.n]

    @property
    def bias(self) -> np.ndarray:
        """b (N,), 0 for inputs."""
        return self.weights[self.graph.n]

    def outflow(self) -> np.ndarray:
        """Σ_i W_ji for every neuron j: the weighted sum of its outgoing connections (N,)."""
        return self.connections.sum(axis=1)

    def apply(self, delta: np.ndarray) -> None:
        """W ← W + ΔW on live connections only."""
        self.weights += np.where(self.alive, delta, 0.0).astype(self.weights.dtype)

    def remove(self, which: np.ndarray) -> int:
        """Remove the connections marked True (weight set to 0, never revived); returns how many."""
        which = which & self.alive
        self.alive &= ~which
        self.weights[which] = 0.0
        return int(which.sum())

    def sparsity(self) -> float:
        """Fraction of the graph's connections and biases removed so far."""
        return 1.0 - self.alive.sum() / self.initial_count

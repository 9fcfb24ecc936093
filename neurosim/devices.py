"""Device banks: every neuron device and every synapse device of a network, as arrays.

A bank holds the state of all devices of one kind (struct of arrays) and offers the
operations the hardware has. There is no Python object per neuron or per synapse.
"""

from __future__ import annotations

import numpy as np

from neurosim.kernels import leaky_integrate
from neurosim.topology import LayerPair, Topology


class NeuronBank:
    """The leaky-integrator neuron devices of every non-input layer.

    Holds per neuron the state s ∈ [0, 1], the bias b and two memory cells: U0 (written at
    the end of the free phase) and Uβ (end of the weakly-clamped phase). States are stored
    as one array (batch × neurons) with the hidden layers first and the output layer last.
    """

    def __init__(self, topology: Topology, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.slices = topology.state_slices()
        self.size = topology.n_state
        self.out_start = self.slices[topology.output_layer].start
        self.bias = np.zeros(self.size, dtype=self.dtype)
        self.s = np.zeros((0, self.size), dtype=self.dtype)
        self.u0 = np.zeros_like(self.s)
        self.ubeta = np.zeros_like(self.s)

    def load(self, state: np.ndarray) -> None:
        """Set the state of every neuron (one row per example of the batch)."""
        if self.s.shape != state.shape:
            self.s = np.empty(state.shape, dtype=self.dtype)
        self.s[...] = state

    def activation(self) -> np.ndarray:
        """ρ(s), the signal each neuron drives onto its synapses.

        The state never leaves [0, 1] (every step clips it), where ρ is the identity, so
        this is the state array itself: no copy, no extra pass.
        """
        return self.s

    def integrate(self, current: np.ndarray, epsilon: float, nudge: float = 0.0,
                  target: np.ndarray | None = None) -> None:
        """One integration step: s ← clip((1 − ε)s + ε(I + 2β(y − s)·[output]), 0, 1).

        ``current`` must already include the bias; ``nudge`` is 2β (0 in the free phase).
        """
        if target is None:
            target = np.zeros((self.s.shape[0], self.size - self.out_start), dtype=self.dtype)
        leaky_integrate(self.s, current, epsilon, self.out_start, nudge, target)

    def store_u0(self) -> None:
        """Write every neuron's state into its U0 memory cell (end of the free phase)."""
        self.u0 = self.s.copy()

    def store_ubeta(self) -> None:
        """Write every neuron's state into its Uβ memory cell (end of the weakly-clamped phase)."""
        self.ubeta = self.s.copy()

    def output(self) -> np.ndarray:
        """States of the output neurons."""
        return self.s[:, self.out_start:]


class SynapseBank:
    """The bidirectional synapse devices, one weight block per layer pair.

    A synapse between neuron i of layer a and neuron j of layer b carries ρ(u_i)·W_ij to j
    and ρ(u_j)·W_ij to i. Blocks touching the input layer carry a current that is constant
    while the inputs are clamped; :meth:`input_currents` computes it once per phase.
    """

    def __init__(self, topology: Topology, weights: dict[LayerPair, np.ndarray], dtype=np.float32):
        self.topology = topology
        self.dtype = np.dtype(dtype)
        self.weights = {pair: np.ascontiguousarray(w, dtype=self.dtype) for pair, w in weights.items()}
        self.masks = {pair: (None if m is None else m.astype(self.dtype)) for pair, m in topology.masks.items()}
        self.slices = topology.state_slices()
        self.size = topology.n_state
        self.input_pairs = [p for p in topology.pairs if p[0] == 0]
        self.recurrent_pairs = [p for p in topology.pairs if p[0] > 0]

    def input_currents(self, x: np.ndarray) -> np.ndarray:
        """Current into every non-input neuron from the clamped inputs x: Σ_a x W_0b."""
        out = np.zeros((x.shape[0], self.size), dtype=self.dtype)
        for pair in self.input_pairs:
            out[:, self.slices[pair[1]]] += x @ self.weights[pair]
        return out

    def add_recurrent_currents(self, r: np.ndarray, out: np.ndarray) -> None:
        """Add the currents between non-input neurons, driven by activations r = ρ(s), to ``out``.

        Inter-layer block (a, b): b receives r_a W, a receives r_b Wᵀ. Intralayer block
        (a, a): a receives r_a W (W symmetric).
        """
        for a, b in self.recurrent_pairs:
            w = self.weights[(a, b)]
            out[:, self.slices[b]] += r[:, self.slices[a]] @ w
            if a != b:
                out[:, self.slices[a]] += r[:, self.slices[b]] @ w.T

    def corrections(self, x: np.ndarray, r0: np.ndarray, rbeta: np.ndarray, beta: float) -> dict[LayerPair, np.ndarray]:
        """EP weight corrections, batch-averaged (paper eq. 7).

        ΔW_ij = ⟨ρ(Uβ_i)ρ(Uβ_j) − ρ(U0_i)ρ(U0_j)⟩/β for every existing connection. One
        matrix product per block: [ρ(Uβ); ρ(U0)]_aᵀ · [ρ(Uβ); −ρ(U0)]_b over 2·batch rows;
        for input blocks, where ρ(x) is the same in both phases, xᵀ(ρ(Uβ) − ρ(U0))_b.
        """
        scale = 1.0 / (beta * x.shape[0])
        both = np.concatenate([rbeta, r0])
        signed = np.concatenate([rbeta, -r0])
        change = rbeta - r0
        out = {}
        for a, b in self.topology.pairs:
            if a == 0:
                dw = x.T @ change[:, self.slices[b]]
            else:
                dw = both[:, self.slices[a]].T @ signed[:, self.slices[b]]
            dw *= scale
            if self.masks[(a, b)] is not None:
                dw *= self.masks[(a, b)]
            out[(a, b)] = dw
        return out

    def apply(self, corrections: dict[LayerPair, np.ndarray], rates: dict[LayerPair, float]) -> None:
        """Write the update into every synapse: W ← W + α_ab ΔW."""
        for pair, dw in corrections.items():
            self.weights[pair] += self.dtype.type(rates[pair]) * dw

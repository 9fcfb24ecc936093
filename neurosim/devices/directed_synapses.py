"""The directed synapse bank: every connection's weight and whether it is still alive.

Unlike the bidirectional :class:`neurosim.devices.synapses.SynapseBank`, a directed synapse carries
current one way only: W[i, j] drives j with W[i, j]·s_i, and W[j, i] is an independent
device. The bank is two arrays, ``weights`` and ``alive`` ((N + 1) × N, the last row the
biases); a removed connection has weight 0 and stays removed.

The bank carries the synapse quantisation points (:class:`neurosim.devices.spec.Quantisers`,
all ideal by default), like the Hopfield banks: stored weights and biases lie on the
levels of q_W and q_b (initial values are written through them), and an update writes
W ← q_W(W + q_ΔW(α·ΔW)), b ← q_b(b + q_Δb(α·Δb)) with the same fused kernel as the
Hopfield synapses. The neuron points (activation DAC, current ADC, state, memory) belong
to the model's neuron bank (:class:`neurosim.models.directed.DirectedNetwork`).
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.spec import Quantisers
from neurosim.models.graph import DirectedGraph
from neurosim.devices.kernels import apply_quantised_update
from neurosim.devices.pulsed import Chip


class DirectedSynapseBank:
    """Weights W ((N + 1) × N, row N the biases), the alive mask and the quantisers of a directed graph."""

    def __init__(self, graph: DirectedGraph, weights: np.ndarray, quantisers: Quantisers | None = None,
                 chip: Chip | None = None):
        self.graph = graph
        self.q = quantisers or Quantisers.ideal()
        self.chip = chip or Chip.ideal()
        self.quantised = not (self.q.weight.ideal and self.q.update.ideal and self.q.bias.ideal
                              and self.q.bias_update.ideal)
        self.alive = graph.mask()
        if weights.shape != self.alive.shape:
            raise ValueError(f"weights must be {self.alive.shape}, got {weights.shape}")
        self.weights = np.where(self.alive, weights, 0.0).astype(weights.dtype)
        self.q.weight.inplace(self.connections)  # stored values start on the levels
        self.q.bias.inplace(self.weights[graph.n:])
        self.weights[~self.alive] = 0.0  # absent connections are exactly 0 whatever the rounding
        self.initial_count = int(self.alive.sum())
        self.devices = self.chip.devices(self.weights.shape, "W", self.weights.dtype)
        """The pulsed devices of every connection and bias (None: updates are written exactly)."""
        if self.devices is not None:
            self.devices.program(self.weights, self.alive, self.chip.now)
        self.pulses_sent = 0
        """Programming pulses sent by the last update (0 without pulsed devices)."""

    @property
    def dtype(self) -> np.dtype:
        return self.weights.dtype

    @property
    def connections(self) -> np.ndarray:
        """W between neurons (N × N), biases excluded (a view)."""
        return self.weights[: self.graph.n]

    @property
    def bias(self) -> np.ndarray:
        """b (N,), 0 for inputs."""
        return self.weights[self.graph.n]

    def outflow(self) -> np.ndarray:
        """Σ_i W_ji for every neuron j: the weighted sum of its outgoing connections (N,)."""
        return self.connections.sum(axis=1)

    def apply(self, correction: np.ndarray, rate: float) -> tuple[int, int] | None:
        """Write the update α·ΔW into the live connections and biases.

        Ideal: W ← W + α ΔW. Quantised: W ← q_W(W + q_ΔW(α ΔW)) on the connections and
        b ← q_b(b + q_Δb(α Δb)) on the bias row, and returns (lost, written): how many live
        entries with ΔW ≠ 0 kept their stored value, and how many had ΔW ≠ 0. Removed
        connections get no update and stay exactly 0.
        """
        if self.devices is not None:
            self.pulses_sent, lost, written = self.devices.apply(self.weights, rate * correction, self.alive,
                                                                 self.chip.now)
            self.elapse(self.chip.pulsed.max_pulses * self.chip.timing.pulse_seconds)
            return lost, written
        if not self.quantised:
            self.weights += np.where(self.alive, rate * correction, 0.0).astype(self.weights.dtype)
            return None
        live = np.where(self.alive, correction, 0.0).astype(self.weights.dtype)  # ΔW = 0 is skipped
        n, q = self.graph.n, self.q
        lost_w, written_w = apply_quantised_update(self.weights[:n], live[:n], rate, False, q.weight.params,
                                                   q.weight.state, q.update.params, q.update.state)
        lost_b, written_b = apply_quantised_update(self.weights[n:], live[n:], rate, False, q.bias.params,
                                                   q.bias.state, q.bias_update.params, q.bias_update.state)
        return lost_w + lost_b, written_w + written_b

    def elapse(self, seconds: float) -> None:
        """Let ``seconds`` pass on the chip's clock; drifting devices drift (removed ones stay 0)."""
        self.chip.clock[0] += seconds
        if self.devices is not None and self.devices.drift.enabled:
            self.devices.drift_to(self.weights, self.chip.now)
            self.weights[~self.alive] = 0.0

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The weights (biases included), the alive mask and the state of the chip's devices:
        the arrays themselves, for a checkpoint to save and restore in place."""
        arrays = {"weights": self.weights, "alive": self.alive}
        if self.devices is not None:
            arrays |= {f"devices/{name}": v for name, v in self.devices.state_arrays().items()}
        return arrays | {f"chip/{name}": v for name, v in self.chip.state_arrays().items()}

    def remove(self, which: np.ndarray) -> int:
        """Remove the connections marked True (weight set to 0, never revived); returns how many."""
        which = which & self.alive
        self.alive &= ~which
        self.weights[which] = 0.0
        return int(which.sum())

    def sparsity(self) -> float:
        """Fraction of the graph's connections and biases removed so far."""
        return 1.0 - self.alive.sum() / self.initial_count

"""The bidirectional synapse device bank: every synapse of a network, one weight block per layer pair.

A bank holds the state of all devices of one kind (struct of arrays) and offers the
operations the hardware has. There is no Python object per synapse.
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.kernels import apply_quantised_update
from neurosim.devices.pulsed import Chip
from neurosim.devices.spec import Quantisers
from neurosim.models.topology import LayerPair, Topology


class SynapseBank:
    """The bidirectional synapse devices, one weight block per layer pair.

    A synapse between neuron i of layer a and neuron j of layer b carries ρ(u_i)·W_ij to j
    and ρ(u_j)·W_ij to i. Blocks touching the input layer carry a current that is constant
    while the inputs are clamped; :meth:`input_currents` computes it once per phase.
    """

    def __init__(self, topology: Topology, weights: dict[LayerPair, np.ndarray], dtype=np.float32,
                 quantisers: Quantisers | None = None, chip: Chip | None = None):
        self.topology = topology
        self.dtype = np.dtype(dtype)
        self.q = quantisers or Quantisers.ideal()
        self.chip = chip or Chip.ideal()
        self.quantised = not (self.q.weight.ideal and self.q.update.ideal)
        self.weights = {pair: np.ascontiguousarray(w, dtype=self.dtype) for pair, w in weights.items()}
        for (a, b), w in self.weights.items():  # stored weights start on the weight levels
            self.q.weight.inplace(w)
            if a == b and self.q.weight.rounding == "stochastic":  # keep W = Wᵀ
                w[...] = np.triu(w) + np.triu(w, 1).T
        self.masks = {pair: (None if m is None else m.astype(self.dtype)) for pair, m in topology.masks.items()}
        self.devices = {(a, b): self.chip.devices(w.shape, f"{a}-{b}", self.dtype, a == b)
                        for (a, b), w in self.weights.items()}
        """The pulsed devices of every block (None: updates are written exactly)."""
        for pair, devices in self.devices.items():
            if devices is not None:
                devices.program(self.weights[pair], self.masks[pair], self.chip.now)
        self.pulses_sent = 0
        """Programming pulses sent by the last update (0 without pulsed devices)."""
        self.slices = topology.state_slices()
        self.size = topology.n_state
        self.input_pairs = [p for p in topology.pairs if p[0] == 0]
        self.recurrent_pairs = [p for p in topology.pairs if p[0] > 0]

    def input_currents(self, x: np.ndarray) -> np.ndarray:
        """Current into every non-input neuron from the clamped inputs x: Σ_a x W_0b (without
        read noise: with input noise, :meth:`add_recurrent_currents` adds its share per step)."""
        out = np.zeros((x.shape[0], self.size), dtype=self.dtype)
        for pair in self.input_pairs:
            out[:, self.slices[pair[1]]] += x @ self.weights[pair]
        return out

    def add_recurrent_currents(self, r: np.ndarray, out: np.ndarray, x: np.ndarray | None = None) -> None:
        """Add the currents between non-input neurons, driven by activations r = ρ(s), to ``out``,
        with the chip's read noise (``out`` already holding the input current and the bias):
        input noise on r (and on the clamped inputs ``x``), output noise on the summed current.

        Inter-layer block (a, b): b receives r_a W, a receives r_b Wᵀ. Intralayer block
        (a, a): a receives r_a W (W symmetric).
        """
        noise = self.chip.noise
        r = noise.inputs(r)
        for a, b in self.recurrent_pairs:
            w = self.weights[(a, b)]
            out[:, self.slices[b]] += r[:, self.slices[a]] @ w
            if a != b:
                out[:, self.slices[a]] += r[:, self.slices[b]] @ w.T
        if noise.read.inp_noise and x is not None:  # the noise on the clamped inputs, through their synapses
            for pair in self.input_pairs:
                out[:, self.slices[pair[1]]] += (noise.inputs(x) - x) @ self.weights[pair]
        noise.outputs(out)

    def contrast(self, x: np.ndarray, r0: np.ndarray, rbeta: np.ndarray, scale: float) -> dict[LayerPair, np.ndarray]:
        """The two-phase contrast of every existing connection, summed over the batch and
        multiplied by ``scale`` (the learning rule's factor, e.g. 1/(β·B) for EP's eq. 7):

        scale · Σ_batch (ρ(Uβ_i)ρ(Uβ_j) − ρ(U0_i)ρ(U0_j)). One matrix product per block:
        [ρ(Uβ); ρ(U0)]_aᵀ · [ρ(Uβ); −ρ(U0)]_b over 2·batch rows; for input blocks, where
        ρ(x) is the same in both phases, xᵀ(ρ(Uβ) − ρ(U0))_b.
        """
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

    def _apply_pulses(self, corrections: dict[LayerPair, np.ndarray], rates: dict[LayerPair, float]) -> np.ndarray:
        """The update as programming pulses (:class:`~neurosim.devices.pulsed.PulsedArray`);
        the fraction of each block's devices with ΔW ≠ 0 that did not move, as for quantised weights."""
        lost, self.pulses_sent = [], 0
        for (a, b), dw in corrections.items():
            pulses, unmoved, nonzero = self.devices[(a, b)].apply(self.weights[(a, b)], rates[(a, b)] * dw,
                                                                  self.masks[(a, b)], self.chip.now)
            self.pulses_sent += pulses
            lost.append(unmoved / nonzero if nonzero else np.nan)
        self.elapse(self.chip.pulsed.max_pulses * self.chip.timing.pulse_seconds)
        return np.array(lost)

    def elapse(self, seconds: float) -> None:
        """Let ``seconds`` pass on the chip's clock; drifting devices drift."""
        self.chip.clock[0] += seconds
        for pair, devices in self.devices.items():
            if devices is not None:
                devices.drift_to(self.weights[pair], self.chip.now)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The stored weights by block name (``weights/0-1``) and the state of the chip's
        devices: the arrays themselves, for a checkpoint to save and restore in place."""
        arrays = {f"weights/{a}-{b}": w for (a, b), w in self.weights.items()}
        for (a, b), devices in self.devices.items():
            if devices is not None:
                arrays |= {f"devices/{a}-{b}/{name}": v for name, v in devices.state_arrays().items()}
        return arrays | {f"chip/{name}": v for name, v in self.chip.state_arrays().items()}

    def apply(self, corrections: dict[LayerPair, np.ndarray], rates: dict[LayerPair, float]) -> np.ndarray | None:
        """Write the update into every synapse: W ← W + α_ab ΔW, or with quantised weights or
        updates W ← q_W(W + q_ΔW(α_ab ΔW)) in one fused pass per block.

        Returns, when quantised, per pair (in ``corrections`` order) the fraction of the
        connections with ΔW ≠ 0 whose stored weight stayed unchanged (the update fell below
        the resolution; NaN for a pair without any ΔW ≠ 0); None when ideal.
        """
        if any(d is not None for d in self.devices.values()):
            return self._apply_pulses(corrections, rates)
        if not self.quantised:
            for pair, dw in corrections.items():
                self.weights[pair] += self.dtype.type(rates[pair]) * dw
            return None
        q = self.q
        counts = np.array([apply_quantised_update(self.weights[(a, b)], dw, rates[(a, b)], a == b, q.weight.params,
                                                  q.weight.state, q.update.params, q.update.state)
                           for (a, b), dw in corrections.items()], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts[:, 1] > 0, counts[:, 0] / counts[:, 1], np.nan)

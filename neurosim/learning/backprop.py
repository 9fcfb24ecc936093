"""The backprop datapath (paper §5.1.2, Figure 7) on the same neuron and synapse banks.

Three phases on a feed-forward network (any set of layer pairs a < b, no intralayer
connections):

1. **Forward**: layers from the input towards the output, each neuron computing
   u_b = Σ_{a<b} ρ(u_a) W_ab + b_b and storing its activation ρ(u_b) in its memory cell
   ``activation``; the integrator holds u_b.
2. **Backward**: from the output towards the input, each neuron computing and storing its
   error in its memory cell ``error``:
   δ_L = ρ'(u_L)(ρ(u_L) − y_target),  δ_a = ρ'(u_a) Σ_{b>a} W_ab δ_b.
3. **Update**: ΔW_ab = −⟨ρ(u_a)ᵀ δ_b⟩ and Δb = −⟨δ⟩ averaged over the batch, written as
   W ← W + α ΔW (gradient descent on C = ½‖ρ(u_L) − y_target‖², the paper's δ_L).

Signals pass the device quantisers where the hardware holds or sends them
(``docs/devices.md``): the activation DAC q_ρ on the inputs and on every stored activation
driven onto a synapse, the current ADC q_I on u_b, the activation memory cell q_U on ρ(u_b)
and the error memory cell q_δ on every δ. So, with r_0 = q_ρ(x) and r_a = q_ρ(A_a):

    u_b = q_I(Σ_{a<b} r_a W_ab + b_b),   A_b = q_U(ρ(u_b)),
    δ_L = q_δ(ρ'(u_L)(A_L − y_target)),   δ_a = q_δ(ρ'(u_a) Σ_{b>a} W_ab δ_b),
    ΔW_0b = −⟨r_0ᵀ δ_b⟩,   ΔW_ab = −⟨A_aᵀ δ_b⟩ (a > 0, the update reads the cells).

The stored δ is sent backwards as it is: its DAC has the cell's levels. The state point
q_s does not apply (u is not confined to [0, 1]); the weight and bias updates go through
the synapse and bias points as in EP. With every point ideal this is the float algorithm,
bit for bit.
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.kernels import rho, rho_prime
from neurosim.errors import ConfigError
from neurosim.learning.phases import (NO_EVENTS, Events, Phase, UpdateStats, check_finite, finite,
                                      unchecked, update_stats)
from neurosim.learning.rules import BackpropRule
from neurosim.models.network import Network
from neurosim.models.topology import LayerPair, pair_name


class Backpropagation:
    """Forward → backward → update on a :class:`Network` whose layer pairs form a feed-forward DAG."""

    datapath = "bp"
    kind = "hopfield"
    """The neuron dynamics: the Hopfield network's leaky integrators."""
    phases = (Phase("forward", integrates=False, cell="activation"), Phase("backward", integrates=False, cell="error"),
              Phase("update", integrates=False))
    inference = "forward"
    persistent = False
    """Nothing of a batch is kept for its next pass."""

    def __init__(self, network: Network, rates: dict[LayerPair, float], bias_rates: np.ndarray):
        topology = network.topology
        cyclic = [pair_name(p) for p in topology.pairs if p[0] == p[1]]
        if cyclic:
            raise ConfigError(None, "datapath", f"backprop needs a feed-forward network, but connections inside a "
                              f"layer ({', '.join(cyclic)}) form cycles: the layers have no forward order")
        self.network = network
        self.rule = BackpropRule()
        self.rates = rates
        with unchecked():  # a rate beyond the dtype's range is inf: the first update diverges
            self.bias_rates = bias_rates.astype(network.neurons.dtype)
        self.pairs = topology.pairs
        self.connections = network.connections
        self.layers = range(1, topology.n_layers)

    @property
    def model(self) -> Network:
        return self.network

    def generators(self) -> dict[str, np.random.Generator]:
        """The random streams the controller draws from while training, by name (for checkpoints): none."""
        return {}

    def begin_epoch(self, epoch: int) -> None:
        """Nothing changes with the epoch."""

    def forward_phase(self, x: np.ndarray, events: Events = NO_EVENTS) -> np.ndarray:
        """Compute every layer in order, store ρ(u) in the activation memory cell; returns ρ(u_L)."""
        neurons, synapses, q = self.network.neurons, self.network.synapses, self.network.neurons.q
        u = np.empty((len(x), neurons.size), dtype=neurons.dtype)
        activation = neurons.cells["activation"] = np.empty_like(u)
        noise = synapses.chip.noise
        noise.begin_phase("forward")
        sent = {0: noise.inputs(neurons.send(x))}
        for b in self.layers:
            sl = neurons.slices[b]
            ub = np.empty((len(x), sl.stop - sl.start), dtype=neurons.dtype)
            ub[...] = neurons.bias[sl]
            with finite("forward", f"current u of layer {b}"):
                for a, bb in self.pairs:
                    if bb == b:
                        ub += sent[a] @ synapses.weights[(a, b)]
                noise.outputs(ub)
            u[:, sl] = ub = q.current(ub)
            check_finite(ub, "forward", f"current u of layer {b}")
            activation[:, sl] = stored = q.memory(rho(ub))
            if b != self.layers[-1]:  # the output layer drives no synapse forwards
                sent[b] = noise.inputs(neurons.send(stored))
        neurons.s = u
        events.phase_end("forward", 0, len(x), self.network)
        return activation[:, neurons.out_start:]

    def backward_phase(self, target: np.ndarray, events: Events = NO_EVENTS) -> np.ndarray:
        """Compute every δ from the output back, store it in the error memory cell; returns δ."""
        neurons, synapses, q = self.network.neurons, self.network.synapses, self.network.neurons.q
        u, activation = neurons.s, neurons.cells["activation"]
        delta = np.zeros_like(u)
        noise = synapses.chip.noise
        noise.begin_phase("backward")
        for a in reversed(self.layers):
            sl = neurons.slices[a]
            with finite("backward", f"error δ of layer {a}"):
                if a == self.layers[-1]:
                    error = rho_prime(u[:, sl]) * (activation[:, sl] - target)
                else:
                    error = np.zeros((len(u), sl.stop - sl.start), dtype=neurons.dtype)
                    for aa, b in self.pairs:
                        if aa == a:
                            error += noise.inputs(delta[:, neurons.slices[b]]) @ synapses.weights[(a, b)].T
                    noise.outputs(error)
                    error *= rho_prime(u[:, sl])
            delta[:, sl] = q.error(error.astype(neurons.dtype, copy=False))
            check_finite(delta[:, sl], "backward", f"error δ of layer {a}")
        neurons.cells["error"] = delta
        events.phase_end("backward", 0, len(u), self.network)
        return delta

    def gradients(self, x: np.ndarray) -> dict[LayerPair, np.ndarray]:
        """Batch-averaged corrections ΔW_ab = −⟨r_aᵀ δ_b⟩ (descent direction), masked; r_0 is
        what the input DAC sends, r_a (a > 0) the stored activation."""
        neurons, synapses = self.network.neurons, self.network.synapses
        activation, delta = neurons.cells["activation"], neurons.cells["error"]
        r = {0: neurons.send(x), **{layer: activation[:, sl] for layer, sl in neurons.slices.items()}}
        out = {}
        for a, b in self.pairs:
            dw = self.rule.weight_correction(r[a], delta[:, neurons.slices[b]])
            if synapses.masks[(a, b)] is not None:
                dw *= synapses.masks[(a, b)]
            out[(a, b)] = dw
        return out

    def update_phase(self, x: np.ndarray, events: Events = NO_EVENTS) -> UpdateStats:
        """Apply W ← W + α ΔW and b ← b + α Δb."""
        neurons, synapses = self.network.neurons, self.network.synapses
        with unchecked():  # an overflow is found below, naming the layer pair
            corrections = self.gradients(x)
            lost = synapses.apply(corrections, self.rates)
            neurons.update_bias(self.bias_rates * self.rule.bias_correction(neurons.cells["error"]))
            for pair, weights in synapses.weights.items():
                check_finite(weights, "update", f"weights of layer pair {pair_name(pair)}")
            check_finite(neurons.bias, "update", "bias")
            stats = update_stats(corrections, self.rates, self.connections, lost)
        events.update(corrections, len(x), self.network)
        return stats

    def train_batch(self, x: np.ndarray, target: np.ndarray, start: np.ndarray, beta: float | None,
                    events: Events = NO_EVENTS) -> tuple[None, np.ndarray, UpdateStats]:
        """Forward, backward and update on one batch; no persistent state, no β."""
        outputs = self.forward_phase(x, events).copy()
        self.backward_phase(target, events)
        return None, outputs, self.update_phase(x, events)

    def infer(self, x: np.ndarray, start: np.ndarray, events: Events = NO_EVENTS) -> tuple[None, np.ndarray]:
        """Forward phase only: (None, outputs ρ(u_L))."""
        return None, self.forward_phase(x, events)

    def epoch_metrics(self, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        return {}

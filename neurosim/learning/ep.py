"""The three-phase EP controller (paper Figure 6): free → weakly-clamped → update.

The controller sequences the device banks: it drives the neurons through the free phase
and stores U0, through the weakly-clamped phase (from U0, outputs nudged towards the
target) and stores Uβ, then has every synapse and bias apply its local update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.models.network import Network
from neurosim.config.scenario import DynamicsConfig
from neurosim.models.topology import LayerPair


class NonFinite(Exception):
    """Raised by a phase whose result holds NaN or inf; the training loop adds epoch and batch."""

    def __init__(self, phase: str, what: str):
        super().__init__(f"{what} not finite after the {phase} phase")
        self.phase, self.what = phase, what


@dataclass
class UpdateStats:
    """What one update phase wrote, per layer pair (in ``pairs`` order)."""

    rms_correction: np.ndarray
    """Root-mean-square of the applied correction α·ΔW over the pair's connections."""
    mean_abs_dw: np.ndarray
    """Mean |ΔW| (before the learning rate) over the pair's connections."""
    lost_fraction: np.ndarray | None = None
    """Quantised weights only: fraction of the pair's connections with ΔW ≠ 0 whose stored
    weight did not change (the update fell below the weight resolution); NaN for a pair
    that had no ΔW ≠ 0; None when ideal."""


class Probe:
    """Watches the controller: every integration step, every phase end, every update.

    Recorders of device state (traces) implement it; a controller without probes pays
    nothing for the hooks.
    """

    def on_step(self, phase: str, step: int, network: Network) -> None: ...
    def on_phase_end(self, phase: str, network: Network) -> None: ...
    def on_update(self, corrections: dict[LayerPair, np.ndarray], network: Network) -> None:
        """After the update phase wrote every weight and bias; ``corrections`` holds ΔW (before the rates)."""


class EquilibriumPropagation:
    """Runs EP's phases on a :class:`Network`.

    The cost is C = ‖y − y_target‖² (no ½, as in the paper's code), so the nudge on the
    output neurons in the weakly-clamped phase is −β∂C/∂y = 2β(y_target − y).
    """

    def __init__(self, network: Network, dynamics: DynamicsConfig,
                 rates: dict[LayerPair, float], bias_rates: np.ndarray):
        self.network = network
        self.dynamics = dynamics
        self.rates = rates
        self.bias_rates = bias_rates.astype(network.neurons.dtype)
        self.pairs = network.topology.pairs
        self.connections = np.array([network.topology.connection_count(p) for p in self.pairs], dtype=np.float64)
        self.probes: list[Probe] = []

    def relax(self, x: np.ndarray, steps: int, beta: float = 0.0, target: np.ndarray | None = None,
              phase: str = "free") -> None:
        """Integrate the neurons ``steps`` times from their current state, inputs clamped to x.

        The input current and the bias are constant while x is clamped: computed once.
        """
        neurons, synapses = self.network.neurons, self.network.synapses
        drive = synapses.input_currents(neurons.send(x))
        drive += neurons.bias
        current = np.empty_like(drive)
        for step in range(steps):
            current[...] = drive
            synapses.add_recurrent_currents(neurons.activation(), current)
            neurons.integrate(current, self.dynamics.epsilon, 2.0 * beta, target, self.dynamics.nudge == "split")
            for probe in self.probes:
                probe.on_step(phase, step, self.network)

    def free_phase(self, x: np.ndarray, start: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Relax from ``start`` with β = 0, write U0; returns U0."""
        neurons = self.network.neurons
        neurons.load(start)
        self.relax(x, self.dynamics.t_free if steps is None else steps, phase="free")
        neurons.store_u0()
        check_finite(neurons.u0, "free", "neuron state")
        for probe in self.probes:
            probe.on_phase_end("free", self.network)
        return neurons.u0

    def clamped_phase(self, x: np.ndarray, target: np.ndarray, beta: float, steps: int | None = None) -> np.ndarray:
        """Relax from U0 with the outputs nudged towards ``target`` (signed β), write Uβ."""
        neurons = self.network.neurons
        neurons.load(neurons.u0)
        self.relax(x, self.dynamics.t_clamped if steps is None else steps, beta, target.astype(neurons.dtype),
                   phase="weakly-clamped")
        neurons.store_ubeta()
        check_finite(neurons.ubeta, "weakly-clamped", "neuron state")
        for probe in self.probes:
            probe.on_phase_end("weakly-clamped", self.network)
        return neurons.ubeta

    def update_phase(self, x: np.ndarray, beta: float) -> UpdateStats:
        """Read U0 and Uβ, apply ΔW (eq. 7) and Δb (eq. 8) scaled by the learning rates."""
        neurons, synapses = self.network.neurons, self.network.synapses
        r0, rbeta = neurons.u0, neurons.ubeta  # ρ(U) = U: memory cells hold states in [0, 1]
        corrections = synapses.corrections(neurons.send(x), r0, rbeta, beta)
        lost = synapses.apply(corrections, self.rates)
        neurons.update_bias(self.bias_rates * ((rbeta - r0).mean(axis=0) / neurons.dtype.type(beta)))
        for probe in self.probes:
            probe.on_update(corrections, self.network)
        stats = update_stats(corrections, self.rates, self.pairs, self.connections, lost)
        for pair, weights in synapses.weights.items():
            check_finite(weights, "update", f"weights of layer pair {pair[0]}-{pair[1]}")
        check_finite(neurons.bias, "update", "bias")
        return stats


    def train_batch(self, x: np.ndarray, target: np.ndarray, start: np.ndarray,
                    beta: float) -> tuple[np.ndarray, np.ndarray, UpdateStats]:
        """Free, weakly-clamped and update phases on one batch.

        Returns the free equilibrium (the batch's next persistent particle), the outputs at
        that equilibrium (read before the update) and the update statistics.
        """
        equilibrium = self.free_phase(x, start)
        outputs = self.network.neurons.output().copy()
        self.clamped_phase(x, target, beta)
        return equilibrium, outputs, self.update_phase(x, beta)

    def infer(self, x: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Free phase only: (equilibrium, outputs)."""
        equilibrium = self.free_phase(x, start)
        return equilibrium, self.network.neurons.output()


def update_stats(corrections: dict[LayerPair, np.ndarray], rates: dict[LayerPair, float],
                 pairs: list[LayerPair], connections: np.ndarray, lost: np.ndarray | None = None) -> UpdateStats:
    """RMS of α·ΔW and mean |ΔW| per layer pair, over each pair's existing connections;
    ``lost`` is what :meth:`SynapseBank.apply` returned."""
    return UpdateStats(
        rms_correction=np.array([rates[p] * np.sqrt(np.square(corrections[p], dtype=np.float64).sum() / n)
                                 for p, n in zip(pairs, connections)]),
        mean_abs_dw=np.array([np.abs(corrections[p]).sum(dtype=np.float64) / n for p, n in zip(pairs, connections)]),
        lost_fraction=lost,
    )


def check_finite(values: np.ndarray, phase: str, what: str) -> None:
    if not np.isfinite(values).all():
        raise NonFinite(phase, what)

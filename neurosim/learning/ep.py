"""The three-phase EP controller (paper Figure 6): free → weakly-clamped → update.

The controller sequences the device banks: it drives the neurons through the free phase
and stores U0, through the weakly-clamped phase (from U0, outputs nudged towards the
target) and stores Uβ, then has every synapse and bias apply its local update.
"""

from __future__ import annotations

import numpy as np

from neurosim.config.scenario import DynamicsConfig
from neurosim.learning.phases import (NO_EVENTS, Events, Phase, UpdateStats, check_finite, finite,
                                      unchecked, update_stats)
from neurosim.learning.rules import EPRule
from neurosim.models.network import Network
from neurosim.models.topology import LayerPair, pair_name
from neurosim.runfile.layout import NEGATIVE


class EquilibriumPropagation:
    """Runs EP's phases on a :class:`Network`.

    The cost is C = ‖y − y_target‖² (no ½, as in the paper's code), so the nudge on the
    output neurons in the weakly-clamped phase is −β∂C/∂y = 2β(y_target − y), applied as
    ``dynamics.nudge`` says (docs/model.md#integration-step).
    """

    datapath = "ep"
    kind = "hopfield"
    """The neuron dynamics: the Hopfield network's leaky integrators."""
    inference = "free"
    """The phase that evaluates an example (test set)."""
    persistent = True
    """The free equilibrium is worth keeping as the example's next start (persistent particles)."""

    def __init__(self, network: Network, dynamics: DynamicsConfig, rule: EPRule,
                 rates: dict[LayerPair, float], bias_rates: np.ndarray):
        self.network = network
        self.dynamics = dynamics
        self.rule = rule
        self.rates = rates
        negative = (Phase(NEGATIVE, integrates=True, cell="ubeta_neg"),) if rule.beta.symmetric else ()
        self.phases = (Phase("free", integrates=True, cell="u0"), Phase("weakly-clamped", integrates=True, cell="ubeta"),
                       *negative, Phase("update", integrates=False))
        """The phases of a batch; the symmetric estimator has a second, −β, weakly-clamped phase."""
        with unchecked():  # a rate beyond the dtype's range is inf: the first update diverges
            self.bias_rates = bias_rates.astype(network.neurons.dtype)
        self.connections = network.connections

    @property
    def model(self) -> Network:
        return self.network

    def generators(self) -> dict[str, np.random.Generator]:
        """The random streams the controller draws from while training, by name (for checkpoints): none."""
        return {}

    def begin_epoch(self, epoch: int) -> None:
        """Nothing changes with the epoch."""

    def relax(self, x: np.ndarray, steps: int, beta: float = 0.0, target: np.ndarray | None = None,
              phase: str = "free", events: Events = NO_EVENTS, tolerance: float | None = None) -> int:
        """Integrate the neurons from their current state, inputs clamped to x: ``steps``
        steps, or with a ``tolerance`` until the first step at which no neuron of any example
        moved by as much (at most ``steps``). Returns the steps taken.

        The input current and the bias are constant while x is clamped: computed once. A
        current that overflows the dtype raises :class:`~neurosim.learning.phases.NonFinite`
        (the step clips the state to [0, 1], so the state alone would not show it).
        """
        neurons, synapses = self.network.neurons, self.network.synapses
        noise = synapses.chip.noise
        noise.begin_phase(phase, steps)
        with finite(phase, "input current of the neurons (synaptic current + bias)"):
            sent = neurons.send(x)
            drive = synapses.input_currents(sent)
            drive += neurons.bias
            current = np.empty_like(drive)
            nudge, split = self.rule.nudge(beta), self.dynamics.nudge == "split"
            previous = np.empty_like(neurons.s) if tolerance is not None else None
            for step in range(steps):
                noise.at_step(step)
                if previous is not None:
                    previous[...] = neurons.s
                current[...] = drive
                synapses.add_recurrent_currents(neurons.activation(), current, sent)
                neurons.integrate(current, self.dynamics.epsilon, nudge, target, split)
                if events.step_observers:
                    events.step(phase, step, self.network)
                if previous is not None and np.max(np.abs(neurons.s - previous)) < tolerance:
                    return step + 1
        return steps

    def _length(self, phase: str, steps: int | None) -> tuple[int, float | None]:
        """(most steps, settling tolerance or None) of a phase: ``steps`` if given, else the
        phase's ``dynamics.settle`` entry, else its fixed length."""
        if steps is not None:
            return steps, None
        settle = self.dynamics.settle.get("free" if phase == "free" else "weakly-clamped")
        if settle is not None:
            return settle.max_steps, settle.tolerance
        return (self.dynamics.t_free if phase == "free" else self.dynamics.t_clamped), None

    def free_phase(self, x: np.ndarray, start: np.ndarray, steps: int | None = None,
                   events: Events = NO_EVENTS) -> np.ndarray:
        """Relax from ``start`` with β = 0, write U0; returns U0."""
        neurons = self.network.neurons
        most, tolerance = self._length("free", steps)
        neurons.load(start)
        steps = self.relax(x, most, phase="free", events=events, tolerance=tolerance)
        u0 = neurons.store("u0")
        check_finite(u0, "free", "neuron state")
        events.phase_end("free", steps, len(x), self.network)
        return u0

    def clamped_phase(self, x: np.ndarray, target: np.ndarray, beta: float, steps: int | None = None,
                      events: Events = NO_EVENTS, phase: str = "weakly-clamped") -> np.ndarray:
        """Relax from U0 with the outputs nudged towards ``target`` (signed β), write the
        phase's cell (Uβ; the symmetric estimator's −β phase: U−β)."""
        neurons = self.network.neurons
        most, tolerance = self._length(phase, steps)
        neurons.load(neurons.cells["u0"])
        steps = self.relax(x, most, beta, target.astype(neurons.dtype), phase=phase, events=events,
                           tolerance=tolerance)
        ubeta = neurons.store("ubeta_neg" if phase == NEGATIVE else "ubeta")
        check_finite(ubeta, phase, "neuron state")
        events.phase_end(phase, steps, len(x), self.network)
        return ubeta

    def update_phase(self, x: np.ndarray, beta: float, events: Events = NO_EVENTS) -> UpdateStats:
        """Read U0 and Uβ, apply ΔW (eq. 7) and Δb (eq. 8) scaled by the learning rates. The
        symmetric estimator reads U−β and U+β instead and divides by 2β."""
        neurons, synapses = self.network.neurons, self.network.synapses
        r0, rbeta = neurons.cells["u0"], neurons.cells["ubeta"]  # ρ(U) = U: memory cells hold states in [0, 1]
        if self.rule.beta.symmetric:
            r0, beta = neurons.cells["ubeta_neg"], 2.0 * beta
        with unchecked():  # an overflow is found below, naming the layer pair
            corrections = synapses.contrast(neurons.send(x), r0, rbeta, self.rule.weight_scale(beta, len(x)))
            lost = synapses.apply(corrections, self.rates)
            neurons.update_bias(self.bias_rates * self.rule.bias_correction(r0, rbeta, beta))
            for pair, weights in synapses.weights.items():
                check_finite(weights, "update", f"weights of layer pair {pair_name(pair)}")
            check_finite(neurons.bias, "update", "bias")
            stats = update_stats(corrections, self.rates, self.connections, lost)
        events.update(corrections, len(x), self.network)
        return stats

    def train_batch(self, x: np.ndarray, target: np.ndarray, start: np.ndarray, beta: float,
                    events: Events = NO_EVENTS) -> tuple[np.ndarray, np.ndarray, UpdateStats]:
        """Free, weakly-clamped and update phases on one batch.

        Returns the free equilibrium (the batch's next persistent particle), the outputs at
        that equilibrium (read before the update) and the update statistics.
        """
        equilibrium = self.free_phase(x, start, events=events)
        outputs = self.network.neurons.output().copy()
        self.clamped_phase(x, target, beta, events=events)
        if self.rule.beta.symmetric:
            self.clamped_phase(x, target, -beta, events=events, phase=NEGATIVE)
        return equilibrium, outputs, self.update_phase(x, beta, events)

    def infer(self, x: np.ndarray, start: np.ndarray, events: Events = NO_EVENTS) -> tuple[np.ndarray, np.ndarray]:
        """Free phase only: (equilibrium, outputs)."""
        equilibrium = self.free_phase(x, start, events=events)
        return equilibrium, self.network.neurons.output()

    def epoch_metrics(self, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """Metrics beyond errors and cost after an epoch's test pass: none."""
        return {}

"""The directed-EP controller (DEEP and asymmetric EP) on a complete directed graph.

Each update: free phase (M_0 = ``dynamics.t_free`` steps from rest, inputs clamped) to s⁰,
written into U0; weakly-clamped phase (M_β = ``dynamics.t_clamped`` steps from the stored
U0, outputs nudged) to s^β; correction (eq. 2 along the clamped path, or the one-step
asymmetric rule from U0 and Uβ) plus ℓ1, W ← W + α ΔW on live connections, then the
sparsity mechanism (eq. 3) once the epoch has reached ``directed.sparsity_start``. See
:mod:`neurosim.learning.directed_dynamics` for the DAC, ADC and state points and
:mod:`neurosim.devices.directed_synapses` for the stored weights and their update.

Evaluation (the test pass) relaxes the task's examples freely from rest; the epoch's
extra metrics are taken there: MSE, sparsity, the fraction of neurons meeting
Proposition 2 and Proposition 1's drift (:mod:`neurosim.models.stability`).
"""

from __future__ import annotations

import numpy as np

from neurosim.config.scenario import DirectedConfig, DirectedDynamicsConfig
from neurosim.learning.directed_dynamics import initial_state, relax, remember
from neurosim.learning.phases import (NO_EVENTS, Events, Phase, UpdateStats, check_finite, finite,
                                      unchecked, update_stats)
from neurosim.learning.rules import AsymmetricRule, DeepRule, PathIntegral
from neurosim.learning.sparsity import prune
from neurosim.models.directed import DirectedNetwork
from neurosim.models.stability import rate_sum_drift, stable_fraction
from neurosim.runfile.layout import COUNT, DIMENSIONLESS, FRACTION, STATE_SCALE_UNITS

EXTRA_METRICS = {
    "mse": "mean over the task's examples of (ŷ − y)² at the free equilibrium from rest, after the epoch",
    "sparsity": "fraction of the graph's connections and biases removed so far (eq. 3)",
    "removed": "connections removed during the epoch",
    "stable_fraction": "fraction of non-input neurons meeting Proposition 2's sufficient stability condition",
    "rate_sum_drift": "max over examples of |Σ_j V_j| with no inputs, biases or β at the free equilibria "
                      "(Proposition 1: 0)",
    "lost_fraction": "quantised weights or updates: fraction of the epoch's writes with ΔW ≠ 0 that left the "
                     "stored value unchanged; NaN when ideal",
}
"""The directed controller's epoch metrics beyond errors and cost, with their descriptions."""

EXTRA_METRIC_UNITS = {"mse": DIMENSIONLESS, "sparsity": FRACTION, "removed": COUNT, "stable_fraction": FRACTION,
                      "rate_sum_drift": STATE_SCALE_UNITS, "lost_fraction": FRACTION}
"""The units of :data:`EXTRA_METRICS` (``docs/run-file.md``)."""


class DirectedEP:
    """DEEP (``dynamics.kind: deep``) or asymmetric EP on a :class:`DirectedNetwork`."""

    datapath = "ep"
    inference = "free"
    metric_descriptions = EXTRA_METRICS
    metric_units = EXTRA_METRIC_UNITS
    persistent = False
    """Every free phase starts from rest (the paper's): no persistent particles."""

    def __init__(self, network: DirectedNetwork, dynamics: DirectedDynamicsConfig, directed: DirectedConfig,
                 rule: DeepRule, rate: float, prune_rng: np.random.Generator):
        self.network = network
        self.dynamics = dynamics
        self.directed = directed
        self.rule = rule
        self.rate = rate
        self.kind = dynamics.kind
        """The neuron dynamics: ``deep`` or ``asymmetric``."""
        self.prune_rng = prune_rng
        self.phases = (Phase("free", integrates=True, cell="u0"),
                       Phase("weakly-clamped", integrates=True, cell=None if self.kind == "deep" else "ubeta"),
                       Phase("update", integrates=False))
        self.pruning = False
        self._epoch = {"removed": 0, "lost": 0, "written": 0}
        self._evaluated: list[np.ndarray] = []

    @property
    def model(self) -> DirectedNetwork:
        return self.network

    @property
    def rates(self) -> dict[str, float]:
        return {"W": self.rate}

    def generators(self) -> dict[str, np.random.Generator]:
        """The random streams the controller draws from while training, by name (for checkpoints):
        the sparsity mechanism's removals."""
        return {"pruning": self.prune_rng}

    def begin_epoch(self, epoch: int) -> None:
        """The sparsity mechanism runs from epoch ``directed.sparsity_start`` on."""
        self.pruning = self.directed.sparsity and epoch >= self.directed.sparsity_start
        self._epoch = {"removed": 0, "lost": 0, "written": 0}
        self._evaluated = []

    def _relax(self, u: np.ndarray, steps: int, phase: str, events: Events, beta: float = 0.0,
               target: np.ndarray | None = None, path: PathIntegral | None = None) -> np.ndarray:
        model = self.network
        model.synapses.chip.noise.begin_phase(phase, steps)
        counter = iter(range(steps))

        def reporting(previous, current):  # only when an observer asked for this batch's steps
            if path is not None:
                path(previous, current)
            model.neurons.s = current
            events.step(phase, next(counter), model)

        with finite(phase, "input current of the neurons (synaptic current + bias)"):
            end = relax(self.kind, model, u, steps, self.dynamics.epsilon, beta, target,
                        on_step=reporting if events.step_observers else path, split=self.dynamics.nudge == "split")
        check_finite(end, phase, "neuron state")
        model.neurons.s = end
        return end

    def free_phase(self, x: np.ndarray, events: Events = NO_EVENTS, store: bool = True) -> np.ndarray:
        """Relax from rest with the inputs clamped to x; with ``store`` write U0. Returns the state."""
        dtype = self.network.synapses.weights.dtype
        u = self._relax(initial_state(x, self.network.graph.n, dtype), self.dynamics.t_free, "free", events)
        if store:
            u = remember(self.network, "u0", u)
        events.phase_end("free", self.dynamics.t_free, len(x), self.network, stored=store)
        return u

    def train_batch(self, x: np.ndarray, target: np.ndarray, start: np.ndarray, beta: float,
                    events: Events = NO_EVENTS) -> tuple[None, np.ndarray, UpdateStats]:
        """Free, weakly-clamped and update phases on one batch (then pruning, when on)."""
        model, dynamics, bank = self.network, self.dynamics, self.network.synapses
        free = self._relax(initial_state(x, model.graph.n, bank.weights.dtype), dynamics.t_free, "free", events)
        outputs = free[:, model.graph.outputs].copy()
        u0 = remember(model, "u0", free)
        events.phase_end("free", dynamics.t_free, len(x), model)
        if self.kind == "deep":
            path = PathIntegral(model.graph.n, bank.weights.dtype)
            self._relax(u0, dynamics.t_clamped, "weakly-clamped", events, beta, target, path)
            with finite("update", "correction ΔW"):
                correction = self.rule.correction(path, beta, len(x))
        else:
            ubeta = remember(model, "ubeta", self._relax(u0, dynamics.t_clamped, "weakly-clamped", events, beta, target))
            with finite("update", "correction ΔW"):
                correction = self.rule.correction_from_cells(u0, ubeta, beta)
        events.phase_end("weakly-clamped", dynamics.t_clamped, len(x), model)
        with unchecked():  # an overflow is found below, naming the array
            correction = self.rule.regularised(correction, bank.weights)
            live = {"W": np.where(bank.alive, correction, 0.0)}
            connections = model.connections
            counts = bank.apply(correction, self.rate)
            check_finite(bank.connections, "update", "weights")
            check_finite(bank.bias, "update", "bias")
            lost = None
            if counts is not None:
                self._epoch["lost"] += counts[0]
                self._epoch["written"] += counts[1]
                lost = np.array([counts[0] / counts[1] if counts[1] else np.nan])
            stats = update_stats(live, self.rates, connections, lost)
        events.update(live, len(x), model)
        if self.pruning:
            self._epoch["removed"] += prune(bank, self.prune_rng, self.directed.threshold, self.directed.temperature)
        return None, outputs, stats

    def infer(self, x: np.ndarray, start: np.ndarray, events: Events = NO_EVENTS) -> tuple[None, np.ndarray]:
        """A free relaxation from rest, nothing stored (the task's evaluation): (None, outputs)."""
        u = self.free_phase(x, events, store=False)
        self._evaluated.append(u)
        return None, u[:, self.network.graph.outputs]

    def epoch_metrics(self, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """MSE, sparsity, removals, Propositions 1–2 and lost writes, at the evaluated equilibria.

        The weights are finite here (every phase checked them), but a sum over a whole
        column of huge weights may still exceed the dtype: such a metric reads inf (or NaN),
        quietly; the simulation itself did not overflow."""
        u0 = np.concatenate(self._evaluated)
        bank, counts = self.network.synapses, self._epoch
        with unchecked():
            return {
                "mse": float(np.mean(np.square(outputs - targets, dtype=np.float64))),
                "sparsity": float(bank.sparsity()),
                "removed": counts["removed"],
                "stable_fraction": stable_fraction(bank, self.kind),
                "rate_sum_drift": float(np.abs(rate_sum_drift(bank, u0)).max()),
                "lost_fraction": counts["lost"] / counts["written"] if counts["written"] else float("nan"),
            }


def directed_rule(dynamics: DirectedDynamicsConfig, directed: DirectedConfig, beta) -> DeepRule:
    """The rule ``dynamics.kind`` names."""
    rule = DeepRule if dynamics.kind == "deep" else AsymmetricRule
    return rule(beta, directed.l1)

"""Training a directed graph with DEEP or asymmetric EP on a logic task.

Each update: free phase (M_0 = ``dynamics.t_free`` steps from rest, inputs clamped) to s⁰,
weakly-clamped phase (M_β = ``dynamics.t_clamped`` steps from s⁰, outputs nudged) to s^β,
correction (eq. 2, or the one-step asymmetric rule) plus ℓ1, W ← W + α ΔW on live
connections, then the sparsity mechanism (eq. 3) when enabled. Everything runs on the
scenario's devices (``devices``): the free equilibrium is written into the U0 memory cells
and the clamped phase starts from the stored U0; the asymmetric rule reads U0 and Uβ,
DEEP's path integral the states of the clamped steps (see :mod:`.dynamics` for the
DAC, ADC and state points, :mod:`.synapses` for the stored weights and their update). After every epoch the four
examples are relaxed freely from rest and the epoch's metrics are taken there: MSE,
sparsity, the fraction of neurons meeting Proposition 2 and Proposition 1's drift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from neurosim.devices.spec import Quantisers
from neurosim.directed.dynamics import initial_state, relax, remember
from neurosim.directed.graph import DirectedGraph
from neurosim.directed.rules import PathIntegral, asymmetric_correction, l1_correction
from neurosim.directed.sparsity import prune
from neurosim.directed.stability import rate_sum_drift, stable_fraction
from neurosim.directed.synapses import DirectedSynapseBank
from neurosim.directed.tasks import logic_task
from neurosim.errors import SimulationDiverged
from neurosim.config.scenario import Scenario
from neurosim.streams import stream


@dataclass
class DirectedEpoch:
    """Metrics after one epoch, at the free equilibria of the task's examples."""

    epoch: int
    mse: float
    """mean over examples and outputs of (ŷ − y)²"""
    sparsity: float
    """fraction of the graph's connections and biases removed so far"""
    removed: int
    """connections removed during this epoch"""
    stable_fraction: float
    """fraction of non-input neurons meeting Proposition 2's sufficient condition"""
    rate_sum_drift: float
    """max over examples of |Σ_j V_j| with no inputs, biases or β (Proposition 1: 0)"""
    lost_fraction: float
    """quantised weights or updates: fraction of the epoch's writes with ΔW ≠ 0 that left the
    stored value unchanged (below the resolution); NaN when ideal or nothing was written"""
    seconds: float


class DirectedObserver:
    """Receives the events of a directed run (the recorder and the progress display)."""

    def on_start(self, run: DirectedRun) -> None: ...

    def on_batch(self, run: DirectedRun, examples: int) -> None:
        """Before an update of ``examples`` examples (its phases, weight write and pruning)."""

    def on_evaluate(self, run: DirectedRun, examples: int) -> None:
        """After the end-of-epoch free relaxation of ``examples`` examples (the metrics')."""

    def on_epoch_end(self, record: DirectedEpoch) -> None: ...


@dataclass
class DirectedRun:
    """A scenario's graph, synapse bank, task and collected metrics."""

    scenario: Scenario
    graph: DirectedGraph
    bank: DirectedSynapseBank
    x: np.ndarray
    y: np.ndarray
    epochs: list[DirectedEpoch] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.scenario.dynamics.kind

    @property
    def mse(self) -> np.ndarray:
        return np.array([e.mse for e in self.epochs])

    @property
    def converged_epoch(self) -> int | None:
        """Number of epochs after which the MSE first fell below ``directed.converged_mse``."""
        below = np.flatnonzero(self.mse < self.scenario.directed.converged_mse)
        return int(below[0]) + 1 if len(below) else None

    def free_equilibria(self, x: np.ndarray | None = None) -> np.ndarray:
        """States (examples × N) after the free phase from rest."""
        x = self.x if x is None else x
        dynamics = self.scenario.dynamics
        start = initial_state(x, self.graph.n, self.bank.weights.dtype)
        return relax(self.kind, self.bank, start, dynamics.t_free, dynamics.epsilon)


def prepare_directed(scenario: Scenario) -> DirectedRun:
    """Graph, initial weights (``init`` stream), devices and examples of a directed scenario."""
    sizes = scenario.topology.sizes
    graph = DirectedGraph(sizes[0], sum(sizes[1:-1]), sizes[-1])
    dtype = np.dtype(scenario.training.dtype)
    bank = DirectedSynapseBank.uniform(graph, stream(scenario.seed, "init"), scenario.directed.init_scale, dtype,
                                       Quantisers.build(scenario.devices, scenario.seed))
    x, y = logic_task(scenario.directed.task)
    return DirectedRun(scenario, graph, bank, x.astype(dtype), y.astype(dtype))


def update(run: DirectedRun, x: np.ndarray, y: np.ndarray, beta: float,
           prune_rng: np.random.Generator | None) -> tuple[int, tuple[int, int] | None]:
    """One free phase, one weakly-clamped phase and one weight update, then pruning unless
    ``prune_rng`` is None; returns the connections removed and what
    :meth:`DirectedSynapseBank.apply` returned (lost and written counts, None when ideal)."""
    dynamics, directed, bank = run.scenario.dynamics, run.scenario.directed, run.bank
    u0 = relax(run.kind, bank, initial_state(x, run.graph.n, bank.weights.dtype), dynamics.t_free, dynamics.epsilon)
    u0 = remember(bank, u0)
    split = dynamics.nudge == "split"
    if run.kind == "deep":
        path = PathIntegral(run.graph.n, bank.weights.dtype)
        relax(run.kind, bank, u0, dynamics.t_clamped, dynamics.epsilon, beta, y, on_step=path, split=split)
        correction = path.correction(beta, len(x))
    else:
        ubeta = remember(bank, relax(run.kind, bank, u0, dynamics.t_clamped, dynamics.epsilon, beta, y, split=split))
        correction = asymmetric_correction(u0, ubeta, beta)
    if directed.l1 > 0:
        correction += l1_correction(bank.weights, directed.l1)
    counts = bank.apply(correction, run.scenario.training.learning_rate)
    if prune_rng is None:
        return 0, counts
    return prune(bank, prune_rng, directed.threshold, directed.temperature), counts


def train_directed(scenario: Scenario, *, epochs: int | None = None,
                   observers: tuple[DirectedObserver, ...] = ()) -> DirectedRun:
    """Train a directed scenario; every random choice derives from its seed."""
    run = prepare_directed(scenario)
    training, dynamics = scenario.training, scenario.dynamics
    order_rng, sign_rng = stream(scenario.seed, "data_order"), stream(scenario.seed, "beta_sign")
    prune_rng = stream(scenario.seed, "sparsity")
    for obs in observers:
        obs.on_start(run)
    for epoch in range(epochs or training.epochs):
        started = time.perf_counter()
        order = order_rng.permutation(len(run.x)) if training.shuffle else np.arange(len(run.x))
        removed, lost, written = 0, 0, 0
        for index, start in enumerate(range(0, len(order), training.batch_size)):
            batch = order[start:start + training.batch_size]
            beta = dynamics.beta * (sign_rng.choice((-1.0, 1.0)) if dynamics.random_beta_sign else 1.0)
            pruning = scenario.directed.sparsity and epoch >= scenario.directed.sparsity_start
            for obs in observers:
                obs.on_batch(run, len(batch))
            pruned, counts = update(run, run.x[batch], run.y[batch], beta, prune_rng if pruning else None)
            removed += pruned
            if counts is not None:
                lost, written = lost + counts[0], written + counts[1]
            if not np.isfinite(run.bank.weights).all():
                raise SimulationDiverged(epoch, index, "update", "weights")
        u0 = run.free_equilibria()
        for obs in observers:
            obs.on_evaluate(run, len(run.x))
        output = u0[:, run.graph.outputs]
        record = DirectedEpoch(
            epoch=epoch,
            mse=float(np.mean(np.square(output - run.y, dtype=np.float64))),
            sparsity=float(run.bank.sparsity()),
            removed=removed,
            stable_fraction=stable_fraction(run.bank, run.kind),
            rate_sum_drift=float(np.abs(rate_sum_drift(run.bank, u0)).max()),
            lost_fraction=lost / written if written else float("nan"),
            seconds=time.perf_counter() - started,
        )
        run.epochs.append(record)
        for obs in observers:
            obs.on_epoch_end(record)
    return run

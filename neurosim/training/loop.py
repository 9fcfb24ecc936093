"""Training: epochs of mini-batches through the EP controller, with persistent particles.

Metrics follow the paper: the training error of an epoch is counted online from each
batch's free-phase equilibrium *before* that batch's update; the test error comes from a
free phase over the test set after the epoch (test examples keep particles too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from neurosim.learning.backprop import Backpropagation
from neurosim.learning.ep import EquilibriumPropagation, NonFinite, UpdateStats
from neurosim.data.datasets import Dataset
from neurosim.errors import SimulationDiverged
from neurosim.models.network import Network, build_network
from neurosim.learning.rates import bias_rates, pair_rates
from neurosim.config.scenario import Scenario
from neurosim.streams import stream
from neurosim.models.topology import pair_name


class Particles:
    """Persistent particles: the last free equilibrium of every example, starting its next free phase."""

    def __init__(self, n_examples: int, n_state: int, dtype, enabled: bool = True):
        self.states = np.zeros((n_examples, n_state), dtype=dtype)
        self.enabled = enabled

    def start(self, indices: np.ndarray) -> np.ndarray:
        """Initial states for these examples: their stored equilibria (zeros when disabled or new)."""
        return self.states[indices] if self.enabled else np.zeros((len(indices), self.states.shape[1]), self.states.dtype)

    def keep(self, indices: np.ndarray, equilibria: np.ndarray | None) -> None:
        """Store the new equilibria (None: the datapath has no persistent state)."""
        if equilibria is not None:
            self.states[indices] = equilibria


@dataclass
class BatchRecord:
    """Metrics of one training batch."""

    errors: int
    examples: int
    cost: float
    beta: float
    update: UpdateStats


@dataclass
class EpochRecord:
    """Metrics of one epoch (errors are fractions in [0, 1]; cost is ‖y − y_target‖² per example)."""

    epoch: int
    train_error: float
    test_error: float
    cost: float
    test_cost: float
    seconds: float


class Observer:
    """Receives training events; the recorder and the progress display implement it."""

    def on_start(self, run: TrainingRun) -> None: ...
    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None: ...
    def on_train_batch(self, epoch: int, batch: int, record: BatchRecord) -> None: ...
    def on_test_batch(self, epoch: int, batch: int) -> None: ...
    def on_epoch_end(self, record: EpochRecord) -> None: ...


@dataclass
class TrainingRun:
    """A scenario's network, controller, particles and collected metrics."""

    scenario: Scenario
    dataset: Dataset
    network: Network
    controller: EquilibriumPropagation | Backpropagation
    layer_pairs: list[str]
    epochs: list[EpochRecord] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)

    @property
    def rms_correction(self) -> np.ndarray:
        """Batches × layer pairs: RMS of the applied α·ΔW (the paper's Figure 4 quantity)."""
        return np.array([b.update.rms_correction for b in self.batches]).reshape(-1, len(self.layer_pairs))

    @property
    def mean_abs_dw(self) -> np.ndarray:
        """Batches × layer pairs: mean |ΔW|."""
        return np.array([b.update.mean_abs_dw for b in self.batches]).reshape(-1, len(self.layer_pairs))


def prepare(scenario: Scenario, dataset: Dataset) -> TrainingRun:
    """Build the network and controller a scenario describes, on ``dataset``."""
    network = build_network(scenario, dataset.n_inputs, dataset.n_classes)
    rates = pair_rates(network.topology, scenario.training)
    per_bias = bias_rates(network.topology, rates, scenario.training)
    if scenario.datapath == "bp":
        controller = Backpropagation(network, rates, per_bias)
    else:
        controller = EquilibriumPropagation(network, scenario.dynamics, rates, per_bias)
    return TrainingRun(scenario, dataset, network, controller, [pair_name(p) for p in network.topology.pairs])


def _batches(order: np.ndarray, size: int, limit: int | None) -> list[np.ndarray]:
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    return batches[:limit] if limit is not None else batches


def _errors_and_cost(output: np.ndarray, target: np.ndarray) -> tuple[int, float]:
    errors = int((output.argmax(1) != target.argmax(1)).sum())
    return errors, float(np.square(output - target, dtype=np.float64).sum())


def evaluate(run: TrainingRun, particles: Particles, epoch: int, max_batches: int | None = None,
             observers: tuple[Observer, ...] = ()) -> tuple[float, float]:
    """Free phase over the test set (from the test particles): (error fraction, mean cost)."""
    x, y = run.dataset.test_x, run.dataset.test_y
    errors = cost = examples = 0
    for index, batch in enumerate(_batches(np.arange(len(x)), run.scenario.training.batch_size, max_batches)):
        try:
            equilibrium, outputs = run.controller.infer(x[batch], particles.start(batch))
        except NonFinite as exc:
            raise SimulationDiverged(epoch, index, f"test {exc.phase}", exc.what) from None
        particles.keep(batch, equilibrium)
        e, c = _errors_and_cost(outputs, y[batch])
        errors, cost, examples = errors + e, cost + c, examples + len(batch)
        for obs in observers:
            obs.on_test_batch(epoch, index)
    return errors / examples, cost / examples


def train(scenario: Scenario, dataset: Dataset, *, epochs: int | None = None, max_batches: int | None = None,
          observers: tuple[Observer, ...] = ()) -> TrainingRun:
    """Train ``scenario``'s network on ``dataset``; every random choice derives from the seed.

    ``max_batches`` limits the training and the test batches of every epoch.
    """
    run = prepare(scenario, dataset)
    training, dynamics = scenario.training, scenario.dynamics
    dtype = run.network.neurons.dtype
    n_state = run.network.topology.n_state
    train_particles = Particles(len(dataset.train_x), n_state, dtype, training.persistent_particles)
    test_particles = Particles(len(dataset.test_x), n_state, dtype, training.persistent_particles)
    order_rng, sign_rng = stream(scenario.seed, "data_order"), stream(scenario.seed, "beta_sign")
    x_all, y_all = dataset.train_x.astype(dtype), dataset.train_y.astype(dtype)
    n_test_batches = len(_batches(np.arange(len(dataset.test_x)), training.batch_size, max_batches))
    for obs in observers:
        obs.on_start(run)

    for epoch in range(epochs or training.epochs):
        started = time.perf_counter()
        order = order_rng.permutation(len(x_all)) if training.shuffle else np.arange(len(x_all))
        batches = _batches(order, training.batch_size, max_batches)
        for obs in observers:
            obs.on_epoch_start(epoch, len(batches), n_test_batches)
        errors = cost = examples = 0
        for index, batch in enumerate(batches):
            x, y = x_all[batch], y_all[batch]
            beta = dynamics.beta * (sign_rng.choice((-1.0, 1.0)) if dynamics.random_beta_sign else 1.0)
            try:
                equilibrium, outputs, update = run.controller.train_batch(x, y, train_particles.start(batch), beta)
            except NonFinite as exc:
                raise SimulationDiverged(epoch, index, exc.phase, exc.what) from None
            train_particles.keep(batch, equilibrium)
            e, c = _errors_and_cost(outputs, y)
            record = BatchRecord(e, len(batch), c / len(batch), beta, update)
            run.batches.append(record)
            errors, cost, examples = errors + e, cost + c, examples + len(batch)
            for obs in observers:
                obs.on_train_batch(epoch, index, record)
        test_error, test_cost = evaluate(run, test_particles, epoch, max_batches, observers)
        record = EpochRecord(epoch, errors / examples, test_error, cost / examples, test_cost,
                             time.perf_counter() - started)
        run.epochs.append(record)
        for obs in observers:
            obs.on_epoch_end(record)
    return run

"""The one training loop: epochs of mini-batches through any controller, observed from outside.

Every scenario kind runs here (EP or backprop on a Hopfield network, DEEP or asymmetric
EP on a directed graph). Metrics follow the paper: the training error of an epoch is
counted online from each batch's free-phase outputs *before* that batch's update; the
test error comes from an evaluation pass over the test set after the epoch (test
examples keep persistent particles too, where the controller keeps any). An example is
misclassified when the arg-max of its outputs differs from the target's; with a single
output neuron, when the output and the target fall on different sides of ½.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from neurosim.config.scenario import Scenario
from neurosim.data.datasets import Dataset
from neurosim.errors import SimulationDiverged
from neurosim.learning.phases import Events, NonFinite, UpdateStats
from neurosim.observe.observer import Observer
from neurosim.runfile.checkpoint import Checkpoint
from neurosim.streams import stream
from neurosim.training.setup import Controller, build_controller, load_data


class Particles:
    """Persistent particles: the last free equilibrium of every example, starting its next free phase."""

    def __init__(self, n_examples: int, n_state: int, dtype, enabled: bool = True):
        self.n_state, self.dtype, self.enabled = n_state, dtype, enabled
        self.states = np.zeros((n_examples, n_state), dtype=dtype) if enabled else None

    def start(self, indices: np.ndarray) -> np.ndarray:
        """Initial states for these examples: their stored equilibria (zeros when disabled or new)."""
        return self.states[indices] if self.enabled else np.zeros((len(indices), self.n_state), self.dtype)

    def keep(self, indices: np.ndarray, equilibria: np.ndarray | None) -> None:
        """Store the new equilibria (None: the datapath has no persistent state)."""
        if equilibria is not None and self.enabled:
            self.states[indices] = equilibria


@dataclass
class BatchRecord:
    """Metrics of one training batch."""

    errors: int
    examples: int
    cost: float
    beta: float | None
    """The signed β of the batch; None for a rule without β (backprop)."""
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
    extra: dict[str, float] = field(default_factory=dict)
    """The controller's own metrics (a directed graph's MSE, sparsity, stability, …)."""

    def __getattr__(self, name: str):
        try:
            return self.__dict__["extra"][name]
        except KeyError:
            raise AttributeError(name) from None


EPOCH_FIELDS = ["epoch", "train_error", "test_error", "cost", "test_cost", "seconds"]
"""The fields of every :class:`EpochRecord`, in order (``extra`` apart)."""


@dataclass
class TrainingRun:
    """A scenario's model, controller, the state of its training (persistent particles,
    random streams) and the metrics collected so far; training it again continues it."""

    scenario: Scenario
    dataset: Dataset
    controller: Controller
    epochs: list[EpochRecord] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    train_particles: Particles = field(init=False)
    test_particles: Particles = field(init=False)
    order_rng: np.random.Generator = field(init=False)
    """Draws the training order of every epoch (when ``training.shuffle``)."""
    sign_rng: np.random.Generator = field(init=False)
    """Draws the sign of β of every batch."""

    def __post_init__(self):
        neurons, training = self.controller.model.neurons, self.scenario.training
        persistent = training.persistent_particles and self.controller.persistent
        self.train_particles = Particles(len(self.dataset.train_x), neurons.size, neurons.dtype, persistent)
        self.test_particles = Particles(len(self.dataset.test_x), neurons.size, neurons.dtype, persistent)
        self.order_rng = stream(self.scenario.seed, "data_order")
        self.sign_rng = stream(self.scenario.seed, "beta_sign")

    @property
    def model(self):
        return self.controller.model

    @property
    def block_names(self) -> list[str]:
        """Names of the synapse blocks the per-batch statistics are given for (layer pairs)."""
        return list(self.model.blocks.values())

    def generators(self) -> dict[str, np.random.Generator]:
        """Every random stream the run draws from after it is built, by name."""
        return {"data_order": self.order_rng, "beta_sign": self.sign_rng, **self.controller.generators()}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every array the run changes while it trains, by name (the arrays themselves): the
        device banks, their stochastic-rounding generators and the persistent particles."""
        arrays = {}
        for bank_name in ("neurons", "synapses"):
            bank = getattr(self.model, bank_name)
            arrays |= {f"{bank_name}/{name}": a for name, a in bank.state_arrays().items()}
            arrays |= {f"{bank_name}/rounding/{point.name}": getattr(bank.q, point.name).state
                       for point in dataclasses.fields(bank.q)}
        for name, particles in (("train", self.train_particles), ("test", self.test_particles)):
            if particles.enabled:
                arrays[f"particles/{name}"] = particles.states
        return arrays

    def checkpoint(self, lengths: dict[str, int]) -> Checkpoint:
        """A copy of the run's state after its completed epochs (see :mod:`neurosim.runfile.checkpoint`)."""
        arrays = {name: a.copy() for name, a in self.state_arrays().items()}
        for name in EPOCH_FIELDS + (list(self.epochs[0].extra) if self.epochs else []):
            arrays[f"epochs/{name}"] = np.array([getattr(r, name) for r in self.epochs], dtype=np.float64)
        generators = {name: rng.bit_generator.state for name, rng in self.generators().items()}
        return Checkpoint(len(self.epochs), arrays, generators, lengths)

    def restore(self, checkpoint: Checkpoint) -> None:
        """Put the run back in the state ``checkpoint`` holds (a run just built from the same scenario)."""
        for name, array in self.state_arrays().items():
            saved = checkpoint.arrays[name]
            if saved.shape != array.shape:
                raise ValueError(f"checkpoint array {name} is {saved.shape}, the model's {array.shape}")
            array[...] = saved
        for name, rng in self.generators().items():
            rng.bit_generator.state = checkpoint.generators[name]
        columns = {name.removeprefix("epochs/"): values for name, values in checkpoint.arrays.items()
                   if name.startswith("epochs/")}
        extra = [name for name in columns if name not in EPOCH_FIELDS]
        self.epochs = [EpochRecord(int(columns["epoch"][k]), *(float(columns[f][k]) for f in EPOCH_FIELDS[1:]),
                                   extra={name: float(columns[name][k]) for name in extra})
                       for k in range(checkpoint.epochs_completed)]

    @property
    def rms_correction(self) -> np.ndarray:
        """Batches × blocks: RMS of the applied α·ΔW (the paper's Figure 4 quantity)."""
        return np.array([b.update.rms_correction for b in self.batches]).reshape(-1, len(self.block_names))

    @property
    def mean_abs_dw(self) -> np.ndarray:
        """Batches × blocks: mean |ΔW|."""
        return np.array([b.update.mean_abs_dw for b in self.batches]).reshape(-1, len(self.block_names))


def prepare(scenario: Scenario, dataset: Dataset | None = None) -> TrainingRun:
    """Build the model and controller a scenario describes, on ``dataset`` (default: the scenario's data)."""
    dataset = load_data(scenario) if dataset is None else dataset
    return TrainingRun(scenario, dataset, build_controller(scenario, dataset))


def _batches(order: np.ndarray, size: int, limit: int | None) -> list[np.ndarray]:
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    return batches[:limit] if limit is not None else batches


def _errors_and_cost(output: np.ndarray, target: np.ndarray) -> tuple[int, float]:
    if output.shape[1] == 1:
        errors = int(((output[:, 0] > 0.5) != (target[:, 0] > 0.5)).sum())
    else:
        errors = int((output.argmax(1) != target.argmax(1)).sum())
    return errors, float(np.square(output - target, dtype=np.float64).sum())


def evaluate(run: TrainingRun, epoch: int, max_batches: int | None = None,
             observers: Sequence[Observer] = ()) -> tuple[float, float, np.ndarray]:
    """The inference phase over the test set (from the test particles): (error fraction,
    mean cost, the outputs)."""
    particles = run.test_particles
    dtype = run.model.neurons.dtype
    x, y = run.dataset.test_x.astype(dtype), run.dataset.test_y.astype(dtype)
    events = Events(observers)
    errors = cost = examples = 0
    outputs = []
    for index, batch in enumerate(_batches(np.arange(len(x)), run.scenario.training.batch_size, max_batches)):
        try:
            equilibrium, out = run.controller.infer(x[batch], particles.start(batch), events)
        except NonFinite as exc:
            raise SimulationDiverged(epoch, index, f"test {exc.phase}", exc.what,
                                     divergence_hint(run.scenario, exc.phase)) from None
        particles.keep(batch, equilibrium)
        outputs.append(out.copy())
        e, c = _errors_and_cost(out, y[batch])
        errors, cost, examples = errors + e, cost + c, examples + len(batch)
        for obs in observers:
            obs.on_test_batch(epoch, index, len(batch))
    return errors / examples, cost / examples, np.concatenate(outputs)


def train(scenario: Scenario, dataset: Dataset | None = None, *, epochs: int | None = None,
          max_batches: int | None = None, observers: Sequence[Observer] = ()) -> TrainingRun:
    """Train ``scenario``'s model on ``dataset`` (default: the scenario's data); every random
    choice derives from the seed. ``max_batches`` limits the training and the test batches
    of every epoch. ``observers`` receive every event (:class:`~neurosim.observe.observer.Observer`)."""
    run = prepare(scenario, dataset)
    return train_run(run, epochs=epochs, max_batches=max_batches, observers=observers)


def train_run(run: TrainingRun, *, epochs: int | None = None, max_batches: int | None = None,
              observers: Sequence[Observer] = ()) -> TrainingRun:
    """Train an already built run (:func:`prepare`) for ``epochs`` more epochs (default
    ``training.epochs``), continuing from where it stands, with the BLAS library limited to
    ``training.threads`` threads (the thread count can change the last bits of a matrix
    product, so it is part of what a run is)."""
    with threadpool_limits(limits=run.scenario.training.threads, user_api="blas"):
        return _train(run, run.scenario.training.epochs if epochs is None else epochs, max_batches, observers)


def _train(run: TrainingRun, epochs: int, max_batches: int | None, observers: Sequence[Observer]) -> TrainingRun:
    scenario, controller = run.scenario, run.controller
    training, dataset = scenario.training, run.dataset
    dtype = run.model.neurons.dtype
    train_particles = run.train_particles
    order_rng, sign_rng = run.order_rng, run.sign_rng
    x_all, y_all = dataset.train_x.astype(dtype), dataset.train_y.astype(dtype)
    y_test = dataset.test_y.astype(dtype)
    n_test_batches = len(_batches(np.arange(len(dataset.test_x)), training.batch_size, max_batches))
    for obs in observers:
        obs.on_start(run)

    first = len(run.epochs)
    for epoch in range(first, first + epochs):
        started = time.perf_counter()
        order = order_rng.permutation(len(x_all)) if training.shuffle else np.arange(len(x_all))
        batches = _batches(order, training.batch_size, max_batches)
        controller.begin_epoch(epoch)
        for obs in observers:
            obs.on_epoch_start(epoch, len(batches), n_test_batches)
        errors = cost = examples = 0
        for index, batch in enumerate(batches):
            x, y = x_all[batch], y_all[batch]
            beta = controller.rule.beta.draw(sign_rng) if controller.rule.beta is not None else None
            events = Events(observers, [obs for obs in observers if obs.wants_steps(epoch, index)])
            try:
                equilibrium, outputs, update = controller.train_batch(x, y, train_particles.start(batch), beta, events)
            except NonFinite as exc:
                raise SimulationDiverged(epoch, index, exc.phase, exc.what, divergence_hint(scenario, exc.phase)) \
                    from None
            train_particles.keep(batch, equilibrium)
            e, c = _errors_and_cost(outputs, y)
            record = BatchRecord(e, len(batch), c / len(batch), beta, update)
            run.batches.append(record)
            errors, cost, examples = errors + e, cost + c, examples + len(batch)
            for obs in observers:
                obs.on_train_batch(epoch, index, record)
        test_error, test_cost, test_outputs = evaluate(run, epoch, max_batches, observers)
        extra = controller.epoch_metrics(test_outputs, y_test[:len(test_outputs)])
        record = EpochRecord(epoch, errors / examples, test_error, cost / examples, test_cost,
                             time.perf_counter() - started, extra)
        run.epochs.append(record)
        for obs in observers:
            obs.on_epoch_end(record)
    return run


def divergence_hint(scenario: Scenario, phase: str) -> str:
    """The likely cause of a divergence in ``phase``, from the scenario's values."""
    training, dynamics = scenario.training, scenario.dynamics
    rate = training.learning_rate
    rate = max(rate.values() if isinstance(rate, dict) else rate) if isinstance(rate, list | dict) else rate
    beta = getattr(dynamics, "beta", None)
    if phase == "update":
        if beta is None or getattr(scenario, "datapath", "ep") == "bp":
            return f"the update α·ΔW overflowed: try a smaller learning rate (largest α = {rate:g})"
        return (f"the update α·ΔW overflowed; ΔW is divided by β, so a large learning rate (largest α = {rate:g}) "
                f"or a small |β| (β = {beta:g}) is the likely cause")
    causes = [f"weights grown by a large learning rate (largest α = {rate:g})"]
    epsilon = dynamics.epsilon
    if epsilon > 1:
        causes.append(f"a step ε = {epsilon:g} > 1 (the leaky integration overshoots)")
    if beta is not None and "clamped" in phase and 2 * epsilon * abs(beta) > 1:
        causes.append(f"a nudge 2εβ = {2 * epsilon * beta:g} larger than 1 in magnitude (reduce β or ε)")
    return "likely " + " or ".join(causes)

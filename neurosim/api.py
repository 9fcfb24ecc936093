"""The Python API: build a scenario's simulation, drive its phases, train it, look inside.

::

    import neurosim as ns
    sim = ns.build("scenarios/quickstart.yaml", overrides={"training.epochs": 1})
    x = sim.dataset.test_x[:4]
    sim.free_phase(x)                  # relax from rest; returns the states
    sim.state("output")                # (4, 10): no column slices to know
    monitor = ns.StateMonitor("state", "output", when="step")
    sim.train(max_batches=20, observers=[monitor])
    monitor.values                     # (10 neurons, n_t samples), monitor.t in τ

Every scenario kind works the same way (layered, layer-skipping, directed graphs; EP,
backprop, DEEP, asymmetric EP). ``docs/api.md`` walks through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.config.scenario import Scenario, load_scenario, scenario_from_dict
from neurosim.observe.observer import Observer
from neurosim.observe.recorder import recording
from neurosim.runfile.outputs import claim
from neurosim.training.loop import EpochRecord, TrainingRun, evaluate, prepare, train_run


class Simulation:
    """One scenario, built: its data, model (devices), controller and training state."""

    def __init__(self, run: TrainingRun):
        self.run = run

    @property
    def scenario(self) -> Scenario:
        return self.run.scenario

    @property
    def dataset(self):
        """The examples: ``train_x``, ``train_y``, ``test_x``, ``test_y`` (one row per example)."""
        return self.run.dataset

    @property
    def model(self):
        """The model: ``neurons`` (states, memory cells), ``synapses`` (weights), named ``groups``."""
        return self.run.model

    @property
    def controller(self):
        """The datapath's controller; ``controller.phases`` declares its phases."""
        return self.run.controller

    @property
    def epochs(self) -> list[EpochRecord]:
        """The metrics of every epoch trained so far."""
        return self.run.epochs

    def state(self, group: str | int) -> np.ndarray:
        """The states of one neuron group (batch × neurons), e.g. ``"h1"``, ``"output"``."""
        return self.model.state(group)

    def free_phase(self, x: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """Relax the model with inputs ``x`` (examples × inputs) clamped, from ``start``
        (default: rest; a directed graph always starts from rest): the inference phase of the
        datapath (EP's free phase, backprop's forward pass). Returns the states."""
        neurons = self.model.neurons
        x = np.asarray(x, dtype=neurons.dtype)
        self.controller.infer(x, np.zeros((len(x), neurons.size), neurons.dtype) if start is None else start)
        return neurons.s.copy()

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The outputs for inputs ``x`` after a free phase (forward pass) from rest."""
        self.free_phase(x)
        return self.state("output").copy()

    @property
    def clock(self) -> float:
        """The chip's clock, s: every integration step, programming pulse and :meth:`wait` advances it."""
        return self.model.synapses.chip.now

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass with the chip idle: drifting synapses drift (``synapse.drift``)."""
        if seconds < 0:
            raise ValueError(f"cannot wait a negative time ({seconds} s)")
        self.model.synapses.elapse(seconds)

    def test_error(self, max_batches: int | None = None) -> float:
        """The fraction of the test set misclassified now (an inference pass, as after an epoch)."""
        return evaluate(self.run, len(self.run.epochs), max_batches)[0]

    def train(self, epochs: int | None = None, *, max_batches: int | None = None,
              observers: Sequence[Observer] = (), out: str | Path | None = None,
              overwrite: bool = False) -> list[EpochRecord]:
        """Train ``epochs`` more epochs (default ``training.epochs``), continuing from the
        current state; ``observers`` see every event; ``out`` also writes a run file of these
        epochs, refusing an existing file unless ``overwrite`` (which replaces it once the
        epochs complete). Returns the new epochs' records."""
        first = len(self.run.epochs)
        if out is None:
            train_run(self.run, epochs=epochs, max_batches=max_batches, observers=observers)
        else:
            claim(Path(out), self.scenario.digest(), overwrite=overwrite, option="out")
            with recording(out, self.scenario, max_batches=max_batches) as recorders:
                train_run(self.run, epochs=epochs, max_batches=max_batches, observers=[*recorders, *observers])
        return self.run.epochs[first:]

    def __repr__(self) -> str:
        return f"Simulation({self.scenario.name!r}, {len(self.epochs)} epoch(s) trained)"


def build(scenario: str | Path | Scenario | dict, overrides: dict[str, Any] | None = None) -> Simulation:
    """A :class:`Simulation` of a scenario file (or a validated scenario, or a mapping),
    with ``overrides`` (``{"training.epochs": 2}``) applied and validated first."""
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario, overrides)
    elif isinstance(scenario, dict):
        from neurosim.config.base import set_key

        content = dict(scenario)
        for key, value in (overrides or {}).items():
            set_key(content, key, value)
        scenario = scenario_from_dict(content)
    elif overrides:
        raise ValueError("overrides apply to a scenario file or mapping; use scenario.model_copy(update=...)")
    return Simulation(prepare(scenario))

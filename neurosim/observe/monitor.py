"""In-memory recording of device state during training, for notebooks and quick looks.

Shaped like Brian2's ``StateMonitor``: name what to record (a neuron bank and a group of
neurons, which examples of the batch, which batches), pass the monitor to
:meth:`neurosim.Simulation.train` (or :func:`neurosim.training.loop.train`) and read
``monitor.values`` as an ``(n_recorded, n_t)`` array beside ``monitor.t``, the time of each
sample in neuron time constants τ since the start of its phase. For recording to the run
file instead, use the scenario's ``trace`` section.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurosim.observe.observer import Observer

UNITS = {"state": "dimensionless, in [0, 1]", "u0": "dimensionless, in [0, 1]", "ubeta": "dimensionless, in [0, 1]",
         "ubeta_neg": "dimensionless, in [0, 1]",
         "activation": "dimensionless, in [0, 1]", "error": "state units"}


class StateMonitor(Observer):
    """Records one neuron bank of one neuron group, in memory.

    ``variable``: ``state`` (the integrators) or a memory cell the datapath writes (``u0``,
    ``ubeta``; backprop's ``activation``, ``error``). ``group``: a neuron group of the model
    (``h1``, ``output``; ``hidden`` for a directed graph) or a layer number. ``neurons``:
    indices within the group (default all). ``sample``: the example of the batch.
    ``when``: ``step`` after every integration step (``state`` only) or ``phase_end``.
    ``batches``: training batch indices of every epoch to record (default only batch 0).
    """

    def __init__(self, variable: str = "state", group: str | int = "output", *, neurons: Sequence[int] | None = None,
                 sample: int = 0, when: str = "step", batches: Sequence[int] | None = (0,)):
        if when not in ("step", "phase_end"):
            raise ValueError(f"when must be 'step' or 'phase_end', not {when!r}")
        if when == "step" and variable != "state":
            raise ValueError(f"{variable!r} is written once per phase: record it with when='phase_end'")
        self.variable, self.group, self.neurons, self.sample = variable, group, neurons, sample
        self.when, self.batches = when, None if batches is None else set(batches)
        self.units = UNITS.get(variable, "")
        self._rows: list[np.ndarray] = []
        self._t: list[float] = []
        self._phase: list[str] = []
        self._epoch: list[int] = []
        self._batch: list[int] = []
        self.epsilon = 1.0
        self.cell_of: dict[str, str | None] = {}
        self.recording = False
        self.epoch = self.batch = 0

    # -- where the run is ---------------------------------------------------------------

    def on_start(self, run) -> None:
        self.epsilon = run.scenario.dynamics.epsilon
        self.cell_of = {phase.name: phase.cell for phase in run.controller.phases}
        self.columns = run.model.columns(self.group)

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None:
        self.epoch, self.train_batches = epoch, train_batches
        self._arm(0)

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        self._arm(batch + 1)

    def _arm(self, batch: int) -> None:
        self.batch = batch
        self.recording = batch < self.train_batches and (self.batches is None or batch in self.batches)

    def wants_steps(self, epoch: int, batch: int) -> bool:
        return self.when == "step" and self.recording

    # -- what the devices hold ----------------------------------------------------------

    def on_step(self, phase: str, step: int, model) -> None:
        self._record(model.neurons.s, phase, (step + 1) * self.epsilon)

    def on_phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        if self.when != "phase_end" or not self.recording:
            return
        if self.variable == "state":
            self._record(model.neurons.s, phase, steps * self.epsilon)
        elif stored and self.cell_of.get(phase) == self.variable:
            self._record(model.neurons.cells[self.variable], phase, steps * self.epsilon)

    def _record(self, values: np.ndarray, phase: str, t: float) -> None:
        if self.sample >= len(values):
            return
        row = values[self.sample, self.columns]
        self._rows.append(row[list(self.neurons)] if self.neurons is not None else row.copy())
        self._t.append(t)
        self._phase.append(phase)
        self._epoch.append(self.epoch)
        self._batch.append(self.batch)

    # -- what was recorded --------------------------------------------------------------

    @property
    def values(self) -> np.ndarray:
        """(n_recorded neurons, n_t samples)."""
        return np.array(self._rows).T if self._rows else np.zeros((0, 0))

    @property
    def t(self) -> np.ndarray:
        """Time of each sample since the start of its phase, in neuron time constants τ (step × ε)."""
        return np.array(self._t)

    @property
    def phase(self) -> np.ndarray:
        """Phase of each sample."""
        return np.array(self._phase)

    @property
    def epoch_index(self) -> np.ndarray:
        """Epoch of each sample (0-based)."""
        return np.array(self._epoch)

    @property
    def batch_index(self) -> np.ndarray:
        """Training batch of each sample within its epoch (0-based)."""
        return np.array(self._batch)

    def __repr__(self) -> str:
        return (f"StateMonitor({self.variable!r}, group={self.group!r}, {self.values.shape[0]} neuron(s) × "
                f"{self.values.shape[1]} sample(s))")

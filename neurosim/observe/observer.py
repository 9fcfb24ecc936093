"""The one observer interface: everything a run reports, for every datapath and model.

The training loop tells its observers where the run is (start, epochs, batches); the
controller, through the loop's :class:`~neurosim.learning.phases.Events`, tells them what
the devices did (steps, phase ends, updates). Every method has a default that does
nothing, so an observer implements only what it needs. Observers read the model and the
controller's declarations; they never change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from neurosim.training.loop import BatchRecord, EpochRecord, TrainingRun


class Observer:
    """Receives a run's events."""

    def on_start(self, run: TrainingRun) -> None:
        """Before the first epoch: the model, controller and scenario are built."""

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None: ...

    def wants_steps(self, epoch: int, batch: int) -> bool:
        """Whether to receive :meth:`on_step` during training batch ``batch`` of ``epoch``."""
        return False

    def on_step(self, phase: str, step: int, model) -> None:
        """After integration step ``step`` (from 0) of ``phase`` (only when :meth:`wants_steps`)."""

    def on_phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        """After ``phase`` ran ``steps`` integration steps (0 for a one-pass phase) on
        ``examples`` examples; ``stored``: it ended by writing its memory cell (an
        evaluation that keeps nothing does not)."""

    def on_update(self, corrections: dict[str, np.ndarray], examples: int, model) -> None:
        """After the update phase wrote every weight and bias; ``corrections`` are ΔW per
        synapse block, before the learning rates."""

    def on_train_batch(self, epoch: int, batch: int, record: BatchRecord) -> None: ...

    def on_test_batch(self, epoch: int, batch: int, examples: int) -> None: ...

    def on_epoch_end(self, record: EpochRecord) -> None: ...

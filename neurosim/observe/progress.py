"""What a person watching a run sees: progress bars with ETA and one line per epoch (tqdm)."""

from __future__ import annotations

import click
from tqdm import tqdm

from neurosim.observe.observer import Observer


class Progress(Observer):
    """A progress bar per epoch (training then test batches, running error, ETA) and a line
    per finished epoch; or, for runs of many short epochs (``per_epoch=False``), one bar
    over the epochs showing the last epoch's metrics."""

    def __init__(self, epochs: int, enabled: bool = True, per_epoch: bool = True, steps: bool = False):
        self.epochs, self.enabled, self.per_epoch, self.steps = epochs, enabled, per_epoch, steps
        self.bar: tqdm | None = None
        self.errors = self.examples = 0
        self.phase_steps: dict[str, int] = {}
        """``steps``: integration steps per phase summed over the epoch's training batches
        (shown as a mean per batch: phases that end when settled take a varying number)."""
        self._batch_steps: dict[str, int] = {}
        if not per_epoch:
            self.bar = self._bar(epochs, "epochs", "epoch")

    def _bar(self, total: int, description: str, unit: str) -> tqdm:
        return tqdm(total=total, desc=description, unit=unit, leave=False, dynamic_ncols=True,
                    disable=None if self.enabled else True)  # None: off when not a terminal

    def skip(self, epochs: int) -> None:
        """Count ``epochs`` already trained (a resumed run)."""
        if not self.per_epoch:
            self.bar.update(epochs)

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None:
        self.phase_steps, self.batches = {}, 0
        if self.per_epoch:
            self.errors = self.examples = 0
            self.bar = self._bar(train_batches + test_batches, f"epoch {epoch + 1}/{self.epochs}", "batch")

    def on_phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        if self.steps:
            self._batch_steps[phase] = steps

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        for phase, steps in self._batch_steps.items():
            self.phase_steps[phase] = self.phase_steps.get(phase, 0) + steps
        self._batch_steps, self.batches = {}, self.batches + 1
        if self.per_epoch:
            self.errors += record.errors
            self.examples += record.examples
            self.bar.set_postfix_str(f"train error {100 * self.errors / self.examples:5.2f}%" + self._steps(),
                                     refresh=False)
            self.bar.update()

    def _steps(self) -> str:
        """Mean steps per batch of every phase, e.g. '  steps: free 134, weakly-clamped 8'."""
        if not self.phase_steps:
            return ""
        return "  steps: " + ", ".join(f"{p} {n / self.batches:.0f}" for p, n in self.phase_steps.items())

    def on_test_batch(self, epoch: int, batch: int, examples: int) -> None:
        self._batch_steps = {}
        if self.per_epoch:
            self.bar.set_description_str(f"epoch {epoch + 1}/{self.epochs} test", refresh=False)
            self.bar.update()

    def on_epoch_end(self, record) -> None:
        extra = "  ".join(f"{name} {value:.3g}" for name, value in record.extra.items())
        if not self.per_epoch:
            self.bar.set_postfix_str(extra, refresh=False)
            self.bar.update()
            return
        self.bar.close()
        click.echo(f"epoch {record.epoch + 1:>3}/{self.epochs}  train error {100 * record.train_error:6.2f}%  "
                   f"test error {100 * record.test_error:6.2f}%  cost {record.cost:.4f}  ({record.seconds:.1f} s)"
                   + (f"  {extra}" if extra else "") + self._steps())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

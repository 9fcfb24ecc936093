"""What a person watching a run sees: progress bars with ETA and one line per epoch (tqdm)."""

from __future__ import annotations

import click
from tqdm import tqdm

from neurosim.observe.observer import Observer


class Progress(Observer):
    """A progress bar per epoch (training then test batches, running error, ETA) and a line
    per finished epoch; or, for runs of many short epochs (``per_epoch=False``), one bar
    over the epochs showing the last epoch's metrics."""

    def __init__(self, epochs: int, enabled: bool = True, per_epoch: bool = True):
        self.epochs, self.enabled, self.per_epoch = epochs, enabled, per_epoch
        self.bar: tqdm | None = None
        self.errors = self.examples = 0
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
        if self.per_epoch:
            self.errors = self.examples = 0
            self.bar = self._bar(train_batches + test_batches, f"epoch {epoch + 1}/{self.epochs}", "batch")

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        if self.per_epoch:
            self.errors += record.errors
            self.examples += record.examples
            self.bar.set_postfix_str(f"train error {100 * self.errors / self.examples:5.2f}%", refresh=False)
            self.bar.update()

    def on_test_batch(self, epoch: int, batch: int, examples: int) -> None:
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
                   + (f"  {extra}" if extra else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

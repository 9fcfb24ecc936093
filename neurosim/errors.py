"""Errors a user can act on: each names the file, key path or simulation step at fault."""

from __future__ import annotations


class NeurosimError(Exception):
    """Base class of every error neurosim reports to a user (the CLI prints it and exits 1)."""


class ConfigError(NeurosimError):
    """An invalid scenario or device file.

    The message reads ``FILE: KEY.PATH: REASON`` so that the offending line can be found
    without reading a traceback.
    """

    def __init__(self, file: str | None, key_path: str, reason: str):
        self.file = file
        self.key_path = key_path
        self.reason = reason
        where = f"{file}: " if file else ""
        key = f"{key_path}: " if key_path else ""
        super().__init__(f"{where}{key}{reason}")


class SimulationDiverged(NeurosimError):
    """A state, weight or bias became NaN or infinite during a run."""

    def __init__(self, epoch: int, batch: int, phase: str, what: str):
        self.epoch, self.batch, self.phase, self.what = epoch, batch, phase, what
        super().__init__(
            f"simulation diverged at epoch {epoch}, batch {batch}, {phase} phase: "
            f"{what} holds NaN or inf (try a smaller learning rate or step size epsilon)"
        )

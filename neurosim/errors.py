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
    """A state, weight or bias became NaN or infinite (overflowed its dtype) during a run.

    ``epoch`` and ``batch`` count from 0 as the run file does; the message counts from 1,
    as the progress display does, and ends with ``hint``, the likely cause.
    """

    def __init__(self, epoch: int, batch: int, phase: str, what: str, hint: str = ""):
        self.epoch, self.batch, self.phase, self.what = epoch, batch, phase, what
        super().__init__(
            f"simulation diverged at epoch {epoch + 1}, batch {batch + 1} (counted from 1), {phase} phase: "
            f"{what} holds NaN or inf" + (f": {hint}" if hint else "")
        )


class RunInterrupted(NeurosimError):
    """A run stopped by Ctrl-C or SIGTERM at a batch boundary; its completed epochs are kept."""

    def __init__(self, signal_name: str, partial: str, epochs_completed: int):
        self.signal_name, self.partial, self.epochs_completed = signal_name, partial, epochs_completed
        kept = (f"{partial} keeps {epochs_completed} completed epoch(s)" if epochs_completed
                else f"no epoch had completed, so {partial} was removed")
        super().__init__(f"interrupted by {signal_name}: {kept}")

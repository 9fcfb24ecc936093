"""Names shared by the code that writes run files and the code that reads them back.

Kept apart so that reading a run file imports nothing of training (``docs/run-file.md``).
"""

from __future__ import annotations

from pathlib import Path

INFERENCE = "inference"
"""Phase name under which test-set evaluation is counted and reported (``/ledger``)."""

PHASES = ("free", "weakly-clamped", "forward", "backward")
"""Phase codes stored in trace ``phase`` coordinates: the index of the phase's name."""

COORDINATES = {
    "step": ("epoch", "batch", "phase", "step"),
    "phase_end": ("epoch", "batch", "phase"),
    "update": ("epoch", "batch"),
    "epoch": ("epoch",),
}
"""The coordinates of every event of each trace cadence."""

NEURON_BANKS = ("state", "u0", "ubeta", "activation", "error")
"""Traced banks with one value per neuron and example: the state and the memory cells."""

SYNAPSE_BANKS = ("weights", "delta_w")
"""Traced banks with one value per synapse, one dataset per synapse block."""


def partial_path(path: Path) -> Path:
    """Where a run file lives while it is being written: ``RUN.h5.partial``."""
    return path.with_name(path.name + ".partial")

"""Names shared by the code that writes run files and the code that reads them back.

Kept apart so that reading a run file imports nothing of training (``docs/run-file.md``).
"""

from __future__ import annotations

from pathlib import Path

INFERENCE = "inference"
"""Phase name under which test-set evaluation is counted and reported (``/ledger``)."""

NEGATIVE = "weakly-clamped-negative"
"""The symmetric estimator's second weakly-clamped phase, nudged with −β; it writes U−β (``ubeta_neg``)."""

PHASES = ("free", "weakly-clamped", "forward", "backward", "weakly-clamped-negative")
"""Phase codes stored in trace ``phase`` coordinates: the index of the phase's name."""

COORDINATES = {
    "step": ("epoch", "batch", "phase", "step"),
    "phase_end": ("epoch", "batch", "phase"),
    "update": ("epoch", "batch"),
    "epoch": ("epoch",),
}
"""The coordinates of every event of each trace cadence."""

NEURON_BANKS = ("state", "u0", "ubeta", "ubeta_neg", "activation", "error")
"""Traced banks with one value per neuron and example: the state and the memory cells."""

SYNAPSE_BANKS = ("weights", "delta_w")
"""Traced banks with one value per synapse, one dataset per synapse block."""


def partial_path(path: Path) -> Path:
    """Where a run file lives while it is being written: ``RUN.h5.partial``."""
    return path.with_name(path.name + ".partial")


# -- units (the ``units`` attribute; convention in docs/run-file.md#attributes-and-units) --------

STATE_UNITS = "dimensionless, in [0, 1]"
"""The neuron state s, a normalised firing rate (ρ(s) = s), and the memory cells that store it."""

STATE_SCALE_UNITS = "state units"
"""A quantity on the scale of the state s that is not confined to [0, 1]: biases, backprop's δ."""

WEIGHT_UNITS = "dimensionless (state units per unit activation)"
"""Synapse weights W (a directed graph's bias row too: the bias neuron's activation is 1)."""

DELTA_W_UNITS = "weight units per batch, before α"
"""The correction ΔW of one update phase, before the learning rate α scales it."""

COUNT = "count"
"""A number of things (neurons, connections, actions); the description says of what."""

FRACTION = "fraction"
"""A ratio of two counts, in [0, 1]: error rates, sparsity, lost and stable fractions."""

DIMENSIONLESS = "dimensionless"
"""Any other pure number: costs ‖y − y_target‖², β, learning rates α."""

BITS = "bits"
PICOJOULES = "pJ"
SECONDS = "s"
STEPS = "steps"

COORDINATE_UNITS = {
    "epoch": "epochs (from 0)",
    "batch": "batches (from 0)",
    "phase": "index into phase_names",
    "step": "steps (from 0)",
}
"""Units of the trace coordinates (and of ``metrics/batch/epoch``): positions along the run,
counted from 0; a phase is a code, the index of its name in the attribute ``phase_names``."""

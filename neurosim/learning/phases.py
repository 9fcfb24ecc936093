"""What every controller shares: its declared phases, the events it reports, its update statistics.

A controller (EP, backprop, DEEP, asymmetric EP) sequences a model's devices through
phases and *declares* them: each :class:`Phase` has a name, says whether it integrates
(has steps) and which memory cell, if any, it writes at its end. Observers (ledger,
tracer, recorder, monitors) read these declarations; none of them assumes EP's names.

While it runs, a controller reports what happened to an :class:`Events` dispatcher the
training loop hands it: every integration step (only to the observers that asked for
steps in this batch), every phase end (with the number of steps that ran) and every
update. Observers receive events; they never reach into the controller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from neurosim.observe.observer import Observer


@dataclass(frozen=True)
class Phase:
    """One phase a controller runs."""

    name: str
    integrates: bool
    """True when the phase is a relaxation of integration steps (EP's free phase); False for
    one-pass computations (backprop's forward pass) and for the update."""
    cell: str | None = None
    """The memory cell every neuron writes at the end of the phase (``u0``, ``ubeta``,
    ``activation``, ``error``), or None."""


class NonFinite(Exception):
    """Raised by a phase whose result holds NaN or inf; the training loop adds epoch and batch."""

    def __init__(self, phase: str, what: str):
        super().__init__(f"{what} not finite after the {phase} phase")
        self.phase, self.what = phase, what


def check_finite(values: np.ndarray, phase: str, what: str) -> None:
    """Raise :class:`NonFinite` when ``values`` hold NaN or inf."""
    if not np.isfinite(values).all():
        raise NonFinite(phase, what)


@contextmanager
def finite(phase: str, what: str) -> Iterator[None]:
    """Run a phase's arithmetic so that its first overflow or invalid operation (inf − inf,
    0 · inf) raises :class:`NonFinite` (``phase``, ``what``) instead of a numpy RuntimeWarning.

    A Hopfield or directed step clips the state to [0, 1], so an overflowing current would
    otherwise leave finite states behind and the run would go on. Observers called inside
    (through :class:`Events`) run under the error state they were created in. Compiled
    kernels (numba) raise nothing: check what they write with :func:`check_finite`.
    """
    try:
        with np.errstate(over="raise", invalid="raise"):
            yield
    except FloatingPointError:
        raise NonFinite(phase, what) from None


@contextmanager
def unchecked() -> Iterator[None]:
    """Arithmetic whose overflow is found afterwards by :func:`check_finite` naming the array
    (an update writes every layer pair's weights in one call): no RuntimeWarning meanwhile."""
    with np.errstate(over="ignore", invalid="ignore"):
        yield


@dataclass
class UpdateStats:
    """What one update phase wrote, per synapse block (a layer pair; the whole graph for a directed model)."""

    rms_correction: np.ndarray
    """Root-mean-square of the applied correction α·ΔW over the block's connections."""
    mean_abs_dw: np.ndarray
    """Mean |ΔW| (before the learning rate) over the block's connections."""
    lost_fraction: np.ndarray | None = None
    """Quantised weights only: fraction of the block's connections with ΔW ≠ 0 whose stored
    weight did not change (the update fell below the weight resolution); NaN for a block
    that had no ΔW ≠ 0; None when ideal."""


def update_stats(corrections: dict, rates: dict, connections: dict, lost: np.ndarray | None = None) -> UpdateStats:
    """RMS of α·ΔW and mean |ΔW| per block (in ``corrections`` order), over each block's
    ``connections`` (their count); ``lost`` is what the synapse bank's ``apply`` returned."""
    blocks = list(corrections)
    return UpdateStats(
        rms_correction=np.array([rates[k] * np.sqrt(np.square(corrections[k], dtype=np.float64).sum() / connections[k])
                                 for k in blocks]),
        mean_abs_dw=np.array([np.abs(corrections[k]).sum(dtype=np.float64) / connections[k] for k in blocks]),
        lost_fraction=lost,
    )


class Events:
    """The observers of one batch, as a controller sees them: it reports, they receive."""

    def __init__(self, observers: Sequence[Observer] = (), step_observers: Sequence[Observer] = ()):
        self.observers = observers
        self.step_observers = step_observers
        """Observers that asked for every integration step of this batch (usually none:
        reporting steps costs a call per step)."""
        self.errstate = np.geterr()
        """numpy's error handling where the events were made: observers run under it, not
        under a phase's :func:`finite` check (their arithmetic is not the simulation's)."""

    def step(self, phase: str, step: int, model) -> None:
        with np.errstate(**self.errstate):
            for observer in self.step_observers:
                observer.on_step(phase, step, model)

    def phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        """``phase`` ended after ``steps`` integration steps (a one-pass phase: one step's time):
        that time passes on the chip's clock (drifting devices drift), then observers hear of it."""
        model.synapses.elapse(max(steps, 1) * model.synapses.chip.timing.step_seconds)
        if self.observers:
            with np.errstate(**self.errstate):
                for observer in self.observers:
                    observer.on_phase_end(phase, steps, examples, model, stored)

    def update(self, corrections: dict, examples: int, model) -> None:
        if self.observers:
            with np.errstate(**self.errstate):
                for observer in self.observers:
                    observer.on_update(corrections, examples, model)


NO_EVENTS = Events()
"""For a controller driven by hand: nobody listens."""

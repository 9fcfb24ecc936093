"""The run file of a directed run: the same HDF5 file life cycle as :class:`RunRecorder`
(``/config``, provenance, ``.partial`` until complete, ``/ledger`` rewritten every epoch),
with directed metrics and state. Layout: ``docs/run-file.md``.
"""

from __future__ import annotations

import numpy as np

from neurosim.observe import ledger
from neurosim.directed.ledger import DirectedLedger
from neurosim.directed.train import DirectedEpoch, DirectedObserver, DirectedRun
from neurosim.runfile.h5io import append_rows
from neurosim.observe.recorder import RunRecorder

DIRECTED_METRICS = {
    "mse": "mean over the task's examples of (ŷ − y)² at the free equilibrium from rest, after the epoch",
    "sparsity": "fraction of the graph's connections and biases removed so far (eq. 3)",
    "removed": "connections removed during the epoch",
    "stable_fraction": "fraction of non-input neurons meeting Proposition 2's sufficient stability condition",
    "rate_sum_drift": "max over examples of |Σ_j V_j| with no inputs, biases or β at the free equilibria (Proposition 1: 0)",
    "lost_fraction": "quantised weights or updates: fraction of the epoch's writes with ΔW ≠ 0 that left the stored value unchanged; NaN when ideal",
    "seconds": "wall-clock time of the epoch, s",
}


class DirectedRecorder(RunRecorder, DirectedObserver):
    """Writes a directed run's HDF5 file; use as a context manager around ``train_directed``."""

    def on_start(self, run: DirectedRun) -> None:
        graph = run.graph
        g = self.file.create_group("topology")
        g.attrs["kind"] = "complete_directed"
        g.attrs["dynamics"] = run.kind
        g.create_dataset("layer_sizes", data=np.array([graph.n_inputs, graph.n_hidden, graph.n_outputs]))
        g.create_dataset("connections", data=np.array([int(run.bank.alive[: graph.n].sum())]))
        g["connections"].attrs["description"] = "directed connections between neurons at the start (biases not counted)"
        g.create_dataset("initial_alive", data=run.bank.alive)
        g["initial_alive"].attrs["description"] = "(N + 1) × N: connection i → j exists; row N is the bias neuron"
        self.file.create_group("metrics/epoch")
        dynamics = self.scenario.dynamics
        self.ledger = DirectedLedger(graph, run.kind, (dynamics.t_free, dynamics.t_clamped), self.scenario.devices,
                                     8 * run.bank.weights.dtype.itemsize)

    def on_batch(self, run: DirectedRun, examples: int) -> None:
        self.ledger.on_batch(run, examples)

    def on_evaluate(self, run: DirectedRun, examples: int) -> None:
        self.ledger.on_evaluate(run, examples)

    def on_epoch_end(self, record: DirectedEpoch) -> None:
        self.ledger.on_epoch_end(record)
        ledger.write(self.file, self.ledger)
        self.file["ledger"].attrs["dynamics"] = self.ledger.kind
        g = self.file["metrics/epoch"]
        for name, description in DIRECTED_METRICS.items():
            append_rows(g, name, np.array([getattr(record, name)]), description=description)
        self._epochs_done += 1
        self.file.attrs["epochs_completed"] = self._epochs_done
        self.file.flush()

    def write_final_state(self, run: DirectedRun) -> None:
        """Final weights (row N the biases) and the alive mask."""
        g = self.file.create_group("final")
        g.create_dataset("weights", data=run.bank.weights).attrs["axes"] = "from neuron i (row N: bias), to neuron j"
        g.create_dataset("alive", data=run.bank.alive).attrs["axes"] = "from neuron i (row N: bias), to neuron j"
        self.file.flush()

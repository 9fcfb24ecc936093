"""A sweep's summary table: one row per point, read back from the manifest and the run files.

Columns, in order:

- ``point``, ``status`` (``complete``, ``failed``, ``invalid``, ``pending``, ``interrupted``);
- one column per swept key (numbers as numbers, anything else as its JSON text);
- ``epochs``, ``train_error``, ``test_error``, ``test_cost``: the last epoch's metrics
  (error fractions in [0, 1]);
- ``rms_<a-b>``: the mean RMS correction (α·ΔW, weight units per batch) of layer pair a-b
  over the last min(100, batches) training batches, and ``rms_ratio_<a-b>`` the same
  divided by the output pair's (L−1)-L, the paper's measure of a vanishing training signal
  (Figure 4); pairs a point's topology lacks are empty;
- ``energy_total_pJ`` and ``energy_per_example_pJ``: the action ledger's totals (the
  ``/ledger`` group's attributes of the same names: pJ over the whole training, and that
  divided by the training examples processed); empty (NaN in HDF5) for a point whose run
  file has no ledger;
- ``wall_seconds`` (the point's run on its worker), ``error`` (failed and invalid points).

Written as ``summary.csv`` and ``summary.h5`` (one dataset per column) in the sweep directory.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurosim.studies.sweep import read_manifest

TAIL_BATCHES = 100
ENERGY = ("energy_total_pJ", "energy_per_example_pJ")
"""Columns copied from the attributes of a run file's ``/ledger`` group."""
EXTRA = ("mse", "sparsity", "stable_fraction")
"""A directed run's own final metrics, copied where the run file has them."""


def _cell(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value if isinstance(value, str) else json.dumps(value)
    return value


def _metrics(path: Path) -> dict[str, Any]:
    """Final metrics, RMS corrections and energy totals of one complete run file."""
    row: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        epoch = f["metrics/epoch"]
        row["epochs"] = int(epoch["test_error"].shape[0])
        for name in ("train_error", "test_error", "test_cost", *EXTRA):
            if name in epoch:
                row[name] = float(epoch[name][-1])
        rms = f["metrics/batch/rms_correction"]
        pairs = [str(p) for p in rms.attrs["layer_pairs"]]
        tail = rms[-min(len(rms), TAIL_BATCHES):].mean(axis=0)
        last = len(f["topology/layer_sizes"]) - 1
        output_pair = f"{last - 1}-{last}"
        output = tail[pairs.index(output_pair)] if output_pair in pairs else math.nan
        for pair, value in zip(pairs, tail):
            row[f"rms_{pair}"] = float(value)
            if output_pair in pairs:
                row[f"rms_ratio_{pair}"] = float(value / output) if output > 0 else math.nan
        if "ledger" in f:
            row.update({name: float(f["ledger"].attrs[name]) for name in ENERGY if name in f["ledger"].attrs})
    return row


def summarise(directory: str | Path) -> list[dict[str, Any]]:
    """One row per point of the sweep in ``directory`` (in grid order)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    rows = []
    for point in manifest["points"]:
        row = {"point": point["name"], "status": point["status"]}
        row.update({key: _cell(value) for key, value in point["params"].items()})
        row.update(dict.fromkeys(ENERGY))
        if point["status"] == "complete":
            row.update(_metrics(directory / point["file"]))
        row["wall_seconds"] = point["wall_seconds"]
        row["error"] = point["error"] or ""
        rows.append(row)
    return rows


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every column of ``rows`` in the documented order (pairs sorted by layer numbers)."""
    names: list[str] = []
    for row in rows:
        names += [key for key in row if key not in names]
    fixed_end = ["wall_seconds", "error"]
    def pair_key(name: str) -> tuple:
        block = name.rsplit("_", 1)[1]
        layers = tuple(int(v) for v in block.split("-")) if "-" in block else (math.inf, math.inf)
        return (name.startswith("rms_ratio"), *layers)
    rms = sorted((n for n in names if n.startswith("rms_")), key=pair_key)
    rest = [n for n in names if n not in rms + list(ENERGY) + fixed_end]
    return rest + rms + list(ENERGY) + fixed_end


def write_summary(directory: str | Path) -> list[dict[str, Any]]:
    """Write ``summary.csv`` and ``summary.h5`` for the sweep in ``directory``; returns the rows."""
    directory = Path(directory)
    rows = summarise(directory)
    names = columns(rows)
    table = {name: [row.get(name) for row in rows] for name in names}
    partial = directory / "summary.csv.partial"
    with open(partial, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row.get(n) is None else row.get(n) for n in names])
    partial.replace(directory / "summary.csv")
    partial = directory / "summary.h5.partial"
    with h5py.File(partial, "w") as f:
        f.attrs["description"] = "one row per sweep point; columns documented in docs/sweep.md"
        f.attrs["columns"] = names
        for name, values in table.items():
            numeric = all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values)
            if numeric:
                f.create_dataset(name, data=np.array([math.nan if v is None else v for v in values], dtype=float))
            else:
                f.create_dataset(name, data=np.array(["" if v is None else str(v) for v in values], dtype=object),
                                 dtype=h5py.string_dtype())
    partial.replace(directory / "summary.h5")
    return rows

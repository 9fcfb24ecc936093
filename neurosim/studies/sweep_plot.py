"""Plot of a sweep directory: an error against one swept parameter, one line per combination of the others.

Seeds are not a line of their own: points differing only in ``seed`` are averaged, with
their minimum–maximum as a band. A parameter whose values are not numbers (a list of layer
sizes, a topology kind) is placed at evenly spaced positions labelled with its values.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurosim.errors import NeurosimError  # noqa: E402
from neurosim.analysis.plots import save  # noqa: E402
from neurosim.studies.sweep import read_manifest  # noqa: E402
from neurosim.studies.sweep_summary import summarise  # noqa: E402


def _label(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def plot_sweep(directory: str | Path, out: str | Path, x: str | None = None, metric: str = "test_error") -> Path:
    """Draw ``metric`` (``test_error`` or ``train_error``, in %) of every complete point against
    the swept key ``x`` (default: the first swept key other than ``seed`` with several values);
    writes ``out`` (.png or .pdf) and returns its path."""
    directory = Path(directory)
    grid = read_manifest(directory)["grid"]
    keys = [k for k in grid if k != "seed"]
    if x is None:
        varying = [k for k in keys if len(grid[k]) > 1]
        x = varying[0] if varying else (keys[0] if keys else "seed")
    if x not in grid:
        raise NeurosimError(f"{directory}: '{x}' is not a swept key (swept: {', '.join(grid)})")
    others = [k for k in keys if k != x]
    rows = [row for row in summarise(directory) if row["status"] == "complete"]
    if not rows:
        raise NeurosimError(f"{directory}: no complete point to plot")
    x_values = grid[x]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in x_values)
    position = {_label(v): (v if numeric else i) for i, v in enumerate(x_values)}

    lines: dict[tuple, dict[float, list[float]]] = {}
    for row in rows:
        line = tuple(_label(row[k]) for k in others)
        lines.setdefault(line, {}).setdefault(position[_label(row[x])], []).append(100 * row[metric])

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for line, by_x in lines.items():
        xs = sorted(by_x)
        values = [by_x[v] for v in xs]
        label = ", ".join(f"{k}={v}" for k, v in zip(others, line)) or None
        drawn = ax.plot(xs, [np.mean(v) for v in values], marker="o", label=label)
        if any(len(v) > 1 for v in values):
            ax.fill_between(xs, [min(v) for v in values], [max(v) for v in values],
                            color=drawn[0].get_color(), alpha=0.2, linewidth=0)
    if not numeric:
        ax.set_xticks(range(len(x_values)), [_label(v) for v in x_values])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    seeds = len(grid.get("seed", [None]))
    ax.set_title(f"{directory.name}" + (f" (mean of {seeds} seeds, band: min–max)" if seeds > 1 else ""))
    if others:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return save(fig, out)

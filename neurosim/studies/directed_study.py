"""Seeded repetitions of directed scenarios: the summary table and the paper's Figures 1–2.

For every scenario file, ``seeds`` models are trained with seeds seed, seed + 1, ...
(independent initialisations, β signs and removals). Per scenario the table gives the
models whose MSE fell below ``directed.converged_mse``, the median number of epochs they
took, and the final sparsity (median and maximum). Figure 1: the MSE against epoch,
median with q25–q75 and min–max bands. Figure 2: the graph of the sparsest model that
converged, edge opacity proportional to |W|.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurosim.config.scenario import Scenario  # noqa: E402
from neurosim.training.loop import TrainingRun, train  # noqa: E402


def mse_curve(run: TrainingRun) -> np.ndarray:
    """The free-phase MSE after every epoch."""
    return np.array([epoch.mse for epoch in run.epochs])


def converged_epoch(run: TrainingRun) -> int | None:
    """Number of epochs after which the MSE first fell below ``directed.converged_mse``."""
    below = np.flatnonzero(mse_curve(run) < run.scenario.directed.converged_mse)
    return int(below[0]) + 1 if len(below) else None


@dataclass
class ScenarioResult:
    """The runs of one scenario, one per seed."""

    label: str
    scenario: Scenario
    runs: list[TrainingRun]

    @property
    def mse(self) -> np.ndarray:
        """Seeds × epochs."""
        return np.array([mse_curve(run) for run in self.runs])

    def summary(self) -> dict:
        converged = [e for e in map(converged_epoch, self.runs) if e is not None]
        sparsity = np.array([r.epochs[-1].sparsity for r in self.runs])
        return {
            "scenario": self.label,
            "task": self.scenario.directed.task,
            "rule": self.scenario.dynamics.kind + (" + sparsity" if self.scenario.directed.sparsity else ""),
            "models": len(self.runs),
            "converged": len(converged),
            "median_epochs": float(np.median(converged)) if converged else None,
            "final_mse_median": float(np.median(self.mse[:, -1])),
            "sparsity_median": float(np.median(sparsity)),
            "sparsity_max": float(sparsity.max()),
            "stable_fraction_median": float(np.median([r.epochs[-1].stable_fraction for r in self.runs])),
        }


def run_scenario(label: str, scenario: Scenario, seeds: int, on_model=None) -> ScenarioResult:
    """Train ``seeds`` models of ``scenario`` (seeds scenario.seed + k)."""
    runs = []
    for k in range(seeds):
        runs.append(train(scenario.model_copy(update={"seed": scenario.seed + k})))
        if on_model is not None:
            on_model(label, k, runs[-1])
    return ScenarioResult(label, scenario, runs)


def table(results: list[ScenarioResult]) -> str:
    """Markdown table: per scenario, converged models, median epochs, sparsity."""
    lines = ["| scenario | task | rule | MSE ≈ 0 | median epochs to converge | final MSE (median) "
             "| sparsity median / max | Prop. 2 fraction (median) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.summary()
        epochs = "—" if s["median_epochs"] is None else f"{s['median_epochs']:.0f}"
        lines.append(f"| {s['scenario']} | {s['task'].upper()} | {s['rule']} | {s['converged']}/{s['models']} "
                     f"| {epochs} | {s['final_mse_median']:.2e} | {100 * s['sparsity_median']:.2f} % / "
                     f"{100 * s['sparsity_max']:.2f} % | {s['stable_fraction_median']:.2f} |")
    return "\n".join(lines) + "\n"


def plot_mse(results: list[ScenarioResult], path: Path) -> None:
    """Figure 1: MSE against epoch per scenario, median with q25–q75 and min–max bands."""
    columns = min(3, len(results))
    rows = -(-len(results) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, result in zip(axes.flat, results):
        mse = result.mse
        epochs = np.arange(1, mse.shape[1] + 1)
        ax.fill_between(epochs, mse.min(0), mse.max(0), alpha=0.2, color="tab:blue", label="min–max")
        ax.fill_between(epochs, *np.percentile(mse, [25, 75], axis=0), alpha=0.4, color="tab:blue", label="q25–q75")
        ax.plot(epochs, np.median(mse, 0), color="tab:blue", label="median")
        ax.set_title(result.label, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE (free phase)")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_graph(run: TrainingRun, path: Path, title: str) -> None:
    """Figure 2: neurons on a circle (inputs, hidden, output; b the bias neuron), live edges
    drawn as arrows i → j with opacity |W_ij| / max |W|."""
    graph, bank = run.model.graph, run.model.synapses
    n = graph.n
    angles = np.pi / 2 - 2 * np.pi * np.arange(n + 1) / (n + 1)
    pos = np.c_[np.cos(angles), np.sin(angles)]
    magnitude = np.abs(bank.weights) * bank.alive
    top = magnitude.max() or 1.0
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for i, j in zip(*np.nonzero(bank.alive)):
        ax.annotate("", xy=pos[j], xytext=pos[i],
                    arrowprops=dict(arrowstyle="-|>", lw=1.5, shrinkA=11, shrinkB=11, connectionstyle="arc3,rad=0.12",
                                    color="tab:red" if bank.weights[i, j] < 0 else "black",
                                    alpha=float(max(magnitude[i, j] / top, 0.03))))
    colours = ["tab:green"] * graph.n_inputs + ["tab:blue"] * graph.n_hidden + ["tab:orange"] * graph.n_outputs + ["grey"]
    ax.scatter(pos[:, 0], pos[:, 1], s=420, c=colours, zorder=3)
    for k, (px, py) in enumerate(pos):
        ax.text(px, py, "b" if k == n else str(k), ha="center", va="center", color="white", zorder=4)
    ax.set_title(f"{title}\n{100 * bank.sparsity():.2f} % sparse (black +, red −)", fontsize=9)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_study(results: list[ScenarioResult], out: Path) -> list[Path]:
    """table.md, summary.json, mse.png and one graph-<scenario>.png per sparsity scenario."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "table.md", out / "summary.json", out / "mse.png"]
    written[0].write_text(table(results))
    written[1].write_text(json.dumps([r.summary() for r in results], indent=2) + "\n")
    plot_mse(results, written[2])
    for result in results:
        converged = [r for r in result.runs if converged_epoch(r) is not None]
        if not result.scenario.directed.sparsity or not converged:
            continue
        best = max(converged, key=lambda r: r.model.synapses.sparsity())
        path = out / f"graph-{result.label}.png"
        plot_graph(best, path, f"{result.label} (seed {best.scenario.seed})")
        written.append(path)
    return written

"""Figures from run files: the paper's Figures 3–5 and device-state traces.

Every function takes :class:`~neurosim.runfile.read.Run` objects and returns a matplotlib
figure (Agg backend, sized for a printed page); :func:`save` writes PNG or PDF.

- :func:`errors` — training (solid) and test (dashed) error against epoch (Figure 3).
- :func:`rates` — RMS correction per layer pair against batch, 11-point centred moving
  average, log scale, one panel per run (Figure 4).
- :func:`p_sweep` — error after the first epoch and mean RMS correction per layer pair
  against the rewired fraction p (Figure 5); runs of one p (seeds) as their mean with a
  95 % interval.
- :func:`trace` — neuron states through the free and weakly-clamped phases, phases
  shaded; histogram of every layer pair's weights over the recorded epochs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from neurosim.analysis.statistics import t_interval  # noqa: E402
from neurosim.errors import NeurosimError  # noqa: E402
from neurosim.runfile.read import Run, SelectionError, Trace, held  # noqa: E402
from neurosim.config.scenario import parse_pair  # noqa: E402
from neurosim.models.topology import fraction_for, layered_with_intralayer_count  # noqa: E402

KINDS = ("errors", "rates", "p-sweep", "trace")
STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
         "xtick.labelsize": 8, "ytick.labelsize": 8, "figure.dpi": 150, "savefig.bbox": "tight"}
RMS_LABEL = "RMS correction α·ΔW (weight units per batch)"
PHASE_COLOURS = {"free": "#dbe9f6", "weakly-clamped": "#fde3c8", "weakly-clamped-negative": "#e6dcf2",
                 "forward": "#dbe9f6", "backward": "#fde3c8"}
PAIRS = ("adjacent", "all")
"""The ``pairs`` selections: the paper's adjacent layer pairs, or every block."""


class PlotError(NeurosimError):
    """Runs that cannot make the requested figure (missing metric or trace, wrong kind of run,
    a selection the run file does not hold)."""


def _option(option: str, value, exc: SelectionError) -> PlotError:
    """A selection the run file does not hold, as the command-line option that asked for it."""
    return PlotError(f"{option} {value}: {exc}")


def labels(runs: list[Run]) -> list[str]:
    """Legend name of each run: its scenario name, with the file name where names repeat."""
    names = [r.name for r in runs]
    return [f"{n} ({r.path.name})" if names.count(n) > 1 else n for n, r in zip(names, runs)]


def moving_average(values: np.ndarray, window: int = 11) -> np.ndarray:
    """Centred moving average along axis 0; near the ends, the mean of the points the window covers."""
    values = np.asarray(values, dtype=np.float64)
    kernel = np.ones(window)
    half = window // 2
    ones = np.convolve(np.ones(len(values)), kernel)[half:half + len(values)]
    out = np.empty_like(values)
    for k in range(values.shape[1] if values.ndim > 1 else 1):
        column = values[:, k] if values.ndim > 1 else values
        smooth = np.convolve(column, kernel)[half:half + len(values)] / ones
        if values.ndim > 1:
            out[:, k] = smooth
        else:
            out[:] = smooth
    return out


def _is_pair(name: str) -> bool:
    try:
        parse_pair(name)
    except ValueError:
        return False
    return True


def adjacent_pairs(names: list[str]) -> list[str]:
    """Pairs joining consecutive layers (``a-(a+1)``), the paper's "layers" in Figures 4 and 5.
    A block that is no layer pair (a directed graph's ``W``, the whole graph) is kept."""
    return [n for n in names if not _is_pair(n) or parse_pair(n)[1] == parse_pair(n)[0] + 1]


def _pairs(run: Run, which: str) -> list[str]:
    if which not in PAIRS:
        raise PlotError(f"--pairs {which!r}: use {' or '.join(PAIRS)}")
    names = adjacent_pairs(run.layer_pairs) if which == "adjacent" else list(run.layer_pairs)
    if not names:
        raise PlotError(f"{run.path}: --pairs {which}: the run file names no synapse block "
                        f"(layer pairs held: {held(run.layer_pairs)})")
    return names


def _need(run: Run, table: dict, name: str, where: str) -> np.ndarray:
    if name not in table or len(table[name]) == 0:
        raise PlotError(f"{run.path}: no {where} metric {name!r} (no completed epoch?)")
    return table[name]


def errors(runs: list[Run]) -> plt.Figure:
    """Training error (solid) and test error (dashed) against epoch, in %, one colour per run."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        for k, (run, label) in enumerate(zip(runs, labels(runs))):
            train = _need(run, run.epoch, "train_error", "epoch")
            test = _need(run, run.epoch, "test_error", "epoch")
            epochs = np.arange(1, len(train) + 1)
            marker = "o" if len(epochs) < 3 else None
            ax.plot(epochs, 100 * train, color=f"C{k}", marker=marker, label=f"{label} — train")
            ax.plot(epochs, 100 * test, color=f"C{k}", ls="--", marker=marker, mfc="white",
                    label=f"{label} — test")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("error (%)")
        ax.set_title("Training (solid) and test (dashed) error")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
    return fig


def pair_colours(count: int) -> list:
    """One colour per layer pair: the default cycle for up to 10 pairs, evenly spaced viridis
    colours (input side dark, output side light) beyond, so that no two pairs share one."""
    if count <= 10:
        return [f"C{k}" for k in range(count)]
    return list(plt.get_cmap("viridis")(np.linspace(0, 0.9, count)))


def rates(runs: list[Run], pairs: str = "adjacent", window: int = 11) -> plt.Figure:
    """RMS correction per layer pair against training batch, centred moving average, log y; a panel per run."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise PlotError(f"window {window!r}: give a whole number of batches ≥ 1")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs) + 0.6, 3.2), sharey=True, squeeze=False)
        for ax, run, label in zip(axes[0], runs, labels(runs)):
            rms = _need(run, run.batch, "rms_correction", "batch")
            names = _pairs(run, pairs)
            for name, color in zip(names, pair_colours(len(names))):
                column = run.layer_pairs.index(name)
                smooth = moving_average(rms[:, column], window)
                ax.plot(np.arange(1, len(rms) + 1), smooth, color=color, label=f"layers {name}")
            ax.set_yscale("log")
            ax.set_xlabel("training batch")
            ax.set_title(label)
            ax.grid(alpha=0.3, which="both")
            ax.legend()
        axes[0, 0].set_ylabel(f"{RMS_LABEL}\n{window}-point centred moving average")
        fig.tight_layout()
    return fig


def rewired_fraction(run: Run) -> float:
    """The run's p: from ``topology.p``, or from ``topology.n`` by p = 1 − (1 − 1/N_o)^n."""
    topology = run.config.get("topology", {})
    if not str(topology.get("kind", "")).startswith("layer_skipping"):
        raise PlotError(f"{run.path}: p-sweep needs layer-skipping runs; this one is {topology.get('kind')!r}")
    if topology.get("p") is not None:
        return float(topology["p"])
    return fraction_for(int(topology["n"]), layered_with_intralayer_count(topology["sizes"]))


def _spread(ax, x: np.ndarray, samples: list[list[float]], color: str, style: str, label: str) -> None:
    """Every run as a faint dot, the mean over the runs at each x as the line, and the 95 %
    t interval of the mean as error bars where there are two runs or more."""
    intervals = [t_interval(v) for v in samples]
    mean = np.array([iv.mean for iv in intervals])
    low = np.array([iv.mean - iv.low if iv.n > 1 else 0.0 for iv in intervals])
    high = np.array([iv.high - iv.mean if iv.n > 1 else 0.0 for iv in intervals])
    ax.errorbar(x, mean, yerr=[low, high], fmt="o" + style, color=color, capsize=3,
                mfc="white" if style == "--" else None, label=label)
    for xi, values in zip(x, samples):
        ax.plot([xi] * len(values), values, ".", color=color, alpha=0.35, ms=4)


def p_sweep(runs: list[Run], pairs: str = "adjacent") -> plt.Figure:
    """Error after the first epoch (top) and mean RMS correction per layer pair in that epoch
    (bottom) against p. Runs of the same p (seeds) are drawn as faint dots, their mean as
    the line, with its 95 % Student-t interval as error bars (:func:`_spread`)."""
    groups: dict[float, list[Run]] = {}
    for run in runs:
        groups.setdefault(rewired_fraction(run), []).append(run)
    ps = sorted(groups)
    p = 100 * np.array(ps)
    names = _pairs(groups[ps[0]][0], pairs)
    seeds = sorted({len(g) for g in groups.values()})
    per_p = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.0, 5.4), sharex=True)
        for metric, style, label in (("train_error", "-", "training error"), ("test_error", "--", "test error")):
            samples = [[100 * _need(r, r.epoch, metric, "epoch")[0] for r in groups[q]] for q in ps]
            _spread(top, p, samples, "C0", style, label)
        top.set_ylabel("error after epoch 1 (%)")
        top.legend()
        for k, name in enumerate(names):
            samples = []
            for q in ps:
                values = []
                for r in groups[q]:
                    rms, epoch = _need(r, r.batch, "rms_correction", "batch"), r.batch["epoch"]
                    if name in r.layer_pairs:
                        values.append(rms[epoch == 0, r.layer_pairs.index(name)].mean())
                samples.append(values or [np.nan])
            _spread(bottom, p, samples, f"C{k}", "-", f"layers {name}")
        bottom.set_yscale("log")
        bottom.set_ylabel("mean RMS correction in epoch 1\n(weight units per batch)")
        bottom.set_xlabel("rewired fraction p (%)")
        bottom.legend(ncol=2)
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.grid(alpha=0.3, which="both")
        runs_text = "one run per p" if per_p == "1" else f"{per_p} seeds per p: mean, 95 % CI, each run"
        top.set_title(f"Layer-skipping network against p (first epoch)\n{runs_text}", fontsize=9)
        fig.tight_layout()
    return fig


def trace(run: Run, neurons: list[tuple[int, int]] | None = None, epoch: int | None = None,
          sample: int = 0, pairs: str = "adjacent", batch: int | None = None) -> plt.Figure:
    """Top: state of chosen neurons (layer, index) through one traced batch (``epoch`` and
    ``batch``, default the first traced), its phases shaded (needs a ``state``/``step``
    trace; else the phase-end states per epoch, where ``epoch`` and ``batch`` do not apply).
    Bottom: histogram of each layer pair's weights at every recorded epoch (``weights``/``epoch``).

    Every selection is checked against the run file before anything is drawn: a neuron,
    epoch, batch, sample or pair selection it does not hold raises :class:`PlotError`
    naming the option, the value and what the file holds."""
    layers = range(1, len(run.layer_sizes))
    neurons = neurons or [(layer, 0) for layer in layers]
    for layer, index in neurons:
        if layer not in layers:
            raise PlotError(f"--neuron {layer}:{index}: no layer {layer} (non-input layers {held(layers)}, "
                            f"sizes {run.layer_sizes[1:]})")
        if not 0 <= index < run.layer_sizes[layer]:
            raise PlotError(f"--neuron {layer}:{index}: layer {layer} has neurons 0–{run.layer_sizes[layer] - 1}")
    if pairs not in PAIRS:
        raise PlotError(f"--pairs {pairs!r}: use {' or '.join(PAIRS)}")
    if ("weights", "epoch") in run.traces:
        weights = run.trace("weights", "epoch")
        names = [name for name in _pairs(run, pairs) if name in weights.values]
        if not names:
            raise PlotError(f"--pairs {pairs}: the weights/epoch trace of {run.path} holds no such block "
                            f"(it holds {held(list(weights.values))})")
    else:
        weights, names = None, []
    t, events = _state_selection(run, neurons, epoch, batch, sample)
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(max(6.5, 2.2 * len(names)), 5.6 if names else 3.0))
        grid = fig.add_gridspec(2 if names else 1, max(1, len(names)))
        _trajectories(fig.add_subplot(grid[0, :]), run, t, events, neurons, sample)
        for k, name in enumerate(names):
            _weight_histograms(fig.add_subplot(grid[1, k]), weights, name, first=k == 0)
        fig.tight_layout()
    return fig


def _state_selection(run: Run, neurons, epoch: int | None, batch: int | None, sample: int) -> tuple[Trace, np.ndarray]:
    """The state trace to draw and the events of the selected batch (a step trace) or every
    event (phase-end states); refuses a selection the trace does not hold."""
    if ("state", "step") in run.traces:
        t = run.trace("state", "step")
        if len(t.epoch) == 0:
            raise PlotError(f"{run.path}: the state/step trace holds no event yet")
        epochs = len(run.epoch.get("train_error", []))
        try:
            chosen = t.events(epoch=int(t.epoch[0]) if epoch is None else epoch)
        except SelectionError as exc:
            raise PlotError(f"--epoch {epoch}: {exc}; the run has {epochs} completed epoch(s), "
                            f"numbered from 0") from None
        try:
            chosen = t.events(epoch=int(t.epoch[chosen[0]]), batch=int(t.batch[chosen[0]]) if batch is None else batch)
        except SelectionError as exc:
            raise _option("--batch", batch, exc) from None
    elif ("state", "phase_end") in run.traces:
        t = run.trace("state", "phase_end")
        for option, value in (("--epoch", epoch), ("--batch", batch)):
            if value is not None:
                raise PlotError(f"{option} {value}: {run.path} traces the state at phase ends only, drawn over "
                                f"every epoch; {option} selects a batch of a state/step trace (record bank "
                                f"'state' at cadence 'step')")
        chosen = np.arange(len(t.epoch))
        if len(chosen) == 0:
            raise PlotError(f"{run.path}: the state/phase_end trace holds no event yet")
    else:
        raise PlotError(f"{run.path}: no state trace (record bank 'state' at cadence 'step' or 'phase_end')")
    try:
        t.sample_row(sample)
    except SelectionError as exc:
        raise _option("--sample", sample, exc) from None
    for layer, index in neurons:
        try:
            t.column(layer, index)
        except SelectionError as exc:
            raise _option("--neuron", f"{layer}:{index}", exc) from None
    return t, chosen


def _trajectories(ax, run: Run, t: Trace, events: np.ndarray, neurons, sample: int) -> None:
    row, columns = t.sample_row(sample), [t.column(layer, index) for layer, index in neurons]
    if t.cadence == "step":
        x = np.arange(len(events))
        phases = list(dict.fromkeys(t.phase[events].tolist()))
        for k, phase in enumerate(phases):
            steps = x[t.phase[events] == phase]
            ax.axvspan(steps[0] - 0.5, steps[-1] + 0.5, color=PHASE_COLOURS.get(phase, f"C{k}"), lw=0,
                       alpha=1.0 if phase in PHASE_COLOURS else 0.15, label=f"{phase} phase")
        for k, (column, (layer, index)) in enumerate(zip(columns, neurons)):
            ax.plot(x, t.values[events, row, column], color=f"C{k}", label=f"neuron {index} of layer {layer}")
        ax.set_xlabel(f"integration step ({', then '.join(f'{p} phase' for p in phases)})")
        epoch, batch = int(t.epoch[events[0]]), int(t.batch[events[0]])
        ax.set_title(f"{run.name}: epoch index {epoch}, batch {batch}, example {sample} of the batch")
    else:
        phases = list(dict.fromkeys(t.phase[events].tolist()))
        for k, (column, (layer, index)) in enumerate(zip(columns, neurons)):
            for phase, marker in zip(phases, ("o-", "x--", "s:", "d-.")):
                chosen = events[t.phase[events] == phase]
                ax.plot(t.epoch[chosen] + 1, t.values[chosen, row, column], marker, color=f"C{k}",
                        label=f"neuron {index} of layer {layer}, end of {phase} phase")
        ax.set_xlabel("epoch (first traced batch of each)")
        ax.set_title(f"{run.name}: phase-end states (record cadence 'step' for trajectories)")
    ax.set_ylabel("neuron state s (dimensionless)")
    ax.legend(ncol=2, loc="best")
    ax.grid(alpha=0.3)


def _weight_histograms(ax, t: Trace, name: str, first: bool) -> None:
    block, mask = t.values[name], t.connectivity[name]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(t.epoch)))
    existing = slice(None) if mask is None else mask
    edges = np.histogram_bin_edges(np.concatenate([w[existing].ravel() for w in block]), bins=60)
    for w, e, colour in zip(block, t.epoch, colours):
        ax.hist(w[existing].ravel(), bins=edges, histtype="step", color=colour,
                label="initial" if e < 0 else f"after epoch {e + 1}")
    ax.set_xlabel(f"weight, layers {name} (dimensionless)")
    if first:
        ax.set_ylabel("connections")
    if len(t.epoch) <= 6:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def save(fig: plt.Figure, out: str | Path) -> Path:
    """Write ``fig`` as PNG or PDF (by the file's extension)."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf"):
        raise PlotError(f"{out}: output must end in .png or .pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out

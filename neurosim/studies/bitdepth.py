"""Bit-depth tolerance: train one scenario at a set of bit depths of one signal, over seeds, against float.

For every rounding mode r and bit depth b, the chosen signal's quantisation points are set
to b bits with rounding r (``device_overrides``, the other points as the scenario's devices
say) and the network is trained at seeds s, s+1, …, s+N−1 (s the scenario's seed); the
**float reference** (every point ideal) is trained at the same seeds. The runs are points
of the sweep engine (:func:`neurosim.studies.sweep.run_sweep`: local processes or a Dask
cluster, one run file each, resumable: re-running the command runs only what is missing).
This is the device-tolerance study of :mod:`neurosim.studies.tolerance` with one series per
rounding mode, and its statistics:

- per setting, the mean final test error over the seeds with its 95 % Student-t interval,
  and the **paired** difference from float (seed by seed: same initial weights, data order)
  with its own interval;
- a setting is *within* when the upper end of the difference's interval is at most the
  margin, *beyond* when the lower end is above it, *undecided* otherwise (one seed: the
  difference itself decides);
- the **lowest bit depth within** per rounding mode: the smallest b such that b and every
  larger depth tested are *within* (a lucky low depth below a failing one does not count);
- per layer pair, the **fraction of updates lost**: of the connections with ΔW ≠ 0 in the
  last epoch's batches, how many kept their stored weight (α·ΔW fell below the weight
  resolution), the mean over the seeds.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurosim.config.scenario import scenario_from_dict
from neurosim.devices.quantize import ROUNDING
from neurosim.errors import ConfigError
from neurosim.runfile.read import Run
from neurosim.studies import tolerance
from neurosim.studies.grid import Axis, Point
from neurosim.studies.sweep import Manifest
from neurosim.analysis.statistics import CONFIDENCE, Interval
from neurosim.studies.tolerance import (REFERENCE, WITHIN, format_interval, format_number, format_percent,
                                       format_points, markdown_table)

SIGNALS = {
    "weights": ["synapse.weight", "synapse.update"],
    "biases": ["neuron.bias", "neuron.bias_update"],
    "activations": ["synapse.activation"],
    "currents": ["neuron.current"],
    "states": ["neuron.state"],
    "memory": ["neuron.memory"],
    "errors": ["neuron.error"],
}
SIGNALS["all"] = [point for points in SIGNALS.values() for point in points]
"""Signal name → the quantisation points it sets (stored value and its update together)."""


def overrides(signal: str, bits: int, rounding: str) -> dict[str, Any]:
    """The scenario keys that put ``signal``'s points at ``bits`` with ``rounding``."""
    keys = {}
    for point in SIGNALS[signal]:
        keys[f"device_overrides.{point}.bits"] = bits
        keys[f"device_overrides.{point}.rounding"] = rounding
    return keys


@dataclass
class Study:
    """Every run of a bit-depth study, validated: the float reference's and each (rounding,
    bits) setting's, at every seed."""

    signal: str
    bits: tuple[int, ...]
    roundings: tuple[str, ...]
    plans: dict[str, tolerance.Plan]
    """Per rounding mode, the tolerance study of the bit depth (all share the float reference's runs)."""
    points: list[Point]
    """The distinct runs (the float reference's first), as the sweep engine takes them."""
    axes: list[Axis]
    """The grid recorded in the sweep's manifest: rounding, bits, seeds."""

    @property
    def seeds(self) -> tuple[int, ...]:
        return next(iter(self.plans.values())).seeds

    @property
    def name(self) -> str:
        return next(iter(self.plans.values())).name

    @property
    def epochs(self) -> int:
        return next(iter(self.plans.values())).epochs


def _check_options(signal: str, bits: list[int], roundings: list[str], datapath: str) -> None:
    if signal not in SIGNALS:
        raise ConfigError(None, "--signal", f"unknown signal {signal!r}; use one of {', '.join(SIGNALS)}")
    if signal == "errors" and datapath != "bp":
        raise ConfigError(None, "--signal", f"errors varies the backprop error cell δ, which the '{datapath}' "
                          f"datapath does not have: set datapath: bp")
    if not roundings:
        raise ConfigError(None, "--rounding", f"no rounding mode given; use {', '.join(ROUNDING)}")
    for rounding in roundings:
        if rounding not in ROUNDING:
            raise ConfigError(None, "--rounding", f"unknown rounding {rounding!r}; use {', '.join(ROUNDING)}")
    if len(set(roundings)) < len(roundings):
        raise ConfigError(None, "--rounding", f"a rounding mode is listed twice in {','.join(roundings)}")
    if not bits:
        raise ConfigError(None, "--bits", "no bit depth given, e.g. 2,4,6,8")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ConfigError(None, "--bits", f"{b!r} is not a bit depth: give integers ≥ 1, e.g. 2,4,6,8")
    if len(set(bits)) < len(bits):
        raise ConfigError(None, "--bits", f"a bit depth is listed twice in {','.join(map(str, bits))}")


def plan(file: str | Path, content: dict, signal: str, bits: list[int], roundings: list[str], seeds: int = 3,
         max_batches: int | None = None) -> Study:
    """Every run of the study, each scenario validated and its model and controller built
    against its data, so that a bad bit depth, rounding or signal is refused before anything
    trains. ``content``: the scenario file's mapping (:func:`tolerance.read_scenario`). Errors
    name the command-line option (``--bits``, ``--rounding``, ``--signal``, ``--seeds``,
    ``--max-batches``) and the value."""
    base = scenario_from_dict(copy.deepcopy(content), str(file), Path(file).parent)
    _check_options(signal, bits, roundings, getattr(base, "datapath", "ep"))
    bits = [int(b) for b in bits]
    plans, params = {}, {}
    for rounding in roundings:
        one = tolerance.plan(file, content, f"{signal}.{rounding}.bits", bits, seeds, "ideal", max_batches,
                             changes=lambda b, r=rounding: overrides(signal, b, r), option="--bits",
                             describe=lambda b, r=rounding: f"{b} bits of {signal} ({r} rounding)",
                             reference_option=None)
        plans[rounding] = one
        for name, seed in zip(one.reference_runs, one.seeds):
            params[name] = {"rounding": "float", "bits": "float", "seed": seed}
        for b, names in zip(one.values, one.runs):
            params.update({name: {"rounding": rounding, "bits": b, "seed": seed} for name, seed in zip(names, one.seeds)})
    # the sweep's grid is rounding x bits x seed (the float reference's runs, shared by every plan, once)
    scenarios = {point.name: point.scenario for one in plans.values() for point in one.points}
    points = [Point(params[name], name, scenario) for name, scenario in scenarios.items()]
    seed_axis = next(iter(plans.values())).axes[-1]
    axes = [Axis("rounding", ("float", *roundings), "--rounding"), Axis("bits", ("float", *bits), "--bits"), seed_axis]
    return Study(signal, tuple(bits), tuple(roundings), plans, points, axes)


# --------------------------------------------------------------------------- results


@dataclass
class Setting:
    """One row of the study: a rounding mode and bit depth (``bits`` None: the float reference) over the seeds."""

    rounding: str
    bits: int | None
    row: tolerance.Row
    """Test errors per seed, their interval, the paired difference from float and the verdict."""
    lost_fraction: np.ndarray
    """Per layer pair: mean over seeds (and the last epoch's batches) of the fraction of
    nonzero ΔW whose stored weight did not change (NaN: ideal weights or no update)."""


@dataclass
class Result:
    study: Study
    margin: float
    settings: list[Setting]
    """The float reference first, then each rounding mode's depths in increasing order."""
    pairs: list[str]
    """Layer pairs of ``lost_fraction``'s columns (``all`` for a directed graph)."""

    @property
    def reference(self) -> Setting:
        return self.settings[0]

    def series(self, rounding: str) -> list[Setting]:
        return [s for s in self.settings if s.rounding == rounding and s.bits is not None]

    def lowest_within(self, rounding: str) -> int | None:
        """Smallest bit depth of ``rounding`` that is *within*, with every larger depth tested
        within too (:func:`tolerance.tolerable_range` anchored at the largest depth)."""
        rows = self.series(rounding)
        if not rows:
            return None
        limits = tolerance.tolerable_range([s.bits for s in rows], [s.row.verdict == WITHIN for s in rows],
                                           anchor=rows[-1].bits)
        return None if limits is None else int(limits[0])


def lost_fraction(path: Path) -> tuple[np.ndarray, list[str]]:
    """One run file's fraction of updates lost per layer pair over its last epoch, and the pair names.

    A layered run records it per batch (``/metrics/batch/lost_fraction``), a directed graph
    per epoch (one column, ``all``); a run with ideal weights has none (an empty array)."""
    run = Run(path)
    per_batch = run.lost_fraction
    if per_batch is not None:
        per_epoch = len(per_batch) // max(run.epochs_completed, 1)
        with warnings.catch_warnings():  # a pair that never had an update stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(per_batch[-per_epoch:], axis=0), list(run.layer_pairs)
    per_epoch = run.epoch.get("lost_fraction")
    if per_epoch is not None and len(per_epoch):
        return np.atleast_1d(per_epoch[-1]).astype(float), ["all"]
    return np.empty(0), []


def results(study: Study, directory: str | Path, margin: float) -> Result:
    """The study's settings from the sweep directory's run files."""
    directory = Path(directory)
    fractions: dict[str, tuple[np.ndarray, list[str]]] = {}
    for point in study.points:
        path = directory / f"{point.name}.h5"
        if path.is_file():
            fractions[point.name] = lost_fraction(path)
    pairs = max((names for _, names in fractions.values()), key=len, default=[])

    def mean_lost(names: list[str]) -> np.ndarray:
        rows = [fractions[n][0] for n in names if n in fractions and len(fractions[n][0]) == len(pairs)]
        if not rows:
            return np.full(len(pairs), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(rows, axis=0)

    settings = []
    for rounding, one in study.plans.items():
        found = tolerance.results(one, directory, margin)
        if not settings:
            settings.append(Setting("float", None, found.reference, mean_lost(one.reference_runs)))
        by_value = dict(zip(one.values, one.runs))
        settings += [Setting(rounding, row.value, row, mean_lost(by_value[row.value])) for row in found.rows[1:]]
    return Result(study, margin, settings, pairs)


# --------------------------------------------------------------------------- tables and plot


def verdict_lines(result: Result) -> list[str]:
    """One line per rounding mode: the lowest bit depth within the margin, with its test error's interval."""
    lines = []
    for rounding in result.study.roundings:
        best = result.lowest_within(rounding)
        if best is None:
            largest = result.series(rounding)[-1]
            lines.append(f"Lowest bit depth within {100 * result.margin:g} points of float ({rounding}): "
                         f"none (the largest depth tested, {largest.bits} bits, is {largest.row.verdict}).  ")
            continue
        row = next(s.row for s in result.series(rounding) if s.bits == best)
        interval = "" if math.isnan(row.test.low) else (
            f": test error {format_percent(row.test.mean)} ({100 * CONFIDENCE:g} % CI "
            f"{format_interval(row.test, format_percent)}), Δ {format_points(row.difference.mean)} points "
            f"(CI {format_interval(row.difference, format_points)})")
        lines.append(f"Lowest bit depth within {100 * result.margin:g} points of float ({rounding}): "
                     f"**{best} bits**{interval}.  ")
    return lines


def write_tables(result: Result, out: Path) -> str:
    """``bitdepth.csv`` and ``bitdepth.md`` in ``out``; returns the Markdown text."""
    out.mkdir(parents=True, exist_ok=True)
    study = result.study
    seeds = list(study.seeds)
    header = (["signal", "rounding", "bits", "runs", "test_error_mean", "test_error_ci_low", "test_error_ci_high",
               "train_error_mean", "difference_mean", "difference_ci_low", "difference_ci_high", "verdict"]
              + [f"test_error_seed_{s}" for s in seeds] + [f"lost_{p}" for p in result.pairs])
    csv_rows, md_rows = [], []
    for s in result.settings:
        row, diff = s.row, s.row.difference or Interval(math.nan, math.nan, math.nan, 0)
        bits = "float" if s.bits is None else s.bits
        numbers = (row.test.mean, row.test.low, row.test.high, row.train_error, diff.mean, diff.low, diff.high)
        csv_rows.append([study.signal, s.rounding, bits, row.test.n] + [format_number(x) for x in numbers]
                        + ["" if row.verdict == REFERENCE else row.verdict] + [format_number(e) for e in row.test_errors]
                        + [f"{v:.4f}" for v in s.lost_fraction])
        versus_float = (["", "", ""] if s.bits is None else
                        [format_points(diff.mean), format_interval(diff, format_points), row.verdict])
        md_rows.append([s.rounding, str(bits), str(row.test.n), format_percent(row.test.mean),
                        format_interval(row.test, format_percent), format_percent(row.train_error)] + versus_float
                       + ["–" if np.isnan(v) else f"{100 * v:.1f}%" for v in s.lost_fraction])
    tolerance.write_csv(out / "bitdepth.csv", header, csv_rows)
    ci = f"{100 * CONFIDENCE:g} % CI"
    lines = [f"{study.name}: bit depth of `{study.signal}`, {len(seeds)} seed(s) per setting "
             f"({', '.join(map(str, seeds))}), {study.epochs} epoch(s), margin {100 * result.margin:g} points.", ""]
    lines += markdown_table(["rounding", "bits", "runs", "test error", ci, "train error", "Δ from float (points)",
                             f"{ci} of Δ", "verdict"] + [f"updates lost {p}" for p in result.pairs], md_rows)
    lines += [""] + verdict_lines(result)
    missing = [f for s in result.settings for f in s.row.failures]
    if missing:
        lines += ["", "Runs missing from the table:"] + [f"- {m}" for m in missing]
    text = "\n".join(lines) + "\n"
    (out / "bitdepth.md").write_text(text)
    return text


def plot(result: Result, path: Path, title: str | None = None) -> None:
    """Final test error against bit depth, one line per rounding mode with its confidence
    intervals, the float reference and its margin as bands, the lowest depth within marked
    (:func:`tolerance.plot_errors`)."""
    study = result.study
    series, marks = {}, []
    for rounding in study.roundings:
        rows = [s for s in result.series(rounding) if not math.isnan(s.row.test.mean)]
        series[rounding] = [(s.bits, s.row.test) for s in rows]
        best = result.lowest_within(rounding)
        if best is not None:
            marks.append((best, next(s.row.test.mean for s in rows if s.bits == best), f"{best} bits"))
    seeds = len(study.seeds)
    spread = f"mean of {seeds} seeds, {100 * CONFIDENCE:g} % CI" if seeds > 1 else "one seed"
    tolerance.plot_errors(series, result.reference.row.test, result.margin, f"bit depth of {study.signal}",
                          title or f"{study.name}: {study.signal} ({spread})", path, reference_name="float",
                          marks=marks, log_x=False)


# --------------------------------------------------------------------------- the study


def default_directory(file: str | Path) -> Path:
    """``runs/<scenario file name>-bitdepth``."""
    return Path("runs") / f"{Path(file).stem}-bitdepth"


def study(file: str | Path, content: dict, signal: str, bits: list[int], roundings: list[str], seeds: int = 3,
          margin: float = 0.02, out: str | Path | None = None, max_batches: int | None = None,
          workers: int | None = None, progress: bool = True,
          report: Callable[[str], None] = lambda text: None) -> tuple[Result, Manifest]:
    """Plan (validating every setting), run every run not yet complete in ``out`` on the sweep
    engine, and write ``bitdepth.csv``, ``bitdepth.md``, ``bitdepth.png`` and the sweep's summary there."""
    if margin < 0:
        raise ConfigError(None, "--margin", f"{margin}: give a margin ≥ 0")
    the_study = plan(file, content, signal, bits, roundings, seeds, max_batches)
    directory = Path(out) if out is not None else default_directory(file)
    report(f"{the_study.name}: {signal} at {','.join(map(str, the_study.bits))} bits, rounding "
           f"{','.join(the_study.roundings)}, {len(the_study.seeds)} seed(s): {len(the_study.points)} run(s) of "
           f"{the_study.epochs} epoch(s) -> {directory}")
    manifest = tolerance.run_points(directory, file, content, the_study.axes, the_study.points, workers, progress)
    result = results(the_study, directory, margin)
    report("\n" + write_tables(result, directory))
    plot(result, directory / "bitdepth.png")
    report(f"tables and plot: {directory}/bitdepth.{{csv,md,png}}")
    return result, manifest

"""Bit-depth tolerance: train one scenario at a set of bit depths for one signal and compare.

For every rounding mode and bit depth b, the chosen signal's quantisation points are set
to b bits (``device_overrides``, other points as the scenario's devices say) and the
network is trained from the same seed. The float run (every point ideal) is the
reference; the result is the final test error per setting, the fraction of weight
updates lost below the weight resolution per layer pair, and the lowest bit depth whose
error stays within ``margin`` of the reference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.data.datasets import Dataset
from neurosim.devices.quantize import ROUNDING
from neurosim.devices.spec import DeviceSpec
from neurosim.config.scenario import Scenario, scenario_from_dict
from neurosim.errors import ConfigError
from neurosim.observe.observer import Observer
from neurosim.studies.tolerance import Interval, markdown_table, plot_errors, tolerable_range, write_csv
from neurosim.training.loop import TrainingRun, train
from neurosim.training.setup import build_controller

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


@dataclass
class Setting:
    """One trained setting: ``bits`` None is the float reference."""

    rounding: str
    bits: int | None
    test_error: float
    train_error: float
    test_cost: float
    """Mean ‖y − y_target‖² over the test examples (a directed logic task: its MSE)."""
    lost_fraction: np.ndarray
    """Per layer pair: mean over the last epoch's batches of the fraction of nonzero ΔW
    whose stored weight did not change (NaN for ideal weights or no update at all)."""


def variant(scenario: Scenario, signal: str, bits: int | None, rounding: str) -> Scenario:
    """``scenario`` with ``signal``'s points at ``bits`` and ``rounding`` (all ideal when bits is None)."""
    content = scenario.model_dump(mode="json")
    if bits is None:
        content["devices"] = DeviceSpec().model_dump(mode="json")
        return scenario_from_dict(content)
    overrides = {}
    for point in SIGNALS[signal]:
        overrides[f"{point}.bits"] = bits
        overrides[f"{point}.rounding"] = rounding
    content["device_overrides"] = overrides
    return scenario_from_dict(content)


@dataclass(frozen=True)
class Point:
    """One setting of the study, validated: ``bits`` None is the float reference."""

    bits: int | None
    rounding: str
    scenario: Scenario
    """The scenario this setting trains (:func:`variant`)."""

    @property
    def label(self) -> str:
        return "float reference" if self.bits is None else f"{self.bits:>2} bits {self.rounding}"


def plan(scenario: Scenario, dataset: Dataset, signal: str, bits: list[int], roundings: list[str],
         max_batches: int | None = None) -> list[Point]:
    """Every setting of the study (the float reference first, then each rounding × bit
    depth), each scenario validated and its model and controller built against ``dataset``,
    so that a bad bit depth, rounding or signal is refused before anything trains. Errors
    name the command-line option (``--bits``, ``--rounding``, ``--signal``,
    ``--max-batches``) and the value."""
    if signal not in SIGNALS:
        raise ConfigError(None, "--signal", f"unknown signal {signal!r}; use one of {', '.join(SIGNALS)}")
    datapath = getattr(scenario, "datapath", "ep")
    if signal == "errors" and datapath != "bp":
        raise ConfigError(None, "--signal", f"errors varies the backprop error cell δ, which the '{datapath}' "
                          f"datapath does not have: set datapath: bp")
    if not roundings:
        raise ConfigError(None, "--rounding", f"no rounding mode given; use {', '.join(ROUNDING)}")
    for rounding in roundings:
        if rounding not in ROUNDING:
            raise ConfigError(None, "--rounding", f"unknown rounding {rounding!r}; use {', '.join(ROUNDING)}")
    if not bits:
        raise ConfigError(None, "--bits", "no bit depth given, e.g. 2,4,6,8")
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ConfigError(None, "--bits", f"{b!r} is not a bit depth: give integers ≥ 1, e.g. 2,4,6,8")
    if max_batches is not None and max_batches < 1:
        raise ConfigError(None, "--max-batches", f"{max_batches} batches: give at least 1")
    points = []
    for b, rounding in [(None, "float")] + [(int(b), r) for r in roundings for b in bits]:
        option = "--signal" if b is None else "--bits"
        setting = "the float reference" if b is None else f"{b} bits of {signal} ({rounding} rounding)"
        try:
            built = variant(scenario, signal, b, rounding)
            build_controller(built, dataset)  # every check of the scenario against the data
        except ConfigError as exc:
            where = f"{exc.key_path}: " if exc.key_path else ""
            raise ConfigError(exc.file, option, f"{setting}: {where}{exc.reason}") from None
        points.append(Point(b, rounding, built))
    return points


def _setting(run: TrainingRun, rounding: str, bits: int | None) -> Setting:
    last = run.epochs[-1]
    per_epoch = len(run.batches) // len(run.epochs)
    lost = [b.update.lost_fraction for b in run.batches[-per_epoch:] if b.update.lost_fraction is not None]
    with warnings.catch_warnings():  # a pair that never had an update stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        fraction = np.nanmean(lost, axis=0) if lost else np.full(len(run.block_names), np.nan)
    return Setting(rounding, bits, last.test_error, last.train_error, last.test_cost, fraction)


def study(scenario: Scenario, dataset: Dataset, signal: str, bits: list[int], roundings: list[str],
          max_batches: int | None = None, report=lambda text: None,
          observers: tuple[Observer, ...] = ()) -> tuple[list[Setting], list[str]]:
    """Train the float reference and every (rounding, bits) setting; returns settings and pair names.

    Every setting is validated and built first (:func:`plan`): a bit depth the devices
    cannot take is refused before the float reference trains."""
    points = plan(scenario, dataset, signal, bits, roundings, max_batches)
    settings, pairs = [], []
    for index, point in enumerate(points):
        run = train(point.scenario, dataset, max_batches=max_batches, observers=observers)
        setting = _setting(run, point.rounding, point.bits)
        settings.append(setting)
        pairs = run.block_names
        report(f"[{index + 1}/{len(points)}] {point.label}: test error {100 * setting.test_error:.2f}%")
    return settings, pairs


def lowest_within(settings: list[Setting], rounding: str, margin: float) -> int | None:
    """Lowest bit depth of ``rounding`` whose test error is at most reference + margin
    (and every larger depth too, so a lucky low depth does not count): the tolerance study's
    rule (:func:`~neurosim.studies.tolerance.tolerable_range`) for one seed, anchored at the
    largest depth tested."""
    reference = settings[0].test_error
    rows = sorted((s for s in settings if s.rounding == rounding and s.bits is not None), key=lambda s: s.bits)
    if not rows:
        return None
    limits = tolerable_range([s.bits for s in rows], [s.test_error <= reference + margin for s in rows],
                             anchor=rows[-1].bits)
    return None if limits is None else limits[0]


def write_tables(settings: list[Setting], pairs: list[str], signal: str, margin: float, out: Path) -> str:
    """``bitdepth.csv`` and ``bitdepth.md`` in ``out``; returns the Markdown text."""
    out.mkdir(parents=True, exist_ok=True)
    header = ["signal", "rounding", "bits", "test_error", "train_error", "test_cost"] + [f"lost_{p}" for p in pairs]
    write_csv(out / "bitdepth.csv", header,
              [[signal, s.rounding, "float" if s.bits is None else s.bits, f"{s.test_error:.4f}",
                f"{s.train_error:.4f}", f"{s.test_cost:.6g}"] + [f"{v:.4f}" for v in s.lost_fraction]
               for s in settings])
    rows = [[s.rounding, "float" if s.bits is None else str(s.bits), f"{100 * s.test_error:.2f}%",
             f"{100 * s.train_error:.2f}%", f"{s.test_cost:.4g}"]
            + ["–" if np.isnan(v) else f"{100 * v:.1f}%" for v in s.lost_fraction] for s in settings]
    lines = markdown_table(["rounding", "bits", "test error", "train error", "test cost"]
                           + [f"updates lost {p}" for p in pairs], rows)
    lines.append("")
    for rounding in sorted({s.rounding for s in settings if s.bits is not None}):
        best = lowest_within(settings, rounding, margin)
        lines.append(f"Lowest bit depth within {100 * margin:.1f} points of float ({rounding}): "
                     f"{'none tested' if best is None else f'{best} bits'}.  ")
    text = "\n".join(lines) + "\n"
    (out / "bitdepth.md").write_text(text)
    return text


def _one(error: float) -> Interval:
    return Interval(error, np.nan, np.nan, 1)


def plot(settings: list[Setting], signal: str, margin: float, title: str, path: Path) -> None:
    """Final test error against bit depth, one line per rounding mode, the float reference
    and its margin as a band (:func:`~neurosim.studies.tolerance.plot_errors`)."""
    series, marks = {}, []
    for rounding in sorted({s.rounding for s in settings if s.bits is not None}):
        rows = sorted((s for s in settings if s.rounding == rounding and s.bits is not None), key=lambda s: s.bits)
        series[rounding] = [(s.bits, _one(s.test_error)) for s in rows]
        best = lowest_within(settings, rounding, margin)
        if best is not None:
            marks.append((best, next(s.test_error for s in rows if s.bits == best), f"{best} bits"))
    plot_errors(series, _one(settings[0].test_error), margin, f"bit depth of {signal}", title, path,
                reference_name="float", marks=marks, log_x=False)

"""Device tolerance: sweep one parameter of a scenario, repeat it over seeds, and say how far it can go.

``neurosim tolerance SCENARIO --param KEY.PATH=V1,V2,…`` trains the scenario once per value
and seed on the sweep engine (:func:`neurosim.studies.sweep.run_sweep`: local processes or
a Dask cluster, resumable, one run file per point), plus the **reference** at the same
seeds, and compares the final test errors:

- the reference is the scenario *as given* (its devices as the file says, the swept key at
  its own value; ``reference="given"``, the default) or with every device ideal
  (``reference="ideal"``, as ``neurosim bitdepth`` does). A value whose resolved scenario is
  the reference's runs once, as the reference;
- per value: the mean final test error over the seeds with its 95 % Student-t confidence
  interval, and the **paired** difference from the reference (seed by seed: the same
  initial weights, data order and chip draws) with its own t interval;
- a value is *within* the margin when the upper end of the difference's interval is at
  most ``margin`` (we are 97.5 % confident it costs no more than the margin), *beyond* it
  when the lower end is above the margin (or a run failed: a simulation that diverges is
  not tolerated), *undecided* otherwise. With a single seed there is no interval and the
  difference itself decides;
- the **tolerable range**: starting from the reference's own value of the key (or, when it
  has none, the value with the lowest mean error), the most extreme values on either side
  reached through values that are all *within* (numbers only).

A key path under ``synapse.``, ``neuron.``, ``timing.`` or ``energy.`` is a device field and
is set through ``device_overrides`` (``synapse.pulsed.up_down`` →
``device_overrides.synapse.pulsed.up_down``); any other key is a scenario key.

``neurosim bitdepth`` (:mod:`neurosim.studies.bitdepth`) is this study for bit depths: one
plan per rounding mode whose values set a signal's points together (``changes``), the ideal
reference, the same seeds, intervals and verdicts.
"""

from __future__ import annotations

import copy
import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from neurosim.analysis.statistics import CONFIDENCE, Interval, paired_difference, t_interval
from neurosim.config.base import YamlSyntaxError, parse_yaml, read_yaml, set_key
from neurosim.config.scenario import Scenario, scenario_from_dict, validate_with_overrides
from neurosim.data.datasets import Dataset
from neurosim.devices.spec import DeviceSpec
from neurosim.errors import ConfigError
from neurosim.studies.grid import Axis, Point, point_name
from neurosim.studies.sweep import Manifest, data_key, run_sweep
from neurosim.studies.sweep_summary import summarise, write_summary
from neurosim.training.setup import build_controller, is_directed, load_data

DEVICE_SECTIONS = ("synapse", "neuron", "timing", "energy")
"""A ``--param`` key starting with one of these is a device field (set via ``device_overrides``)."""
REFERENCES = ("given", "ideal")
EPSILON = 1e-9
"""Slack of the margin test, so that an error k/N exactly ``margin`` above the reference counts as within."""
REFERENCE = "reference"
"""The swept key's value in the manifest (and ``table.csv``) for the reference's runs."""


WITHIN, BEYOND, UNDECIDED, FAILED = "within", "beyond", "undecided", "failed"


def verdict(difference: Interval, margin: float) -> str:
    """``within`` when the upper end of the difference's interval is ≤ margin, ``beyond`` when
    its lower end is > margin, ``undecided`` when the interval holds the margin; with one
    pair the difference itself decides (within or beyond); no pair: ``failed``."""
    if difference.n == 0:
        return FAILED
    if difference.n == 1:
        return WITHIN if difference.mean <= margin + EPSILON else BEYOND
    if difference.high <= margin + EPSILON:
        return WITHIN
    if difference.low > margin + EPSILON:
        return BEYOND
    return UNDECIDED


def tolerable_range(values: Sequence[float], within: Sequence[bool], anchor: float) -> tuple[float, float] | None:
    """The lowest and highest tolerable value: from ``anchor`` (the reference's own value;
    it need not be among ``values``), the most extreme values on either side such that every
    value between them and the anchor is within. None when no value next to the anchor is."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    xs = [values[i] for i in order]
    ok = [bool(within[i]) for i in order]
    start = int(np.searchsorted(xs, anchor, side="left"))
    if start < len(xs) and xs[start] == anchor:  # the anchor is a value: it must be within itself
        if not ok[start]:
            return None
        low = high = start
    else:  # between two values: grow from its neighbours
        low, high = start, start - 1
    while low - 1 >= 0 and ok[low - 1]:
        low -= 1
    while high + 1 < len(xs) and ok[high + 1]:
        high += 1
    if high < low:
        return None
    return xs[low], xs[high]


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """Every run of a study, validated: the reference's and each value's, at every seed."""

    key: str
    """The scenario key path set for each value (a device field: ``device_overrides.…``)."""
    values: tuple[Any, ...]
    """The values, in the order given."""
    seeds: tuple[int, ...]
    reference: str
    """``given`` or ``ideal``."""
    reference_value: Any
    """The key's value in the reference scenario (None: it has none, e.g. ideal devices)."""
    points: list[Point]
    """The distinct runs (reference first), as the sweep engine takes them."""
    reference_runs: list[str]
    """The point name of the reference's run at each seed, in seed order."""
    runs: list[list[str]]
    """For each value (in the order of ``values``): the point name of its run at each seed
    (the reference's, when the value's scenario is the reference's)."""
    axes: list[Axis]
    """The grid recorded in the sweep's manifest: the key (with ``reference``) and the seeds."""
    epochs: int
    name: str
    """The scenario's name."""


def device_key(key: str) -> str:
    """The scenario key path of ``--param``'s key: a device field goes through ``device_overrides``."""
    return f"device_overrides.{key}" if key.split(".")[0] in DEVICE_SECTIONS else key


def parse_param(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"synapse.pulsed.up_down=0,0.1"`` → (``device_overrides.synapse.pulsed.up_down``, (0, 0.1));
    the values are a YAML flow list (as ``--grid``'s), distinct and at least one."""
    if "=" not in text:
        raise ConfigError(None, "--param", f"{text!r}: give KEY.PATH=VALUE1,VALUE2,…")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ConfigError(None, "--param", f"{text!r}: the key path before '=' is empty")
    try:
        values = parse_yaml(f"[{raw}]")
    except YamlSyntaxError as exc:
        raise ConfigError(None, "--param", f"{key}: values {raw!r} are not a comma-separated YAML list "
                          f"({exc.problem})") from None
    if not values:
        raise ConfigError(None, "--param", f"{key}: no value given")
    encoded = [json.dumps(float(v) if _numeric([v]) else v, sort_keys=True) for v in values]  # 1 and 1.0 alike
    twice = sorted({e for e in encoded if encoded.count(e) > 1})
    if twice:
        raise ConfigError(None, "--param", f"{key}: value {twice[0]} is listed twice")
    if REFERENCE in values:
        raise ConfigError(None, "--param", f"{key}: the value '{REFERENCE}' names the reference's runs in the "
                          "study's files; it cannot be a value too")
    return device_key(key), tuple(values)


def read_scenario(file: str | Path, overrides: dict[str, Any] | None = None) -> tuple[dict, Scenario]:
    """The scenario file's content with ``--set`` overrides applied (its ``sweep`` section
    left out: the study is the grid) and the resolved scenario; errors name the file or the override."""
    path = Path(file)
    content = read_yaml(path)
    content.pop("sweep", None)
    scenario = validate_with_overrides(content, overrides or {}, path)
    return content, scenario


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _value_at(scenario: Scenario, key: str) -> Any:
    """The value a resolved scenario holds at ``key`` (``device_overrides.X`` is read at
    ``devices.X``); None where there is none."""
    node: Any = scenario.model_dump(mode="json")
    parts = key.split(".")
    if parts[0] == "device_overrides":
        parts[0] = "devices"
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def shortened(content: dict, scenario: Scenario, dataset: Dataset, max_batches: int | None) -> dict:
    """``content`` with at most ``max_batches`` training and test batches: ``data.train_size``
    and ``data.test_size`` set to max_batches × batch_size (the sweep engine trains whole epochs)."""
    if max_batches is None:
        return content
    if max_batches < 1:
        raise ConfigError(None, "--max-batches", f"{max_batches} batches: give at least 1")
    if is_directed(scenario):
        raise ConfigError(None, "--max-batches", "a directed-graph scenario trains on its whole truth table "
                          "in every epoch: there is nothing to shorten")
    content = copy.deepcopy(content)
    examples = max_batches * scenario.training.batch_size
    set_key(content, "data.train_size", min(examples, len(dataset.train_x)))
    set_key(content, "data.test_size", min(examples, len(dataset.test_x)))
    return content


def plan(file: str | Path, content: dict, key: str, values: Sequence[Any], seeds: int = 3,
         reference: str = "given", max_batches: int | None = None,
         changes: Callable[[Any], dict[str, Any]] | None = None, option: str = "--param",
         describe: Callable[[Any], str] | None = None, reference_option: str | None = "--reference") -> Plan:
    """Every run of the study, each scenario validated and its model and controller built
    against its data, so that a bad value is refused before anything trains. ``content``: the
    scenario file's mapping (:func:`read_scenario`); ``key``: a scenario key path
    (:func:`device_key`). Errors name the command-line option (``--param``, ``--seeds``,
    ``--reference``, ``--max-batches``) and the value.

    A study whose value sets several keys at once (``neurosim bitdepth``: a bit depth sets
    the weight's and its update's points, with a rounding) gives ``changes``: value → the
    key paths and values it sets (default ``{key: value}``); ``key`` then only names the
    value in point names and tables. ``option`` and ``describe`` (value → words) are how a
    bad value's error names it; ``reference_option`` names a reference that cannot be built
    (None: the scenario file itself, for a study whose reference is not an option)."""
    file = str(file)
    base_dir = Path(file).parent
    if reference not in REFERENCES:
        raise ConfigError(None, "--reference", f"unknown reference {reference!r}; use {' or '.join(REFERENCES)}")
    if seeds < 1:
        raise ConfigError(None, "--seeds", f"{seeds} seeds: give at least 1")
    if key.split(".")[0] in ("seed", "sweep"):
        raise ConfigError(None, "--param", f"{key}: the study sets it itself (use --seeds)")
    if not values:
        raise ConfigError(None, option, f"{key}: no value given")
    changes = changes or (lambda value: {key: value})
    describe = describe or (lambda value: f"{key}={_value_text(value)}")
    base = scenario_from_dict(copy.deepcopy(content), file, base_dir)
    datasets: dict[str, Dataset] = {}

    def data_of(scenario: Scenario) -> Dataset:
        where = data_key(scenario)
        if where not in datasets:
            datasets[where] = load_data(scenario)
        return datasets[where]

    content = shortened(content, base, data_of(base), max_batches)
    first = base.seed
    seed_list = tuple(range(first, first + seeds))
    if seed_list[-1] > 2 ** 32 - 1:
        raise ConfigError(None, "--seeds", f"seeds {first}…{seed_list[-1]} run past the largest seed 2^32 − 1")

    def resolve(keys: dict[str, Any], seed: int, ideal: bool, what: str) -> Scenario:
        resolved = copy.deepcopy(content)
        if ideal:
            resolved.pop("device_overrides", None)
            resolved["devices"] = DeviceSpec().model_dump(mode="json")
        try:
            for path, value in keys.items():
                set_key(resolved, path, value)
            set_key(resolved, "seed", seed)
            scenario = scenario_from_dict(resolved, file, base_dir)
            if seed == first:  # every check of the scenario against its data, once per setting
                build_controller(scenario, data_of(scenario))
        except ConfigError as exc:
            if not keys and reference_option is None:
                raise ConfigError(file, exc.key_path, f"{what}: {exc.reason}") from None
            named = exc.key_path in ("", key) or (len(keys) == 1 and exc.key_path in keys)
            inner = "" if named else f"{exc.key_path}: "
            raise ConfigError(None, option if keys else reference_option, f"{what}: {inner}{exc.reason}") from None
        return scenario

    reference_runs = [resolve({}, s, reference == "ideal", f"the {reference} reference") for s in seed_list]
    points = [Point({key: REFERENCE, "seed": s}, f"{REFERENCE}_seed={s}", scenario)
              for s, scenario in zip(seed_list, reference_runs)]
    reference_names = [p.name for p in points]
    reference_digests = [s.digest() for s in reference_runs]
    runs = []
    for value in values:
        scenarios = [resolve(changes(value), s, False, describe(value)) for s in seed_list]
        if [s.digest() for s in scenarios] == reference_digests:
            runs.append(reference_names)  # the reference itself: run once
            continue
        named = [Point({key: value, "seed": s}, point_name({key: value, "seed": s}), scenario)
                 for s, scenario in zip(seed_list, scenarios)]
        points += named
        runs.append([p.name for p in named])
    axes = [Axis(key, (REFERENCE, *values), option), Axis("seed", seed_list, f"--seeds {seeds}")]
    return Plan(key, tuple(values), seed_list, reference, _value_at(reference_runs[0], key), points,
                reference_names, runs, axes, base.training.epochs, base.name)


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One value of the study (or the reference) over its seeds."""

    value: Any
    """The value, or :data:`REFERENCE`."""
    test_errors: list[float]
    """Final test error of each seed, in seed order (NaN: that run is not complete)."""
    train_errors: list[float]
    test: Interval
    difference: Interval | None
    """Paired difference from the reference (None for the reference row)."""
    verdict: str
    """``within``, ``beyond``, ``undecided`` or ``failed`` (``reference`` for the reference)."""
    same_as_reference: bool = False
    """This value's runs are the reference's (its resolved scenario is the reference's)."""
    failures: list[str] = field(default_factory=list)
    """Why a seed's run is missing (a simulation that diverged, an interrupted sweep)."""

    @property
    def train_error(self) -> float:
        """Mean final training error over the seeds whose run completed (NaN: none did)."""
        finished = [e for e in self.train_errors if not math.isnan(e)]
        return float(np.mean(finished)) if finished else math.nan


@dataclass
class Result:
    """A study's rows (reference first, then the values, numbers in increasing order) and its verdict."""

    plan: Plan
    margin: float
    rows: list[Row]
    limits: tuple[float, float] | None
    """Lowest and highest tolerable value (numeric values only; None: none, or not numbers)."""
    anchor: Any
    """Where the tolerable range starts: the reference's value of the key, else the best value."""

    @property
    def reference(self) -> Row:
        return self.rows[0]

    @property
    def numeric(self) -> bool:
        return _numeric(self.plan.values)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def results(plan: Plan, directory: str | Path, margin: float) -> Result:
    """The study's rows from the sweep directory's run files (:func:`summarise`)."""
    found = {row["point"]: row for row in summarise(directory)}

    def metric(name: str, what: str) -> float:
        row = found.get(name)
        return float(row[what]) if row is not None and row["status"] == "complete" else math.nan

    def failures(names: list[str]) -> list[str]:
        out = []
        for name in names:
            row = found.get(name)
            if row is None or row["status"] != "complete":
                status = "missing" if row is None else row["status"]
                out.append(f"{name}: {status}" + (f": {row['error']}" if row is not None and row["error"] else ""))
        return out

    ref_names = plan.reference_runs
    ref_errors = [metric(n, "test_error") for n in ref_names]
    rows = [Row(REFERENCE, ref_errors, [metric(n, "train_error") for n in ref_names], t_interval(ref_errors),
                None, REFERENCE, failures=failures(ref_names))]
    order = list(range(len(plan.values)))
    values = list(plan.values)
    if _numeric(values):
        order.sort(key=lambda i: values[i])
    for index in order:
        value, names = values[index], plan.runs[index]
        errors = [metric(n, "test_error") for n in names]
        difference = paired_difference(errors, ref_errors)
        missing = failures(names)
        diverged = any(found.get(n, {}).get("status") == "failed" for n in names)
        rows.append(Row(value, errors, [metric(n, "train_error") for n in names], t_interval(errors), difference,
                        FAILED if diverged else verdict(difference, margin), names == ref_names, missing))
    anchor = plan.reference_value
    limits = None
    if _numeric(values) and len(values):
        xs, ok = [r.value for r in rows[1:]], [r.verdict == WITHIN for r in rows[1:]]
        if _numeric([anchor]):
            if anchor not in xs:  # the reference's own value is tolerable by definition
                xs, ok = xs + [anchor], ok + [True]
        else:
            scored = [r for r in rows[1:] if not math.isnan(r.test.mean)]
            anchor = min(scored, key=lambda r: r.test.mean).value if scored else None
        if anchor is not None:
            limits = tolerable_range(xs, ok, anchor)
    return Result(plan, margin, rows, limits, anchor)


# --------------------------------------------------------------------------- tables


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def format_percent(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.2f}%"


def format_points(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:+.2f}"


def format_interval(interval: Interval | None, fmt: Callable[[float], str]) -> str:
    return "–" if interval is None or math.isnan(interval.low) else f"{fmt(interval.low)} … {fmt(interval.high)}"


def format_number(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6g}"


def reference_label(result: Result) -> str:
    """``reference (given: 0.0002)`` or ``reference (ideal devices)``."""
    plan = result.plan
    if plan.reference == "ideal":
        return "reference (ideal devices)"
    value = "–" if plan.reference_value is None else _value_text(plan.reference_value)
    return f"reference (as given: {value})"


def rule_text(result: Result) -> str:
    """How the verdicts and the tolerable range were decided, in one paragraph."""
    plan, margin = result.plan, result.margin
    seeds = len(plan.seeds)
    ci = (f"the upper end of the {100 * CONFIDENCE:g} % confidence interval of its paired difference from the "
          f"reference (Student t, {seeds - 1} degree{'s' if seeds != 2 else ''} of freedom) is at most "
          f"{100 * margin:g} points" if seeds > 1 else
          f"its test error is at most {100 * margin:g} points above the reference's (one seed: no interval)")
    text = (f"A value is *within* when {ci}; *beyond* when the lower end is above the margin "
            f"or a run failed; *undecided* otherwise.")
    if not result.numeric:
        return text
    anchor = "–" if result.anchor is None else _value_text(result.anchor)
    own = result.anchor == plan.reference_value
    start = "the reference's own value" if own else "the value with the lowest mean error"
    if result.limits is None:
        return text + f" No value next to {start} ({anchor}) is within: nothing tested is tolerable."
    if own and result.limits == (result.anchor, result.anchor):
        return text + (f" Tolerable range: **only the reference's own value, {anchor}**: the values next to it "
                       "are not within.")
    low, high = (_value_text(v) + (" (the reference's)" if own and v == result.anchor else "")
                 for v in result.limits)
    return text + (f" Tolerable range (the values reached from {start}, {anchor}, through values within only): "
                   f"**lowest {low}, highest {high}**.")


def write_tables(result: Result, out: Path) -> str:
    """``table.csv`` and ``table.md`` in ``out``; returns the Markdown text."""
    out.mkdir(parents=True, exist_ok=True)
    plan = result.plan
    seeds = list(plan.seeds)
    header = ["key", "value", "runs", "test_error_mean", "test_error_ci_low", "test_error_ci_high", "train_error_mean",
              "difference_mean", "difference_ci_low", "difference_ci_high", "verdict"] + \
        [f"test_error_seed_{s}" for s in seeds]
    csv_rows = []
    for row in result.rows:
        diff = row.difference or Interval(math.nan, math.nan, math.nan, 0)
        csv_rows.append([plan.key, _value_text(row.value), row.test.n]
                        + [format_number(x) for x in (row.test.mean, row.test.low, row.test.high, row.train_error,
                                                      diff.mean, diff.low, diff.high)]
                        + [row.verdict] + [format_number(e) for e in row.test_errors])
    write_csv(out / "table.csv", header, csv_rows)
    md_rows = []
    for row in result.rows:
        if row.value == REFERENCE:
            label, diff, diff_ci, verdict_text = reference_label(result), "", "", ""
        else:
            label = _value_text(row.value) + (" (= reference)" if row.same_as_reference else "")
            diff, diff_ci = format_points(row.difference.mean), format_interval(row.difference, format_points)
            verdict_text = row.verdict
        md_rows.append([label, str(row.test.n), format_percent(row.test.mean),
                        format_interval(row.test, format_percent), diff, diff_ci, verdict_text])
    ci = f"{100 * CONFIDENCE:g} % CI"
    lines = [f"`{plan.key}`, {len(seeds)} seed(s) per value ({', '.join(map(str, seeds))}), "
             f"margin {100 * result.margin:g} points.", ""]
    lines += markdown_table(["value", "runs", "test error", ci, "Δ from reference (points)", f"{ci} of Δ", "verdict"],
                            md_rows)
    lines += ["", rule_text(result)]
    missing = [f for row in result.rows for f in row.failures]
    if missing:
        lines += ["", "Runs missing from the table:"] + [f"- {m}" for m in missing]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


# --------------------------------------------------------------------------- plot


def plot_errors(series: dict[str, list[tuple[Any, Interval]]], reference: Interval, margin: float, xlabel: str,
                title: str, path: Path, reference_name: str = "reference",
                marks: Sequence[tuple[Any, float, str]] = (), log_x: bool | None = None) -> None:
    """Final test error (%) against a parameter: one line per series, with its confidence
    intervals as error bars where it has them; the reference as a line, its interval as a
    band, and the margin above it as a lighter band. ``marks``: (x, error, text) annotations.
    Non-numeric x values are placed evenly in the order of the first series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ref = 100 * reference.mean
    ax.axhline(ref, color="k", lw=1, label=reference_name)
    if not math.isnan(reference.low):
        ax.axhspan(100 * reference.low, 100 * reference.high, color="k", alpha=0.15,
                   label=f"{reference_name} {100 * CONFIDENCE:g} % CI")
    ax.axhspan(ref, ref + 100 * margin, color="k", alpha=0.08, label=f"{reference_name} + {100 * margin:g} pts")
    every = [x for points in series.values() for x, _ in points]
    numeric = _numeric(every)
    position = (lambda x: x) if numeric else {_value_text(x): i for i, x in enumerate(dict.fromkeys(
        _value_text(x) for x in every))}.__getitem__
    place = (lambda x: position(x)) if numeric else (lambda x: position(_value_text(x)))
    for label, points in series.items():
        xs = [place(x) for x, _ in points]
        ys = [100 * iv.mean for _, iv in points]
        if any(not math.isnan(iv.low) for _, iv in points):
            err = [[100 * (iv.mean - iv.low) if not math.isnan(iv.low) else 0 for _, iv in points],
                   [100 * (iv.high - iv.mean) if not math.isnan(iv.high) else 0 for _, iv in points]]
            ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3, label=label)
        else:
            ax.plot(xs, ys, "o-", label=label)
    for x, y, text in marks:
        ax.annotate(text, (place(x), 100 * y), textcoords="offset points", xytext=(5, 8), fontsize=8)
    if numeric:
        positive = [x for x in every if x > 0]
        if log_x is None:
            log_x = bool(positive) and max(positive) / min(positive) >= 50
        if log_x:
            if len(positive) == len(every):
                ax.set_xscale("log")
            else:
                ax.set_xscale("symlog", linthresh=min(positive))
    else:
        labels = list(dict.fromkeys(_value_text(x) for x in every))
        ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("final test error (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot(result: Result, path: Path, title: str | None = None) -> None:
    """The study's plot: test error with its CI against the value, the reference band, the tolerable limits marked."""
    plan = result.plan
    points = [(row.value, row.test) for row in result.rows[1:] if not math.isnan(row.test.mean)]
    marks = []
    if result.limits is not None:  # marked where a tested value is a limit (not the reference's own value)
        by_value = {row.value: row.test.mean for row in result.rows[1:]}
        low, high = result.limits
        for value, text in ((low, "lowest tolerable"), (high, "highest tolerable")):
            if value in by_value and not (low == high and text.startswith("highest")):
                marks.append((value, by_value[value], text if low != high else "the only tolerable value"))
    seeds = len(plan.seeds)
    label = f"mean of {seeds} seeds, {100 * CONFIDENCE:g} % CI" if seeds > 1 else "one seed"
    key = plan.key.removeprefix("device_overrides.")
    plot_errors({label: points}, result.reference.test, result.margin, key,
                title or f"{plan.name}: {key}\n{reference_label(result)}", path, "reference", marks)


# --------------------------------------------------------------------------- the study


def default_directory(file: str | Path, key: str) -> Path:
    """``runs/<scenario file name>-tolerance-<last part of the key>``."""
    return Path("runs") / f"{Path(file).stem}-tolerance-{key.rsplit('.', 1)[-1]}"


def run_points(directory: Path, file: str | Path, content: dict, axes: list[Axis], points: list[Point],
               workers: int | None, progress: bool) -> Manifest:
    """Run every run of a study not yet complete in ``directory`` on the sweep engine (local
    processes), write the sweep's summary there, and return its manifest."""
    manifest = run_sweep(directory, str(file), content, axes, points, workers=workers, progress=progress)
    write_summary(directory)
    return manifest


def study(file: str | Path, content: dict, param: str, seeds: int = 3, margin: float = 0.02,
          reference: str = "given", out: str | Path | None = None, max_batches: int | None = None,
          workers: int | None = None, progress: bool = True,
          report: Callable[[str], None] = lambda text: None) -> tuple[Result, Manifest]:
    """Plan (validating every value), run every run not yet complete in ``out`` on the sweep
    engine, and write ``table.csv``, ``table.md``, ``tolerance.png`` and the sweep's summary there."""
    key, values = parse_param(param)
    if margin < 0:
        raise ConfigError(None, "--margin", f"{margin}: give a margin ≥ 0")
    the_plan = plan(file, content, key, values, seeds, reference, max_batches)
    directory = Path(out) if out is not None else default_directory(file, key)
    report(f"{the_plan.name}: {key} = {', '.join(map(_value_text, values))}; {len(the_plan.seeds)} seed(s); "
           f"{reference} reference: {len(the_plan.points)} run(s) of {the_plan.epochs} epoch(s) -> {directory}")
    manifest = run_points(directory, file, content, the_plan.axes, the_plan.points, workers, progress)
    result = results(the_plan, directory, margin)
    report("\n" + write_tables(result, directory))
    plot(result, directory / "tolerance.png")
    report(f"tables and plot: {directory}/table.{{csv,md}}, {directory}/tolerance.png")
    return result, manifest

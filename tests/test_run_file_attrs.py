"""Every dataset of every kind of run file says what it holds (attribute ``description``)
and, where it has one, its unit (attribute ``units``), as ``docs/run-file.md`` documents
(issue #13).

One tiny run of each kind the package writes, tracing every bank at every cadence its
datapath supports, is walked dataset by dataset. :data:`UNITS` is the explicit list of
dimensional quantities and the units each must carry; :data:`UNITLESS` lists the datasets
that have none (text, masks, the configuration). Every dataset must be in one of the two,
so a new dataset cannot arrive without someone deciding its units.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import h5py
import pytest

from conftest import DEVICES, ROOT, directed_scenario, network_scenario, run_main, write_scenario

EP_TRACE = [
    {"banks": ["state"], "cadence": "step", "batches": [0], "samples": [0, 1]},
    {"banks": ["state", "memory"], "cadence": "phase_end", "batches": [0], "samples": [0]},
    {"banks": ["memory", "bias", "weights", "delta_w"], "cadence": "update", "batches": [0], "samples": [0]},
    {"banks": ["bias", "weights"], "cadence": "epoch"},
]
"""Every bank at every cadence ``neurosim.config.trace.CADENCES_OF_BANK`` allows, for a
layered network (``memory``: EP's u0 and ubeta, backprop's activation and error)."""

DIRECTED_TRACE = [
    {"banks": ["state"], "cadence": "step", "batches": [0], "samples": [0]},
    {"banks": ["state", "memory"], "cadence": "phase_end", "samples": [0]},
    {"banks": ["memory", "weights", "delta_w"], "cadence": "update", "samples": [0]},
    {"banks": ["weights"], "cadence": "epoch"},
]
"""The same for a directed graph, which has no bias bank (its biases are a row of W)."""

TINY = {"training.epochs": 2}

KINDS = {
    "ep-layered": network_scenario(TINY, trace={"records": EP_TRACE}),
    "ep-layer-skipping": network_scenario(TINY, topology={"kind": "layer_skipping", "n": 5},
                                          trace={"records": EP_TRACE}),
    "bp": network_scenario(TINY, datapath="bp", trace={"records": EP_TRACE}),
    "ep-quantised-stochastic": network_scenario(TINY, devices=str(DEVICES / "analog-4bit-stochastic.yaml"),
                                                trace={"records": EP_TRACE}),
    "deep": directed_scenario(TINY, trace={"records": DIRECTED_TRACE}),
    "asymmetric": directed_scenario(TINY, **{"dynamics.kind": "asymmetric"}, trace={"records": DIRECTED_TRACE}),
}
"""One scenario per kind of run file: 2 epochs of 2 batches (directed: of 1 batch). Backprop
never integrates, so its ``state/step`` trace holds no event, but its datasets are written."""

STATE = "dimensionless, in [0, 1]"
WEIGHTS = "dimensionless (state units per unit activation)"
DELTA_W = "weight units per batch, before α"

UNITS = [
    ("topology/layer_sizes", "count"),
    ("topology/connections", "count"),
    ("rates/pair", "dimensionless"),
    ("rates/bias", "dimensionless"),
    ("metrics/epoch/train_error", "fraction"),
    ("metrics/epoch/test_error", "fraction"),
    ("metrics/epoch/cost", "dimensionless"),
    ("metrics/epoch/test_cost", "dimensionless"),
    ("metrics/epoch/seconds", "s"),
    ("metrics/epoch/mse", "dimensionless"),
    ("metrics/epoch/sparsity", "fraction"),
    ("metrics/epoch/removed", "count"),
    ("metrics/epoch/stable_fraction", "fraction"),
    ("metrics/epoch/rate_sum_drift", "state units"),
    ("metrics/epoch/lost_fraction", "fraction"),
    ("metrics/batch/rms_correction", "weight units per batch"),
    ("metrics/batch/mean_abs_dw", DELTA_W),
    ("metrics/batch/lost_fraction", "fraction"),
    ("metrics/batch/train_error", "fraction"),
    ("metrics/batch/cost", "dimensionless"),
    ("metrics/batch/beta", "dimensionless"),
    ("metrics/batch/epoch", "epochs (from 0)"),
    ("metrics/batch/steps", "steps"),
    ("final/weights", WEIGHTS),
    ("final/weights/*-*", WEIGHTS),
    ("final/biases", "state units"),
    ("ledger/count", "count"),
    ("ledger/bits", "bits"),
    ("ledger/bits_moved", "bits"),
    ("ledger/pJ_each", "pJ"),
    ("ledger/energy_pJ", "pJ"),
    ("ledger/latency/seconds", "s"),
    ("ledger/latency/seconds_per_example", "s"),
    ("trace/*/*/epoch", "epochs (from 0)"),
    ("trace/*/*/batch", "batches (from 0)"),
    ("trace/*/*/phase", "index into phase_names"),
    ("trace/*/*/step", "steps (from 0)"),
    ("trace/state/*/values", STATE),
    ("trace/u0/*/values", STATE),
    ("trace/ubeta/*/values", STATE),
    ("trace/activation/*/values", STATE),
    ("trace/error/*/values", "state units"),
    ("trace/bias/*/values", "state units"),
    ("trace/weights/*/*-*", WEIGHTS),
    ("trace/weights/*/W", WEIGHTS),
    ("trace/delta_w/*/*-*", DELTA_W),
    ("trace/delta_w/*/W", DELTA_W),
]
"""The dimensional quantities: path pattern (``*`` stands for any part of one path
component; layer pairs are ``*-*``, a directed graph's block ``W``) and the exact
``units`` every dataset it matches carries."""

UNITLESS = [
    "config", "topology/layer_pairs", "topology/initial_alive", "final/alive",
    "ledger/phase", "ledger/latency/phase", "ledger/device", "ledger/action", "ledger/source", "trace/connectivity/*-*", "trace/connectivity/W",
]
"""Datasets without units: text, masks and the resolved configuration."""

def matches(pattern: str, path: str) -> bool:
    """Whether a dataset path matches a pattern whose ``*`` stands for one path component."""
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(fnmatchcase(n, p) for p, n in zip(parts, names))


def expected_units(path: str) -> str | None:
    """The units :data:`UNITS` gives a dataset (None if it is not listed there)."""
    return next((units for pattern, units in UNITS if matches(pattern, path)), None)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def walk(path: Path) -> dict[str, dict[str, str]]:
    """Every dataset of a run file → its ``description`` and ``units`` attributes (those present)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, node):
            if isinstance(node, h5py.Dataset):
                out[name] = {key: text(node.attrs[key]) for key in ("description", "units") if key in node.attrs}
        f.visititems(visit)
    return out


@pytest.fixture(scope="module")
def run_files(tmp_path_factory) -> dict[str, dict[str, dict[str, str]]]:
    """Each kind's run file, walked: kind → dataset path → its description and units."""
    directory = tmp_path_factory.mktemp("run-file-attrs")
    walked = {}
    for kind, content in KINDS.items():
        out = directory / f"{kind}.h5"
        assert run_main("run", write_scenario(directory, content, f"{kind}.yaml"), "--out", out, "--quiet") == 0, kind
        walked[kind] = walk(out)
    return walked


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_dataset_has_a_description(run_files, kind):
    missing = [path for path, attrs in run_files[kind].items()
               if not attrs.get("description", "").strip()]
    assert not missing, f"{kind}: datasets without a description: {missing}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_dimensional_quantity_carries_its_units(run_files, kind):
    wrong = {path: (attrs.get("units"), expected_units(path)) for path, attrs in run_files[kind].items()
             if expected_units(path) is not None and attrs.get("units") != expected_units(path)}
    assert not wrong, f"{kind}: (units written, units expected) of these datasets: {wrong}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_dataset_is_listed_with_or_without_units(run_files, kind):
    unlisted = [path for path in run_files[kind]
                if expected_units(path) is None and not any(matches(p, path) for p in UNITLESS)]
    assert not unlisted, f"{kind}: add these to UNITS (with their units) or to UNITLESS: {unlisted}"
    stray = [path for path, attrs in run_files[kind].items()
             if expected_units(path) is None and "units" in attrs]
    assert not stray, f"{kind}: listed as unitless but carrying units: {stray}"


def test_the_walk_covers_every_listed_dataset(run_files):
    """Each pattern of the lists matches a dataset of some kind, so none is checked in vain."""
    paths = {path for walked in run_files.values() for path in walked}
    unused = [p for p in [pattern for pattern, _ in UNITS] + UNITLESS
              if not any(matches(p, path) for path in paths)]
    assert not unused, f"no run file holds a dataset matching {unused}"
    assert sum(len(walked) for walked in run_files.values()) > 300


def documented_lines() -> dict[str, list[str]]:
    """The rows of docs/run-file.md's dataset tables (path | shape | units | meaning) by path
    pattern (``<a-b>`` → ``*-*``, any other ``<...>`` → ``*``): their cells."""
    out = {}
    for line in (ROOT / "docs" / "run-file.md").read_text().splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 4 and re.fullmatch(r"`/[^`]+`", cells[0]):
            out[re.sub(r"<[^>]+>", "*", cells[0].strip("`/").replace("<a-b>", "*-*"))] = cells
    return out


def documented_units() -> dict[str, str]:
    """The units column of the dataset tables: path pattern → units, '' for none (``—``)."""
    return {path: "" if units == "—" else units.strip("`")
            for path, (_, _, units, _) in documented_lines().items()}


def test_docs_list_every_dataset_with_the_units_it_carries(run_files):
    documented = documented_units()
    assert documented, "no dataset rows found in docs/run-file.md"
    problems = []
    for kind, walked in run_files.items():
        for path, attrs in walked.items():
            rows = [pattern for pattern in documented if matches(pattern, path)]
            if not rows:
                problems.append(f"{kind}: {path} is not documented")
            for pattern in rows:
                if documented[pattern] != attrs.get("units", ""):
                    problems.append(f"{kind}: {path} carries units {attrs.get('units')!r}, "
                                    f"docs/run-file.md says {documented[pattern]!r} ({pattern})")
    assert not problems, "\n".join(problems)
    disagree = [p for p, units in UNITS if p in documented and documented[p] != units]
    assert not disagree, f"docs/run-file.md and UNITS disagree on {disagree}"
    paths = {path for walked in run_files.values() for path in walked}
    phantom = [p for p in documented if not any(matches(p, path) for path in paths)]
    assert not phantom, f"docs/run-file.md documents datasets no run file holds: {phantom}"

"""Traces: what the file holds is what the devices held, the layout is self-describing,
an interrupted run keeps what it recorded, and bad trace rules name their key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest
import yaml

import neurosim
import neurosim.runfile.read
from conftest import network_scenario, run_cli, with_changes, write_scenario
from neurosim.data.datasets import load_dataset
from neurosim.observe.observer import Observer
from neurosim.observe.recorder import recording
from neurosim.config.scenario import scenario_from_dict
from neurosim.observe.tracing import Tracer
from neurosim.runfile.layout import COORDINATE_UNITS, partial_path
from neurosim.training.loop import train

EVERYTHING = [
    {"banks": ["state"], "cadence": "step", "epochs": [1], "batches": ["1:3"], "samples": [0, "2:5"]},
    {"banks": ["state", "u0", "ubeta"], "cadence": "phase_end", "batches": ["::2"]},
    {"banks": ["u0", "ubeta", "bias", "weights", "delta_w"], "cadence": "update"},
    {"banks": ["bias", "weights"], "cadence": "epoch", "epochs": ["1:"]},
]

def traced_scenario(**changes) -> dict:
    """A float64 run of 2 epochs of 50 digits in batches of 10, 6 free and 3 weakly-clamped steps."""
    return with_changes(network_scenario(name="trace test", seed=5, dynamics={"t_free": 6, "t_clamped": 3}, **{
        "data.train_size": 50, "training": {"epochs": 2, "batch_size": 10, "dtype": "float64"}}), changes)


SMALL = traced_scenario(topology={"kind": "layer_skipping", "sizes": [784, 7, 6, 10], "n": 30},
                        trace={"records": EVERYTHING}, **{"training.learning_rate": [0.2, 0.1, 0.05]})


class Reference(Observer):
    """An independent in-memory record of every device at every event of training batches."""

    def __init__(self):
        self.events = {}  # (kind, epoch, batch, phase, step) -> copies
        self.epoch = self.batch = self.train_batches = 0

    def on_start(self, run):
        self.network = run.model
        self.events[("epoch", -1)] = self._synapses_and_bias()

    def on_epoch_start(self, epoch, train_batches, test_batches):
        self.epoch, self.batch, self.train_batches = epoch, 0, train_batches

    def on_train_batch(self, epoch, batch, record):
        self.batch = batch + 1

    def on_epoch_end(self, record):
        self.events[("epoch", record.epoch)] = self._synapses_and_bias()

    def _synapses_and_bias(self):
        return {"bias": self.network.neurons.bias.copy(),
                "weights": {k: v.copy() for k, v in self.network.synapses.weights.items()}}

    def wants_steps(self, epoch, batch):
        return True

    def on_step(self, phase, step, model):
        if self.batch < self.train_batches:
            self.events[("step", self.epoch, self.batch, phase, step)] = model.neurons.s.copy()

    def on_phase_end(self, phase, steps, examples, model, stored=True):
        if self.batch < self.train_batches:
            cells = model.neurons.cells  # a cell exists once its phase first wrote it
            self.events[("phase_end", self.epoch, self.batch, phase)] = (
                model.neurons.s.copy(), *(cells[c].copy() if c in cells else None for c in ("u0", "ubeta")))

    def on_update(self, corrections, examples, model):
        self.events[("update", self.epoch, self.batch)] = dict(
            u0=model.neurons.cells["u0"].copy(), ubeta=model.neurons.cells["ubeta"].copy(),
            **self._synapses_and_bias(), delta_w={k: v.copy() for k, v in corrections.items()})


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    scenario = scenario_from_dict(SMALL)
    dataset = load_dataset(scenario.data)
    out = tmp_path_factory.mktemp("trace") / "run.h5"
    reference = Reference()
    with recording(out, scenario) as observers:
        run = train(scenario, dataset, observers=[*observers, reference])
    return neurosim.open_run(out), reference, run


def test_every_traced_quantity_equals_what_the_devices_held(traced):
    run, ref, training = traced
    pairs = {f"{a}-{b}": (a, b) for a, b in training.model.topology.pairs}
    samples = [0, 2, 3, 4]

    t = run.trace("state", "step")
    expected = [(e, b, ph, st) for e in (1,) for b in (1, 2) for ph, n in (("free", 6), ("weakly-clamped", 3))
                for st in range(n)]
    assert list(zip(t.epoch, t.batch, t.phase, t.step)) == expected
    assert list(t.samples) == samples and t.values.shape == (len(expected), 4, 23)
    for k, key in enumerate(expected):
        np.testing.assert_array_equal(t.values[k], ref.events[("step", *key)][samples])

    for bank, column in (("state", 0), ("u0", 1), ("ubeta", 2)):
        t = run.trace(bank, "phase_end")
        phases = {"state": ("free", "weakly-clamped"), "u0": ("free",), "ubeta": ("weakly-clamped",)}[bank]
        expected = [(e, b, ph) for e in (0, 1) for b in (0, 2, 4) for ph in phases]
        assert list(zip(t.epoch, t.batch, t.phase)) == expected, bank
        for k, key in enumerate(expected):
            np.testing.assert_array_equal(t.values[k], ref.events[("phase_end", *key)][column])

    updates = [(e, b) for e in (0, 1) for b in range(5)]
    for bank in ("u0", "ubeta", "bias", "weights", "delta_w"):
        t = run.trace(bank, "update")
        assert list(zip(t.epoch, t.batch)) == updates, bank
        for k, key in enumerate(updates):
            held = ref.events[("update", *key)][bank]
            if isinstance(held, dict):
                for name, pair in pairs.items():
                    np.testing.assert_array_equal(t.values[name][k], held[pair])
            else:
                np.testing.assert_array_equal(t.values[k], held)

    for bank in ("bias", "weights"):
        t = run.trace(bank, "epoch")
        assert list(t.epoch) == [-1, 1], "initial values, then the selected epoch 1"
        for k, e in enumerate(t.epoch):
            held = ref.events[("epoch", e)][bank]
            if isinstance(held, dict):
                for name, pair in pairs.items():
                    np.testing.assert_array_equal(t.values[name][k], held[pair])
            else:
                np.testing.assert_array_equal(t.values[k], held)


def test_traced_updates_obey_the_ep_learning_rule(traced):
    """ΔW from the file equals eq. 7 evaluated on the file's U0, Uβ and the batch inputs,
    and consecutive weights differ by α·ΔW."""
    run, _, training = traced
    u0, ub = run.trace("u0", "update").values, run.trace("ubeta", "update").values
    dw, w = run.trace("delta_w", "update"), run.trace("weights", "update").values
    beta = run.batch["beta"]
    x = training.dataset.train_x.astype(np.float64)
    slices = training.model.topology.state_slices()
    rates = dict(zip(run.layer_pairs, h5py.File(run.path)["rates/pair"][()]))
    for k, (e, b) in enumerate(zip(dw.epoch, dw.batch)):
        xb = x[10 * b:10 * b + 10]
        for name in run.layer_pairs:
            a, c = (int(v) for v in name.split("-"))
            post = lambda s: s[:, slices[c]]  # noqa: E731
            pre = (lambda s: xb) if a == 0 else (lambda s: s[:, slices[a]])
            expected = (pre(ub[k]).T @ post(ub[k]) - pre(u0[k]).T @ post(u0[k])) / (beta[k] * 10)
            mask = dw.connectivity[name]
            expected = expected if mask is None else expected * mask
            np.testing.assert_allclose(dw.values[name][k], expected, atol=1e-12)
            if k > 0:
                np.testing.assert_allclose(w[name][k] - w[name][k - 1], rates[name] * dw.values[name][k], atol=1e-12)


def test_every_dataset_describes_its_units_axes_and_neurons(traced):
    run, _, training = traced
    with h5py.File(run.path) as f:
        def check(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            assert "axes" in obj.attrs and "description" in obj.attrs, name
            if name.startswith("connectivity"):  # boolean masks: no units
                return
            assert "units" in obj.attrs, name
            if name.split("/")[-1] in ("epoch", "batch", "phase", "step"):
                assert obj.attrs["units"] == COORDINATE_UNITS[name.split("/")[-1]], name
                return
            if obj.ndim >= 2 and "neuron_layer" in obj.attrs:
                layers = obj.attrs["neuron_layer"]
                assert len(layers) == obj.shape[-1]
                assert list(np.bincount(layers)[1:]) == [7, 6, 10]
            elif "layer_pair" in obj.attrs:
                a, b = obj.attrs["pre_layer"], obj.attrs["post_layer"]
                assert obj.shape[1:] == (training.model.topology.layer_sizes[a],
                                         training.model.topology.layer_sizes[b])
                assert obj.chunks is not None and obj.compression == "gzip"
        f["trace"].visititems(check)


def test_short_last_batch_rows_are_nan(tmp_path):
    content = yaml.safe_load(yaml.safe_dump(SMALL))
    content["data"]["train_size"] = 25  # batches of 10, 10, 5
    content["training"]["epochs"] = 1
    content["trace"] = {"records": [{"banks": ["u0"], "cadence": "phase_end", "batches": [2], "samples": [3, 7]}]}
    scenario = scenario_from_dict(content)
    with recording(tmp_path / "r.h5", scenario) as observers:
        train(scenario, load_dataset(scenario.data), observers=observers)
    values = neurosim.open_run(tmp_path / "r.h5").trace("u0", "phase_end").values
    assert values.shape == (1, 2, 23)
    assert np.isfinite(values[0, 0]).all() and np.isnan(values[0, 1]).all()


def test_disabled_tracing_writes_no_trace_group(tmp_path):
    content = dict(SMALL, trace={"enabled": False})
    scenario = scenario_from_dict(content)
    with recording(tmp_path / "r.h5", scenario) as observers:
        train(scenario, load_dataset(scenario.data), max_batches=1, observers=observers)
    assert neurosim.open_run(tmp_path / "r.h5").traces == []
    assert not any(isinstance(o, Tracer) for o in observers)


def test_killed_run_leaves_a_readable_partial_file_with_completed_epochs(tmp_path):
    content = traced_scenario(**{
        "data.train_size": 200, "training": {"epochs": 10_000, "dtype": "float32"},
        "trace.records": [{"banks": ["state"], "cadence": "step", "batches": [0], "samples": [0]},
                          {"banks": ["weights"], "cadence": "epoch"}]})  # 784-8-10 layered, rate 0.05
    scenario_file = write_scenario(tmp_path, content, "s.yaml")
    out = tmp_path / "run.h5"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "neurosim.cli", "run", str(scenario_file), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.startswith("epoch   3/"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert not out.exists() and partial_path(out).exists()
    run = neurosim.open_run(out)  # finds the .partial file
    assert not run.complete and run.attrs["status"] == "running"
    done = run.epochs_completed
    assert done >= 3
    assert len(run.epoch["test_error"]) == done and len(run.batch["train_error"]) == 20 * done
    weights = run.trace("weights", "epoch")
    assert list(weights.epoch[:done + 1]) == list(range(-1, done))
    steps = run.trace("state", "step")
    assert set(range(done)) <= set(steps.epoch.tolist())
    assert steps.values.shape[1:] == (1, 18) and np.isfinite(steps.values).all()


BAD_RULES = [
    ({"records": [{"banks": ["weights"], "cadence": "step"}]},
     "trace.records[0].banks[0]: bank 'weights' cannot be sampled at cadence 'step'"),
    ({"records": [{"banks": ["state", "voltage"]}]}, "trace.records[0].banks[1]: Input should be"),
    ({"records": [{"banks": ["state"], "batches": [0, "3-5"]}]},
     "trace.records[0].batches[1]: '3-5' is neither an index nor a range"),
    ({"records": [{"banks": ["state"], "epochs": [-2]}]}, "trace.records[0].epochs[0]: index -2 is negative"),
    ({"records": [{"banks": ["state"], "samples": ["0:5:0"]}]}, "trace.records[0].samples[0]: range step must be"),
    ({"records": [{"banks": ["bias"], "cadence": "epoch"}, {"banks": ["weights", "bias"], "cadence": "epoch"}]},
     "trace.records[1].banks[1]: bank 'bias' at cadence 'epoch' is already recorded by records[0]"),
    ({"records": [{"banks": ["weights"], "cadence": "epoch", "batches": [0]}]},
     "trace.records[0].batches: cadence 'epoch' samples once per epoch"),
    ({"records": [{"banks": ["u0"], "samples": [1, 10]}]},
     "trace.records[0].samples[1]: sample 10 is outside a batch of training.batch_size = 10"),
    ({"records": [{"banks": ["u0"], "cadence": "weekly"}]}, "trace.records[0].cadence: Input should be"),
    ({"every": "step"}, "trace.every: unknown key (allowed here: enabled, records)"),
]


@pytest.mark.parametrize("rules, message", BAD_RULES)
def test_bad_trace_rules_name_their_key(rules, message, tmp_path, monkeypatch, capsys):
    path = write_scenario(tmp_path, dict(SMALL, trace=rules), "s.yaml")
    for command in (["validate", path], ["run", path, "--out", tmp_path / "r.h5", "--quiet"]):
        code, _, err = run_cli(monkeypatch, capsys, *command)
        assert code == 1 and f"error: {path}: {message}" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_open_run_names_a_missing_file(tmp_path):
    with pytest.raises(neurosim.runfile.read.RunFileError, match="no such run file"):
        neurosim.open_run(tmp_path / "nothing.h5")
